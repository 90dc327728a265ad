/**
 * Running one step on a node or a small batch of nodes at once (upgrade-cluster's worker
 * batches): every node's command runs, and the step fails naming each node that failed.
 */
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';

/** `k8s-1` or `w1, w3`. */
export function nodesLabel(nodes: readonly string[]): string {
  return nodes.join(', ');
}

/**
 * Runs `fn` on every node of a batch at once and waits for all of them, so one node's failure
 * never leaves another mid-command. One node: its own error as is. Several: one failure naming
 * each node that failed.
 */
export async function onEach<T>(nodes: readonly string[], fn: (node: string) => Promise<T>): Promise<Record<string, T>> {
  const settled = await Promise.allSettled(nodes.map(fn));
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ node: nodes[i] ?? '?', error: s.reason as unknown }] : []));
  if (failed.length > 0) {
    if (nodes.length === 1) throw failed[0]?.error;
    throw new RunbookFailure(failed.map((f) => `${f.node}: ${errorText(f.error)}`).join('; '));
  }
  const out: Record<string, T> = {};
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') out[nodes[i] ?? '?'] = s.value;
  });
  return out;
}

/** One line per node for a batch's step result; the bare line for a single node. */
export function perNode<T>(nodes: readonly string[], results: Record<string, T>, line: (r: T) => string): string {
  if (nodes.length === 1) {
    const only = results[nodes[0] ?? ''];
    return only === undefined ? '' : line(only);
  }
  return nodes.map((n) => `${n}: ${results[n] === undefined ? '?' : line(results[n] as T)}`).join('; ');
}
