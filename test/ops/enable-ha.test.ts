/**
 * enable-ha's steps (src/ops/enable-ha.ts) on an old-style cluster (no ha-cluster): the preflight
 * and the main node, `enable ha-cluster`, one node's cycle through its own approval, the plan.
 */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { cycleNode, describeEnableHa, enableHaApproval, enableHaCluster, enablePlan, preflightEnable, reportHaStateStep, titles } from '../../src/ops/enable-ha.ts';
import { simMembership } from '../../src/sim/index.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('enable-ha on an old-style cluster', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }], haCluster: false });

  it('finds the main node and the nodes to cycle, control-plane nodes first', async () => {
    const pre = await rig.run((run) => preflightEnable(run));
    expect(pre).toEqual({
      main: 'k8s-1', mainIp: '10.0.0.11', haEnabled: false,
      versions: ['k8s-1 v1.22.3', 'k8s-2 v1.22.3', 'k8s-3 v1.22.3'],
      cycle: [{ node: 'k8s-2', worker: false }, { node: 'k8s-3', worker: false }],
      skip: [],
    });
    const approval = await rig.run(async (run) => enableHaApproval(run, pre));
    expect(approval).toMatchObject({ always: true, title: `Enable HA on ${rig.cluster.name}`, nodes: ['k8s-1', 'k8s-2', 'k8s-3'] });
    expect(approval.what).toBe('`microk8s enable ha-cluster` on k8s-1 (it restarts with the dqlite datastore). Then, one at a time, each with its own approval: k8s-2, k8s-3 — drain, leave, enable ha-cluster, join again, uncordon.');
  });

  it('enables ha-cluster on the main node and waits for it; a second time there is nothing to do', async () => {
    expect(await rig.run((run) => enableHaCluster(run, 'k8s-1'))).toBe('enabled');
    expect(rig.commands('k8s-1')).toEqual(['microk8s status --format yaml', 'microk8s enable ha-cluster', 'microk8s status --format yaml --wait-ready --timeout 20']);
    expect(await rig.run((run) => enableHaCluster(run, 'k8s-1'))).toBe('already');
    expect(rig.commands('k8s-1')).toEqual(['microk8s status --format yaml']);
  });

  it('cycles a node only after its own approval: drain, leave, enable, join through the main node, Ready, uncordon', async () => {
    const pre = await rig.run((run) => preflightEnable(run));
    expect(pre.haEnabled).toBe(true);
    const asked: string[] = [];
    await rig.run((run) => cycleNode(run, pre, { node: 'k8s-2', worker: false }, []), { decide: (g) => (asked.push(g.title), 'approved') });
    expect(asked).toEqual(['Cycle k8s-2 into the HA cluster']);
    const t = titles('k8s-2');
    expect(rig.doneSteps()).toEqual([t.drain, t.leave, t.enableOn, t.join, t.ready, t.uncordon]);
    expect(simMembership(rig.sim.state).isMember('k8s-2')).toBe(true);
    expect(rig.sim.state.node('k8s-2').cordoned).toBe(false);
    const after = await rig.run((run) => preflightEnable(run));
    expect(after.skip).toEqual(['k8s-2']);
    expect(after.cycle).toEqual([{ node: 'k8s-3', worker: false }]);
  });

  it('a rejected cycle changes nothing on the node', async () => {
    const pre = await rig.run((run) => preflightEnable(run));
    await expect(rig.run((run) => cycleNode(run, pre, { node: 'k8s-3', worker: false }, ['k8s-2']), { decide: () => 'rejected' })).rejects.toThrow(/rejected/i);
    expect(rig.commands('k8s-3')).toEqual([]);
    expect(rig.gates()[0]?.title).toBe('Cycle k8s-3 into the HA cluster');
  });

  it('reports the HA state, and describes it for a failed job', async () => {
    const pre = await rig.run((run) => preflightEnable(run));
    expect(await rig.run((run) => reportHaStateStep(run, pre))).toMatch(/^high-availability no · voters k8s-1, k8s-2/);
    expect(await rig.run((run) => describeEnableHa(run))).toMatch(/^high-availability no · voters k8s-1, k8s-2.*; k8s-1 Ready, k8s-2 Ready, k8s-3 Ready$/);
  });
});

describe('enable-ha refusals', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'w3', role: 'worker' }], haCluster: false });

  it('refuses workers on a cluster older than 1.23, before any change', async () => {
    const err = await rejectionOf(rig.run((run) => preflightEnable(run)), RunbookFailure);
    expect(err.message).toBe('w3 is a worker in the inventory, but worker nodes need MicroK8s 1.23 or newer. Make them control-plane nodes in the inventory or upgrade first. Nothing was changed.');
    expect(rig.commands().some((c) => c.includes('enable'))).toBe(false);
  });

  it('plans each cycle behind its own approval, workers joined with --worker', () => {
    const plan = enablePlan('k8s-1', [{ node: 'k8s-2', worker: false }, { node: 'w3', worker: true }]);
    expect(plan.map((s) => s.title)).toEqual([
      titles().preflight, titles().enable,
      'approve: cycle k8s-2 into the HA cluster', 'drain k8s-2', 'leave the old cluster on k8s-2', 'enable ha-cluster on k8s-2', 'join k8s-2 to the HA cluster', 'wait for k8s-2 to be Ready', 'uncordon k8s-2',
      'approve: cycle w3 into the HA cluster', 'drain w3', 'leave the old cluster on w3', 'enable ha-cluster on w3', 'join w3 to the HA cluster', 'wait for w3 to be Ready', 'uncordon w3',
      titles().report,
    ]);
    expect(plan.find((s) => s.title === 'join w3 to the HA cluster')?.commands[1]).toBe('microk8s join <main-ip>:25000/<token>/<fingerprint> --worker');
    expect(plan.find((s) => s.title === 'drain w3')?.node).toBe('k8s-1');
  });
});
