/**
 * The order of a rolling cluster upgrade (seed "升级 MicroK8s 集群", general notes):
 * control-plane nodes first, one at a time; then workers one at a time or in small batches,
 * never two nodes of one failure domain in a batch and never two dqlite voters down at
 * once. Pure functions of the inventory, so `--dry-run` shows the same order the job runs.
 */

export interface RolloutNode {
  name: string;
  role: 'control-plane' | 'worker';
  /** The inventory's `failureDomain`; undefined: not declared (no constraint). */
  failureDomain?: number;
  /**
   * May hold a dqlite vote while it is down. Every control-plane node counts: dqlite promotes
   * stand-bys to voters on its own, so the bot never relies on a node being a stand-by.
   */
  voter: boolean;
}

/** A batch may not hold two voters or two nodes of one declared failure domain. */
export function conflicts(batch: readonly RolloutNode[], node: RolloutNode): string | undefined {
  if (node.voter && batch.some((b) => b.voter)) return `${node.name} and ${batch.find((b) => b.voter)?.name} are both datastore voters`;
  if (node.failureDomain !== undefined) {
    const same = batch.find((b) => b.failureDomain === node.failureDomain);
    if (same) return `${node.name} and ${same.name} share failure domain ${node.failureDomain}`;
  }
  return undefined;
}

/**
 * Batches in the order they go: each control-plane node alone (inventory order), then the
 * workers, greedily in inventory order: a batch takes the next worker that fits (at most
 * `size`, no conflict), so a worker that cannot join one batch goes in a later one.
 */
export function rolloutBatches(nodes: readonly RolloutNode[], size: number): RolloutNode[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a whole number ≥ 1, got ${size}`);
  const batches: RolloutNode[][] = nodes.filter((n) => n.role === 'control-plane').map((n) => [n]);
  let rest = nodes.filter((n) => n.role !== 'control-plane');
  while (rest.length > 0) {
    const batch: RolloutNode[] = [];
    for (const n of rest) {
      if (batch.length >= size) break;
      if (!conflicts(batch, n)) batch.push(n);
    }
    batches.push(batch);
    rest = rest.filter((n) => !batch.includes(n));
  }
  return batches;
}

/** `1. k8s-1 (control plane) · 2. k8s-2 (control plane) · 3. w1 + w3 (workers)` */
export function describeOrder(batches: readonly (readonly RolloutNode[])[]): string {
  return batches
    .map((b, i) => `${i + 1}. ${b.map((n) => n.name).join(' + ')} (${b[0]?.role === 'control-plane' ? 'control plane' : b.length > 1 ? 'workers' : 'worker'})`)
    .join(' · ');
}
