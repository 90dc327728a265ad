/** src/ops/batch.ts: a step on a batch of nodes runs on all of them and names each node that failed. */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { nodesLabel, onEach, perNode } from '../../src/ops/batch.ts';
import { SshError } from '../../src/ssh/errors.ts';

describe('onEach and perNode', () => {
  it('runs on every node and keys the results by node', async () => {
    const r = await onEach(['w1', 'w3'], async (n) => `${n} drained`);
    expect(r).toEqual({ w1: 'w1 drained', w3: 'w3 drained' });
    expect(perNode(['w1', 'w3'], r, (x) => x.toUpperCase())).toBe('w1: W1 DRAINED; w3: W3 DRAINED');
    expect(perNode(['w1'], { w1: 2 }, (x) => `${x} pod(s)`)).toBe('2 pod(s)');
    expect(nodesLabel(['w1', 'w3'])).toBe('w1, w3');
  });

  it('waits for every node before it fails, and names each one that failed', async () => {
    const finished: string[] = [];
    const err = await onEach(['w1', 'w2', 'w3'], async (n) => {
      await new Promise((r) => setTimeout(r, n === 'w2' ? 30 : 1));
      finished.push(n);
      if (n !== 'w2') throw new SshError(`${n} is unreachable`, n); // a node's failure, written for people
      return n;
    }).catch((e: unknown) => e);
    expect(finished.toSorted()).toEqual(['w1', 'w2', 'w3']);
    expect(err).toBeInstanceOf(RunbookFailure);
    expect((err as Error).message).toBe('w1: w1 is unreachable; w3: w3 is unreachable');
  });

  it('one node: its own error as it is', async () => {
    const boom = new TypeError('kubectl said no');
    await expect(onEach(['k8s-1'], async () => Promise.reject(boom))).rejects.toBe(boom);
  });
});
