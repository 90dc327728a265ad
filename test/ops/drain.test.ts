/** The one drain (src/ops/drain.ts): the command, the pods it evicts, a batch and its failures. */
import { afterEach, describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { drain, drainCommand, drainPlanStep, drainStep } from '../../src/ops/drain.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('drain', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }, { name: 'w1', role: 'worker' }, { name: 'w2', role: 'worker' }] });
  /** The pods drain must move off a node: not DaemonSet-managed, not static. */
  const movable = (node: string) => rig.sim.state.podsOn(node).filter((p) => p.owner?.kind !== 'DaemonSet' && !p.mirror).map((p) => `${p.namespace}/${p.name}`).toSorted();

  afterEach(() => {
    for (const n of ['w1', 'w2']) rig.sim.state.node(n).cordoned = false;
  });

  it('shows the seed\'s command, run from the controller', () => {
    expect(drainCommand('w1')).toBe('microk8s kubectl drain w1 --ignore-daemonsets --delete-emptydir-data --timeout=<drainTimeout>');
    expect(drainPlanStep('w1', 'k8s-2')).toEqual({ title: 'drain w1', node: 'k8s-2', commands: [drainCommand('w1')] });
    expect(drainPlanStep('w1', 'k8s-2', 'drain w1 for the rollback').title).toBe('drain w1 for the rollback');
  });

  it('drains the node from the controller within the drainTimeout, and returns the pods it evicted', async () => {
    const before = movable('w1');
    expect(before.length).toBeGreaterThan(0);
    const evicted = await rig.run((run) => drain(run, 'k8s-2', 'w1'));
    expect(evicted.toSorted()).toEqual(before);
    expect(rig.commands('k8s-2')).toEqual(['microk8s kubectl drain w1 --ignore-daemonsets --delete-emptydir-data --timeout=20s']);
    expect(rig.commands('w1')).toEqual([]);
    expect(rig.sim.state.node('w1').cordoned).toBe(true);
    expect(movable('w1')).toEqual([]);
  });

  it('drains a batch as one step, each node from its own controller, and says what each lost', async () => {
    const counts = { w1: movable('w1').length, w2: movable('w2').length };
    expect(counts.w2).toBeGreaterThan(0);
    const r = await rig.run((run) => drainStep(run, ['w1', 'w2'], (n) => (n === 'w1' ? 'k8s-1' : 'k8s-3')));
    expect(Object.keys(r)).toEqual(['w1', 'w2']);
    expect(r.w1).toHaveLength(counts.w1);
    expect(r.w2).toHaveLength(counts.w2);
    expect(rig.commands('k8s-1')).toEqual([expect.stringMatching(/^microk8s kubectl drain w1 /)]);
    expect(rig.commands('k8s-3')).toEqual([expect.stringMatching(/^microk8s kubectl drain w2 /)]);
    expect(rig.doneSteps()).toEqual(['drain w1, w2']);
    expect(await rig.line('✅ drain w1, w2')).toMatch(`✅ drain w1, w2 — w1: ${counts.w1} pod(s) evicted; w2: ${counts.w2} pod(s) evicted · `);
  });

  it('runs every node of a batch and fails naming each node whose drain failed', async () => {
    rig.sim.inject({ node: 'k8s-1', match: 'drain w2', kind: 'fail', exitCode: 1, stderr: 'error: unable to drain node "w2"' });
    const err = await rejectionOf(rig.run((run) => drainStep(run, ['w1', 'w2'], () => 'k8s-1')), RunbookFailure);
    expect(err.message).toMatch(/^w2: /);
    expect(err.message).not.toContain('w1:');
    expect(rig.sim.state.node('w1').cordoned).toBe(true); // w1's drain ran to its end
    expect(rig.doneSteps()).toEqual([]);
  });

  it('a single node fails with its own error, not a batch summary', async () => {
    rig.sim.inject({ node: 'k8s-1', match: 'drain w2', kind: 'fail', exitCode: 1, stderr: 'error: unable to drain node "w2"' });
    const err = await rejectionOf(rig.run((run) => drainStep(run, ['w2'], () => 'k8s-1')), Error);
    expect(err).not.toBeInstanceOf(RunbookFailure);
    expect(err.message).not.toMatch(/^w2: /);
    expect(err.message).toContain('unable to drain node');
  });
});
