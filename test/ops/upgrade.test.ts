/**
 * A node's upgrade checks (src/ops/upgrade.ts): the preflight and what it refuses, the wait for
 * the new version, the re-check after the approval, the rollback guard, and the plan.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import type { JobData } from '../../src/engine/job-data.ts';
import { keys } from '../../src/queue/keys.ts';
import { CheckFailedError } from '../../src/errors/user-facing.ts';
import type { KubePod } from '../../src/microk8s/types.ts';
import {
  describeNodes,
  nodeUpgradeCommands,
  offerRollbackAfterRefresh,
  preflightUpgrade,
  unchangedSinceUpgradePreflight,
  upgradeApproval,
  upgradePlan,
  waitForVersion,
  workloadPods,
} from '../../src/ops/upgrade.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const NODES = [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }, { name: 'w1', role: 'worker' as const }];

describe('preflightUpgrade', () => {
  const rig = useOpsRig({ nodes: NODES });
  afterEach(() => {
    for (const n of rig.sim.state.nodeList()) {
      n.ready = true;
      n.cordoned = false;
    }
  });

  it('reads the node, picks another control-plane node for kubectl, counts the voters and checks the clocks', async () => {
    const pre = await rig.run((run) => preflightUpgrade(run, 'k8s-1', '1.23/stable'));
    expect(pre).toEqual({
      node: 'k8s-1', role: 'control-plane', fromVersion: 'v1.22.3', fromRevision: '2551', fromChannel: '1.22/stable',
      wasCordoned: false, controller: 'k8s-2', backupNode: 'k8s-1', voters: 3, warnings: [],
    });
    // The node's snap first; then the clocks and the controller's reads at once (the status after
    // the `get nodes` that picked the controller).
    expect(rig.commands('k8s-1')).toEqual(['snap list microk8s', 'date +%s']);
    const onController = rig.commands('k8s-2');
    expect(onController.toSorted()).toEqual(['date +%s', 'microk8s kubectl get nodes -o json', 'microk8s status --format yaml']);
    expect(onController.indexOf('microk8s kubectl get nodes -o json')).toBeLessThan(onController.indexOf('microk8s status --format yaml'));
  });

  it('backs a worker up on the controller, and reads a cordon it had before', async () => {
    rig.sim.state.node('w1').cordoned = true;
    const pre = await rig.run((run) => preflightUpgrade(run, 'w1', '1.22/stable'));
    expect(pre).toMatchObject({ role: 'worker', controller: 'k8s-1', backupNode: 'k8s-1', wasCordoned: true });
  });

  it('refuses to skip a minor before asking any other node', async () => {
    const err = await rejectionOf(rig.run((run) => preflightUpgrade(run, 'k8s-1', '1.24/stable')), RunbookFailure);
    expect(err.message).toBe('One minor version at a time: the node runs v1.22.3 on 1.22/stable (Kubernetes 1.22), so the next channel is 1.23/stable, not 1.24/stable. Upgrade through each minor in turn.');
    expect(rig.commands()).toEqual(['snap list microk8s']);
  });

  it('refuses a NotReady node, and a control-plane node while another one is NotReady (not a worker)', async () => {
    rig.sim.state.node('w1').ready = false;
    expect((await rejectionOf(rig.run((run) => preflightUpgrade(run, 'w1', '1.23/stable')), RunbookFailure)).message).toBe('w1 is NotReady; fix it before upgrading it.');
    rig.sim.state.node('w1').ready = true;
    rig.sim.state.node('k8s-3').ready = false;
    expect((await rejectionOf(rig.run((run) => preflightUpgrade(run, 'k8s-1', '1.23/stable')), RunbookFailure)).message).toBe(
      'Control-plane node(s) k8s-3 are NotReady: taking k8s-1 down too could lose the dqlite quorum. Bring them back first.',
    );
    expect((await rig.run((run) => preflightUpgrade(run, 'w1', '1.23/stable'))).node).toBe('w1');
  });

  it('the re-check after the approval fails on what changed since the preflight', async () => {
    const pre = await rig.run((run) => preflightUpgrade(run, 'w1', '1.23/stable'));
    expect(await rig.run((run) => unchangedSinceUpgradePreflight(run, pre, '1.23/stable'))).toBe(true);
    rig.sim.state.node('w1').cordoned = true;
    const err = await rejectionOf(rig.run((run) => unchangedSinceUpgradePreflight(run, pre, '1.23/stable')), RunbookFailure);
    expect(err.message).toBe('The cluster changed since the plan was approved: w1 was cordoned meanwhile. Nothing was done; request the upgrade again.');
  });

  it('the preflight asks the controller only after the node\'s snap; the re-check sends every read at once', async () => {
    const snapThenGetNodes = () => {
      const log = rig.sim.commandLog;
      const snap = log.findLast((c) => c.node === 'w1' && c.argv.join(' ') === 'snap list microk8s');
      const nodes = log.findLast((c) => c.node === 'k8s-1' && c.argv.join(' ') === 'microk8s kubectl get nodes -o json');
      if (!snap || !nodes) throw new Error('the snap or the get nodes was not run');
      return { snapEnd: snap.startedAt + snap.durationMs, nodesStart: nodes.startedAt };
    };
    rig.sim.inject({ node: 'w1', match: 'snap list microk8s', kind: 'delay', ms: 150, times: 2 });
    const pre = await rig.run((run) => preflightUpgrade(run, 'w1', '1.23/stable'));
    const first = snapThenGetNodes();
    expect(first.nodesStart).toBeGreaterThanOrEqual(first.snapEnd);
    expect(await rig.run((run) => unchangedSinceUpgradePreflight(run, pre, '1.23/stable'))).toBe(true);
    const again = snapThenGetNodes();
    expect(again.nodesStart).toBeLessThan(again.snapEnd - 100);
  });

  it('describes each node for the end of a thread', async () => {
    rig.sim.state.node('w1').cordoned = true;
    expect(await rig.run((run) => describeNodes(run, ['k8s-1', 'w1']))).toBe('k8s-1: v1.22.3 (rev 2551, 1.22/stable), Ready; w1: v1.22.3 (rev 2551, 1.22/stable), Ready, cordoned');
  });
});

describe('preflightUpgrade without HA', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }] });
  it('warns that the API goes away while a control-plane node restarts with fewer than 3 voters', async () => {
    const pre = await rig.run((run) => preflightUpgrade(run, 'k8s-1', '1.23/stable'));
    expect(pre.voters).toBe(2);
    expect(pre.warnings).toEqual(['The datastore has 2 voter(s) (no HA): the cluster API is unavailable while k8s-1 restarts.']);
    expect(upgradeApproval(pre, '1.23/stable')).toEqual({
      title: 'Upgrade k8s-1 from 1.22/stable to 1.23/stable',
      what: `Drain k8s-1, refresh MicroK8s to 1.23/stable, wait until it is Ready, then uncordon it.\n⚠️ ${pre.warnings[0]}`,
      nodes: ['k8s-1'],
    });
  });
});

describe('waitForVersion and the rollback guard', () => {
  const rig = useOpsRig({ nodes: NODES });

  it('waits for MicroK8s on the node, then for kubectl to see it Ready on the new minor', async () => {
    const r = await rig.run(async (run) => {
      await run.node('w1').refresh('1.23/stable');
      return waitForVersion(run, 'w1', '1.23/stable', 'k8s-1');
    });
    expect(r.kubeletVersion).toMatch(/^v1\.23\./);
    expect(rig.commands('w1')).toContain('microk8s status --format yaml --wait-ready --timeout 20');
    expect(rig.commands('k8s-1')).toContain('microk8s kubectl wait --for=condition=Ready node/w1 --timeout=20s');
  });

  it('records the rollback at the refresh and turns a failure there into one offering "Roll back"', async () => {
    const pre = { node: 'w1', role: 'worker' as const, fromVersion: 'v1.22.3', fromRevision: '2551', fromChannel: '1.22/stable', wasCordoned: false, controller: 'k8s-1', backupNode: 'k8s-1', voters: 3, warnings: [] };
    const err = await rejectionOf(
      rig.run((run) => offerRollbackAfterRefresh(run, pre)('refresh', () => Promise.reject(new CheckFailedError('snapd said no')))),
      RunbookFailure,
    );
    expect(err.message).toBe('The upgrade of w1 failed after the refresh started: snapd said no. w1 is cordoned. You can roll it back to v1.22.3 (rev 2551).');
    expect(err.offers.map((o) => [o.label, o.value])).toEqual([['Roll back', rig.jobId]]);
    expect(rig.data().rollback).toEqual({ node: 'w1', revision: '2551', version: 'v1.22.3', channel: '1.22/stable', wasCordoned: false });
  });

  it('has the rollback stored in the job before the refresh sends its first command', async () => {
    const pre = { node: 'w1', role: 'worker' as const, fromVersion: 'v1.22.3', fromRevision: '2551', fromChannel: '1.22/stable', wasCordoned: false, controller: 'k8s-1', backupNode: 'k8s-1', voters: 3, warnings: [] };
    const stored = await rig.run(async (run) => {
      await run.node('w1').snap(); // whatever the activation left to write is written now
      return offerRollbackAfterRefresh(run, pre)('refresh', async () => {
        await run.node('w1').snap(); // a command, not a step: no step boundary writes the data for it
        const raw = await rig.redis.hget(keys.bullJob(run.jobId), 'data');
        return (JSON.parse(raw ?? '{}') as JobData).rollback ?? null;
      });
    });
    expect(stored).toEqual({ node: 'w1', revision: '2551', version: 'v1.22.3', channel: '1.22/stable', wasCordoned: false });
  });

  it('leaves the steps before the refresh alone: their failure is theirs, no rollback recorded', async () => {
    const pre = { node: 'w1', role: 'worker' as const, fromVersion: 'v1.22.3', fromRevision: '2551', fromChannel: '1.22/stable', wasCordoned: false, controller: 'k8s-1', backupNode: 'k8s-1', voters: 3, warnings: [] };
    const err = await rejectionOf(rig.run((run) => offerRollbackAfterRefresh(run, pre)('drain', () => Promise.reject(new CheckFailedError('drain failed')))), CheckFailedError);
    expect(err).not.toBeInstanceOf(RunbookFailure);
    expect(err.message).toBe('drain failed');
    expect(rig.data().rollback).toBeUndefined();
  });
});

describe('the plan of an upgrade', () => {
  it('runs the drain, the check and the uncordon on the controller, the refresh and the wait on the node', () => {
    const where = nodeUpgradeCommands('w1', '1.23/stable').map((c) => `${c.step}@${c.on}`);
    expect(where).toEqual(['drain@controller', 'check@controller', 'refresh@node', 'wait@node', 'wait@controller', 'uncordon@controller']);
    const plan = upgradePlan('w1', '1.23/stable', 'k8s-2', 'k8s-2', 4);
    expect(plan.map((s) => [s.title, s.node])).toEqual([
      ['preflight: w1 can go to 1.23/stable', 'w1'],
      [expect.stringContaining('back up'), 'k8s-2'],
      ['drain w1', 'k8s-2'],
      ['check no workload pods are left on w1', 'k8s-2'],
      ['refresh w1 to 1.23/stable', 'w1'],
      ['wait for w1 to be Ready on 1.23/stable', 'w1'],
      ['uncordon w1', 'k8s-2'],
      ["record w1's state", 'w1'],
      [expect.any(String), undefined],
    ]);
    expect(plan[4]?.commands).toEqual(['sudo snap refresh microk8s --channel 1.23/stable']);
  });

  it('counts only the pods a drain moves as workload', () => {
    const pod = (name: string, extra: Partial<KubePod>): KubePod => ({ namespace: 'default', name, node: 'w1', phase: 'Running', daemonSet: false, mirror: false, ...extra });
    const pods = [pod('web', {}), pod('calico-node-x', { daemonSet: true }), pod('kube-apiserver', { mirror: true }), pod('job-done', { phase: 'Succeeded' }), pod('crashed', { phase: 'Failed' }), pod('pending', { phase: 'Pending' })];
    expect(workloadPods(pods).map((p) => p.name)).toEqual(['web', 'pending']);
  });
});
