/**
 * The way back (src/ops/rollback.ts): revertNode, and the steps of `rollback <node>` — what it
 * reads and refuses, the hold it keeps, the record it leaves — over SSH to simulated nodes.
 */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { readNodeRecord } from '../../src/store/node-records.ts';
import { readRollbackStep, reapplyHoldStep, recordRolledBackStep, revertNode, rollbackPlan, rollbackTitles } from '../../src/ops/rollback.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const OLD = { revision: '2551', version: 'v1.22.3' };

describe('revertNode', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }] });

  it('reverts a refreshed node to the revision it ran before, and says so', async () => {
    await rig.run((run) => run.node('k8s-1').refresh('1.23/stable'));
    const r = await rig.run((run) => revertNode(run, 'k8s-1', OLD, 'as recorded before the upgrade'));
    expect(r).toEqual({ skipped: false, version: 'v1.22.3', revision: '2551' });
    expect(rig.commands('k8s-1')).toEqual(['snap list microk8s', 'snap revert microk8s', 'snap list microk8s']);
    expect(rig.sim.state.node('k8s-1').revision).toBe(2551);
  });

  it('skips a node that already runs the revision: no snap revert', async () => {
    const r = await rig.run((run) => revertNode(run, 'k8s-1', OLD, 'as recorded'));
    expect(r).toEqual({ skipped: true, version: 'v1.22.3', revision: '2551' });
    expect(rig.commands()).toEqual(['snap list microk8s']);
  });

  it('refuses a node that changed since it was read (`from`), reverting nothing', async () => {
    await rig.run((run) => run.node('k8s-2').refresh('1.23/stable'));
    const err = await rejectionOf(rig.run((run) => revertNode(run, 'k8s-2', OLD, 'as recorded', '9999')), RunbookFailure);
    expect(err.message).toBe('k8s-2 changed since it was read: it now runs revision 2948 (v1.23.3), not 9999. Nothing was reverted; k8s-2 is cordoned.');
    expect(rig.commands().some((c) => c.includes('revert'))).toBe(false);
    expect(rig.sim.state.node('k8s-2').revision).toBe(2948);
  });

  it('fails when snap revert lands on another revision than the one asked for', async () => {
    const err = await rejectionOf(rig.run((run) => revertNode(run, 'k8s-2', { revision: '1234', version: 'v1.21.0' }, 'as the button said', '2948')), RunbookFailure);
    expect(err.message).toBe('k8s-2 runs revision 2551 (v1.22.3) after `snap revert`, not revision 1234 (v1.21.0) as the button said. It is left cordoned; check it by hand.');
    expect(rig.commands('k8s-2')).toContain('snap revert microk8s');
  });
});

describe('rollback <node> steps', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }] });

  it('refuses a node the bot never refreshed: no record, no button', async () => {
    const err = await rejectionOf(rig.run((run) => readRollbackStep(run, { node: 'k8s-3' })), RunbookFailure);
    expect(err.message).toMatch(/^There is no recorded revision to return k8s-3 to: .* k8s-3 runs rev 2551 \(v1\.22\.3, 1\.22\/stable\), not held\. Nothing was done\.$/);
  });

  it('reads the target from the button, checks snap still keeps it, and keeps an existing hold', async () => {
    await rig.run(async (run) => {
      await run.node('k8s-1').refresh('1.23/stable');
      await run.node('k8s-1').hold('forever');
    });
    const reading = await rig.run((run) => readRollbackStep(run, { node: 'k8s-1', fromJob: '7', expectRevision: '2551', expectVersion: 'v1.22.3' }));
    expect(reading).toMatchObject({
      revision: '2948',
      channel: '1.23/stable',
      target: { revision: '2551', version: 'v1.22.3', source: 'recorded by job 7 before its refresh' },
      alreadyBack: false,
      wasCordoned: false,
      hold: 'forever',
    });
    expect(['k8s-2', 'k8s-3']).toContain(reading.controller);
    expect(rig.doneSteps()).toEqual([rollbackTitles('k8s-1').read]);
    expect(rig.commands('k8s-1')).toContain('snap list --all microk8s');
  });

  it('refuses a revision snap no longer keeps', async () => {
    const err = await rejectionOf(rig.run((run) => readRollbackStep(run, { node: 'k8s-1', expectRevision: '2000', expectVersion: 'v1.20.0' })), RunbookFailure);
    expect(err.message).toMatch(/^Revision 2000 \(v1\.20\.0\) is no longer on k8s-1 \(snap keeps 2551, 2948\): `snap revert` cannot return to it\./);
  });

  it('puts a hold back when the revert dropped it, and leaves one that is still there', async () => {
    await rig.run((run) => run.node('k8s-1').unhold());
    expect(await rig.run((run) => reapplyHoldStep(run, 'k8s-1', 'forever'))).toBe('the hold was gone: held again forever');
    expect(rig.commands('k8s-1')).toContain('snap refresh --hold microk8s');
    expect(rig.sim.state.node('k8s-1').hold).toBe('forever');
    expect(await rig.run((run) => reapplyHoldStep(run, 'k8s-1', 'forever'))).toBe('still held forever');
    expect(rig.commands('k8s-1').some((c) => c.startsWith('snap refresh'))).toBe(false);
    expect(await rig.run((run) => reapplyHoldStep(run, 'k8s-2', '2020-01-01T00:00:00Z'))).toBe('not re-applied: the hold ran until 2020-01-01T00:00:00Z, which has passed');
  });

  it('records the node with nothing to return to, and warns when no hold stops the next auto-refresh', async () => {
    const text = await rig.run((run) => recordRolledBackStep(run, 'k8s-2'));
    expect(text).toBe("rev 2551 (v1.22.3, 1.22/stable), not held · ⚠️ it still tracks 1.22/stable (snap revert keeps the channel), so snapd's next auto-refresh can bring the newer revision back: `hold k8s-2` to stop that");
    const record = await readNodeRecord(rig.redis, rig.cluster.name, 'k8s-2');
    expect(record).toMatchObject({ revision: '2551', channel: '1.22/stable', held: false, byJob: rig.jobId, verb: 'probe' });
    expect(record?.previous).toBeUndefined();
    expect(await rig.run((run) => recordRolledBackStep(run, 'k8s-1'))).toBe('rev 2948 (v1.23.3, 1.23/stable), held forever');
  });

  it('plans the revert as destructive, from the node, with the drain on another control-plane node', () => {
    const plan = rollbackPlan('k8s-1', [{ name: 'k8s-1', role: 'control-plane' }, { name: 'k8s-2', role: 'control-plane' }]);
    expect(plan.find((s) => s.title === 'revert k8s-1')).toEqual({ title: 'revert k8s-1', node: 'k8s-1', commands: ['sudo snap revert microk8s'], destructive: true });
    expect(plan.find((s) => s.title === 'drain k8s-1')?.node).toBe('k8s-2');
  });
});
