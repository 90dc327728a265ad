import { describe, expect, it } from 'vitest';
import { conflicts, describeOrder, rolloutBatches, type RolloutNode } from '../../src/ops/rollout-order.ts';

const cp = (name: string, failureDomain?: number): RolloutNode => ({ name, role: 'control-plane', voter: true, ...(failureDomain !== undefined ? { failureDomain } : {}) });
const w = (name: string, failureDomain?: number): RolloutNode => ({ name, role: 'worker', voter: false, ...(failureDomain !== undefined ? { failureDomain } : {}) });
const names = (batches: RolloutNode[][]) => batches.map((b) => b.map((n) => n.name));

describe('rollout order', () => {
  it('puts every control-plane node first, alone, whatever the batch size', () => {
    const nodes = [w('w1'), cp('k8s-1'), w('w2'), cp('k8s-2'), cp('k8s-3')];
    expect(names(rolloutBatches(nodes, 5))).toEqual([['k8s-1'], ['k8s-2'], ['k8s-3'], ['w1', 'w2']]);
    expect(names(rolloutBatches(nodes, 1))).toEqual([['k8s-1'], ['k8s-2'], ['k8s-3'], ['w1'], ['w2']]);
  });

  it('never puts two nodes of one failure domain in a batch; a worker that does not fit goes later', () => {
    const nodes = [cp('k8s-1', 1), w('w1', 2), w('w2', 2), w('w3', 3), w('w4', 2), w('w5', 4)];
    const batches = rolloutBatches(nodes, 2);
    expect(names(batches)).toEqual([['k8s-1'], ['w1', 'w3'], ['w2', 'w5'], ['w4']]);
    for (const b of batches) expect(new Set(b.map((n) => n.failureDomain)).size).toBe(b.length);
    // every node exactly once
    expect(batches.flat().map((n) => n.name).toSorted()).toEqual(nodes.map((n) => n.name).toSorted());
  });

  it('treats an undeclared failure domain as no constraint, and never batches two voters', () => {
    expect(names(rolloutBatches([w('a'), w('b'), w('c')], 3))).toEqual([['a', 'b', 'c']]);
    const voterWorker: RolloutNode = { name: 'odd', role: 'worker', voter: true };
    const voterWorker2: RolloutNode = { name: 'odd2', role: 'worker', voter: true };
    expect(names(rolloutBatches([voterWorker, voterWorker2, w('x')], 3))).toEqual([['odd', 'x'], ['odd2']]);
    expect(conflicts([voterWorker], voterWorker2)).toContain('both datastore voters');
    expect(conflicts([w('p', 7)], w('q', 7))).toBe('q and p share failure domain 7');
    expect(conflicts([w('p', 7)], w('q', 8))).toBeUndefined();
  });

  it('refuses a batch size that is not a whole number from 1', () => {
    expect(() => rolloutBatches([w('a')], 0)).toThrow(/batch size/);
    expect(() => rolloutBatches([w('a')], 1.5)).toThrow(/batch size/);
  });

  it('describes the order for the plan message', () => {
    expect(describeOrder(rolloutBatches([cp('k8s-1'), w('w1', 1), w('w2', 2), w('w3', 1)], 2))).toBe('1. k8s-1 (control plane) · 2. w1 + w2 (workers) · 3. w3 (worker)');
  });
});
