/**
 * remove-node's steps (src/ops/remove-node.ts): the inventory check, the preflight and its quorum
 * guard, the approval's words, the way out for an unreachable node, and the steps after the leave.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../../src/config/inventory.ts';
import { RunbookFailure } from '../../src/engine/errors.ts';
import {
  describeRemoveNode,
  forceIfUnreachable,
  gateTitle,
  gateWhat,
  goneStep,
  leaveStep,
  notReadyStep,
  preflightRemove,
  removeNodeApproval,
  removePlan,
  removeStep,
  titles,
  validateRemoveNode,
} from '../../src/ops/remove-node.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('remove-node: inventory check and plan', () => {
  it('never removes the last control-plane node', () => {
    const cluster = { name: 'prod', nodes: [{ name: 'k8s-1', role: 'control-plane' }, { name: 'w1', role: 'worker' }] } as ClusterConfig;
    expect(validateRemoveNode({ node: 'w1' }, cluster)).toBeUndefined();
    expect(validateRemoveNode({ node: 'k8s-1' }, cluster)).toBe('k8s-1 is the last control-plane node of prod: removing it would leave no API server and no datastore. Nothing was queued.');
    expect(validateRemoveNode({ node: 'nope' }, cluster)).toMatch(/^unknown node 'nope' in cluster prod/);
  });

  it('drains, leaves and waits for a reachable node; only cordons one that cannot be reached; --force is destructive', () => {
    const t = titles('w1');
    expect(removePlan('w1', 'k8s-1', false).map((s) => s.title)).toEqual([t.preflight, t.drain, t.leave, t.notReady, t.remove(false), t.verify]);
    const unreachable = removePlan('w1', 'k8s-1', true, false);
    expect(unreachable.map((s) => s.title)).toEqual([t.preflight, t.cordon, t.remove(true), t.verify]);
    expect(unreachable.find((s) => s.title === t.remove(true))).toMatchObject({ node: 'k8s-1', commands: ['microk8s remove-node w1 --force'], destructive: true });
  });
});

describe('preflightRemove and the steps after it', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }, { name: 'w4', role: 'worker' }, { name: 'w5', role: 'worker' }] });

  it('reads a worker: not a datastore member, no quorum change', async () => {
    const pre = await rig.run((run) => preflightRemove(run, 'w4', false));
    expect(pre).toEqual({
      node: 'w4', controller: 'k8s-1', kind: 'worker', role: null, reachable: true, unreachable: null, wasReady: true,
      votersBefore: 3, votersAfter: 3, haBefore: true, haAfter: true, warnings: [], quorumLossAcknowledged: false,
    });
    expect(gateTitle(pre, false)).toBe('Remove w4 from the cluster (worker)');
    expect(gateWhat(pre, false)).toBe('w4 is a worker: the datastore is not affected.\nDrain w4, run `microk8s leave` on it, wait until it is NotReady, then `microk8s remove-node w4` on k8s-1.');
  });

  it('puts the HA warning first in the approval of a voter whose removal ends HA, and always asks then', async () => {
    const pre = await rig.run((run) => preflightRemove(run, 'k8s-3', false));
    expect(pre).toMatchObject({ kind: 'control-plane', role: 'voter', votersBefore: 3, votersAfter: 2, haBefore: true, haAfter: false });
    expect(pre.warnings).toEqual(['⚠️ HA LOST: high-availability goes from yes to no (3 → 2 voters)']);
    const approval = await rig.run(async (run) => {
      const { recheck: _recheck, ...rest } = removeNodeApproval(run, pre, false);
      return rest;
    });
    expect(approval).toMatchObject({ always: true, destructive: false, title: '⚠️ HA LOST: high-availability goes from yes to no (3 → 2 voters) — Remove k8s-3 from the cluster' });
    expect(approval.what).toContain('k8s-3 is a control-plane node (datastore voter). Voters: 3 → 2; high-availability yes → no.');
  });

  it('finds a node it cannot reach, and asks before removing it with --force (Stop: nothing changes)', async () => {
    await rig.sim.setDown('w5', true);
    try {
      const pre = await rig.run((run) => preflightRemove(run, 'w5', false));
      expect(pre.reachable).toBe(false);
      expect(pre.unreachable).toEqual(expect.any(String));
      expect(gateWhat(pre, true)).toContain(`w5 is unreachable (${pre.unreachable}): it is removed with \`microk8s remove-node w5 --force\` from k8s-1, without leaving;`);
      const stop = await rejectionOf(rig.run((run) => forceIfUnreachable(run, pre, false), { decide: () => ({ choice: 'stop' }) }), RunbookFailure);
      expect(stop.message).toBe('Stopped: w5 cannot be reached, so it was not removed and nothing was changed. When it is back, request `remove-node w5` again; if it is gone for good, `remove-node w5 --force`.');
      expect(rig.gates()[0]).toMatchObject({ title: 'w5 cannot be reached: remove it with --force?', kind: 'choice' });
      expect(await rig.run((run) => forceIfUnreachable(run, pre, false), { decide: () => ({ choice: 'force' }) })).toBe(true);
      expect(await rig.run((run) => forceIfUnreachable(run, { ...pre, reachable: true }, false))).toBe(false);
      expect(rig.gates()).toEqual([]);
    } finally {
      await rig.sim.setDown('w5', false);
    }
  });

  it('removes a worker: leave on it, NotReady, remove-node on the controller, gone with the HA state', async () => {
    const out = await rig.run(async (run) => {
      const pre = await preflightRemove(run, 'w4', false);
      const left = await leaveStep(run, pre, false);
      return [left, await notReadyStep(run, pre), await removeStep(run, pre, false), await goneStep(run, pre)];
    });
    expect(out).toEqual([true, 'NotReady', 'removed (on k8s-1)', 'high-availability yes · voters k8s-1, k8s-2, k8s-3']);
    const t = titles('w4');
    expect(rig.doneSteps()).toEqual([t.leave, t.notReady, t.remove(false), t.verify]);
    expect(rig.commands('w4')).toContain('microk8s leave');
    expect(rig.commands('k8s-1')).toContain('microk8s remove-node w4');
    expect(await rig.run((run) => describeRemoveNode(run, 'w4'))).toBe('w4: not in the cluster; high-availability yes · voters k8s-1, k8s-2, k8s-3');
    expect((await rejectionOf(rig.run((run) => preflightRemove(run, 'w4', false)), RunbookFailure)).message).toBe('w4 is not in the cluster (kubectl on k8s-1 does not list it). Nothing was changed.');
  });
});

describe('preflightRemove: the quorum guard', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }] });

  it('refuses to leave a single voter unless told it is understood, and then warns', async () => {
    const err = await rejectionOf(rig.run((run) => preflightRemove(run, 'k8s-2', false)), RunbookFailure);
    expect(err.message).toBe(
      'Refused: removing k8s-2 leaves 1 datastore voter(s) — fewer than two, so losing one more node loses the cluster. If that is really wanted, request it again with --i-understand-quorum-loss (it still needs an approval). Nothing was changed.',
    );
    const pre = await rig.run((run) => preflightRemove(run, 'k8s-2', true));
    expect(pre.warnings).toEqual(['⚠️ ONE VOTER LEFT: removing k8s-2 leaves 1 datastore voter(s); losing that node loses the cluster']);
    expect(gateWhat(pre, false).split('\n').at(-1)).toBe('Requested with --i-understand-quorum-loss.');
  });
});
