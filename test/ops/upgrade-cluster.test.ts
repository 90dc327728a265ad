/**
 * upgrade-cluster's steps (src/ops/upgrade-cluster.ts): the precheck, reading and re-checking the
 * versions, the rollout plan and its words, where a failed rollout stands, and the choice it
 * offers then (retry, roll back after a refresh, stop).
 */
import { describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../../src/config/inventory.ts';
import type { RunContext } from '../../src/engine/context.ts';
import { RunbookFailure } from '../../src/engine/errors.ts';
import type { PrecheckContext } from '../../src/engine/runbook.ts';
import { CheckFailedError } from '../../src/errors/user-facing.ts';
import {
  PauseAfterArg,
  attempt,
  clusterState,
  elsewhere,
  pausesAfter,
  planRollout,
  precheckRollout,
  readVersionsStep,
  recheckVersions,
  where,
  type Progress,
} from '../../src/ops/upgrade-cluster.ts';
import type { UpgradePreflight } from '../../src/ops/upgrade.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const precheck = (run: RunContext): PrecheckContext => ({ cluster: run.cluster, snap: (n) => run.node(n).snap(), nodes: (n) => run.node(n).nodes() });
const pre = (node: string): UpgradePreflight => ({ node, role: 'worker', fromVersion: 'v1.22.3', fromRevision: '2551', fromChannel: '1.22/stable', wasCordoned: false, controller: 'k8s-1', backupNode: 'k8s-1', voters: 3, warnings: [] });

describe('upgrade-cluster: words and plan', () => {
  it('pauses after the first batch, after each, or never, and never after the last', () => {
    expect([0, 1, 2].map((i) => pausesAfter('first', i, 3))).toEqual([true, false, false]);
    expect([0, 1, 2].map((i) => pausesAfter('each', i, 3))).toEqual([true, true, false]);
    expect([0, 1].map((i) => pausesAfter('none', i, 2))).toEqual([false, false]);
    expect(PauseAfterArg.safeParse('sometimes').error?.issues[0]?.message).toBe("'sometimes' is not a pause; use first (approve after the first node), each (after every node or batch) or none");
  });

  it('says where the rollout stands for each phase, one node or a batch', () => {
    const one: Progress = { channel: '1.23/stable', done: ['k8s-1'], current: ['w1'], pending: ['w2'] };
    expect(where(one, 'refresh')).toBe('w1 is cordoned; its refresh did not complete (snapd undoes a failed refresh). Upgraded to 1.23/stable: k8s-1. Not started, still on the old version: w2.');
    const two: Progress = { channel: '1.23/stable', done: [], current: ['w1', 'w2'], pending: [] };
    expect(where(two, 'wait')).toBe('w1, w2 were refreshed but are not all Ready on 1.23/stable; they are cordoned.');
    expect(where(two, 'preflight')).toBe('w1, w2 have not been touched.');
    expect(elsewhere({ ...two, done: ['k8s-1'] })).toBe('Upgraded to 1.23/stable: k8s-1.');
  });

  it('plans the rollout from what was read: skips nodes on the channel, control plane first, pin before the backup', () => {
    const cluster = {
      name: 'prod', backups: { keep: 3 },
      nodes: [{ name: 'k8s-1', role: 'control-plane' }, { name: 'k8s-2', role: 'control-plane' }, { name: 'w1', role: 'worker' }, { name: 'w2', role: 'worker' }, { name: 'win', role: 'worker', os: 'windows' }],
    } as ClusterConfig;
    const seen = ['k8s-1', 'k8s-2', 'w1', 'w2'].map((node) => ({ node, version: 'v1.22.3', revision: '2551', tracking: node === 'k8s-2' ? '1.23/stable' : '1.22/stable', onTarget: node === 'k8s-2' }));
    const r = planRollout(cluster, seen, { channel: '1.23/stable', batch: 2, pauseAfter: 'first', pin: '2948' }, 'microbot-verify-9');
    expect(r.skipped).toEqual(['k8s-2']);
    expect(r.todo).toEqual(['k8s-1', 'w1', 'w2']);
    expect(r.batches.map((b) => b.map((n) => n.name))).toEqual([['k8s-1'], ['w1', 'w2']]);
    expect(r.orderText).toMatch(/; skipped, already on 1\.23\/stable: k8s-2; not upgraded \(Windows workers\): win; pause for an approval after the first node; pin 1\.23\/stable to revision 2948 on the Snap Store Proxy first$/);
    expect(r.plan.slice(0, 3).map((s) => s.title)).toEqual(["read every node's MicroK8s version", 'pin 1.23/stable to revision 2948 on the Snap Store Proxy', 'back up the datastore']);
    const batch = r.plan.find((s) => s.title.startsWith('upgrade w1, w2'));
    expect(batch?.title).toBe('upgrade w1, w2 (workers, 2 of 2): preflight, drain, check, refresh, wait Ready, uncordon');
    expect(batch?.commands).toContain('on w2: sudo snap refresh microk8s --channel 1.23/stable');
    expect(batch?.commands).toContain('on k8s-1: microk8s kubectl uncordon w2');
    expect(r.plan.map((s) => s.title)).toContain('pause: an approver decides whether to go on after k8s-1');
    expect(r.plan.at(-1)?.title).toBe('not upgraded (Windows workers are not snap nodes): win');
    const none = planRollout(cluster, seen.map((s) => ({ ...s, onTarget: true })), { channel: '1.23/stable', batch: 1, pauseAfter: 'each' }, 'v');
    expect(none.batches).toEqual([]);
    expect(none.orderText).toMatch(/^Nothing to upgrade: every node already runs 1\.23\/stable/);
  });
});

describe('upgrade-cluster over SSH', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'w1', role: 'worker' }, { name: 'w2', role: 'worker', channel: '1.21/stable' }] });

  it('prechecks every node not on the channel and names each that cannot go to it', async () => {
    expect(await rig.run((run) => precheckRollout('1.22/stable', precheck(run)))).toBeUndefined();
    const problem = await rig.run((run) => precheckRollout('1.23/stable', precheck(run)));
    expect(problem).toBe('w2: One minor version at a time: the node runs v1.21.7 on 1.21/stable (Kubernetes 1.21), so the next channel is 1.22/stable, not 1.23/stable. Upgrade through each minor in turn.');
  });

  it('reads every Linux node\'s version as one step, and re-checks that none moved', async () => {
    const seen = await rig.run((run) => readVersionsStep(run, '1.22/stable'));
    expect(seen.map((s) => [s.node, s.revision, s.onTarget])).toEqual([['k8s-1', '2551', true], ['k8s-2', '2551', true], ['w1', '2551', true], ['w2', '2694', false]]);
    expect(rig.doneSteps()).toEqual(["read every node's MicroK8s version"]);
    expect(await rig.run((run) => recheckVersions(run, seen))).toBe(true);
    await rig.run((run) => run.node('w2').refresh('1.22/stable'));
    const err = await rejectionOf(rig.run((run) => recheckVersions(run, seen)), RunbookFailure);
    expect(err.message).toBe('The cluster changed since the plan was approved: w2 is now on v1.22.3 (rev 2551, 1.22/stable). Nothing was done; request the upgrade again.');
  });

  it('describes every node and what is cordoned', async () => {
    rig.sim.state.node('w1').cordoned = true;
    try {
      expect(await rig.run((run) => clusterState(run))).toBe(
        'k8s-1: v1.22.3 (rev 2551, 1.22/stable), Ready; k8s-2: v1.22.3 (rev 2551, 1.22/stable), Ready; w1: v1.22.3 (rev 2551, 1.22/stable), Ready, cordoned; w2: v1.22.3 (rev 2551, 1.22/stable), Ready. Cordoned: w1.',
      );
    } finally {
      rig.sim.state.node('w1').cordoned = false;
    }
  });

  it('after a failed refresh offers retry, roll back (an approver\'s) or stop; Stop says where the rollout stands', async () => {
    const p: Progress = { channel: '1.23/stable', done: ['k8s-1'], current: ['w1'], pending: ['w2'] };
    const err = await rejectionOf(rig.run((run) => attempt(run, p, 'refresh', [pre('w1')], () => Promise.reject(new CheckFailedError('snapd refused'))), { decide: () => ({ choice: 'stop' }) }), RunbookFailure);
    expect(err.message).toBe('Stopped as asked: the refresh failed on w1: snapd refused. w1 is cordoned; its refresh did not complete (snapd undoes a failed refresh). Upgraded to 1.23/stable: k8s-1. Not started, still on the old version: w2.');
    const gate = rig.gates()[0]!;
    expect(gate.title).toBe('The refresh failed on w1: retry, roll back or stop?');
    expect(gate.options?.map((o) => [o.id, o.role ?? 'operator'])).toEqual([['retry', 'operator'], ['rollback', 'approver'], ['stop', 'operator']]);
  });

  it('offers no rollback before the refresh, retries when asked, and stops when nobody decides', async () => {
    const p: Progress = { channel: '1.23/stable', done: [], current: ['w1'], pending: [] };
    let tries = 0;
    const ok = await rig.run((run) => attempt(run, p, 'drain', [pre('w1')], async () => (++tries < 2 ? Promise.reject(new CheckFailedError('eviction blocked')) : 'drained')), { decide: () => ({ choice: 'retry' }) });
    expect(ok).toBe('drained');
    expect(rig.gates()[0]?.options?.map((o) => o.id)).toEqual(['retry', 'stop']);
    const expired = await rejectionOf(rig.run((run) => attempt(run, p, 'drain', [pre('w1')], () => Promise.reject(new CheckFailedError('eviction blocked')))), RunbookFailure);
    expect(expired.message).toBe('Nobody decided in time, so the rollout stopped: the drain failed on w1: eviction blocked. w1 is cordoned; nothing was refreshed.');
  });
});
