/**
 * The nodes a quorum recovery declared lost. They must never start again with their old data:
 * `status` marks them, and `add-node` refuses them until they are reinstalled (their datastore
 * no longer names the old cluster; the guard is `refuseLostNode`, src/ops/lost-nodes.ts). One
 * Redis hash per cluster (`keys.lostNodes(cluster)`); writing is idempotent.
 */
import type { Redis } from 'ioredis';
import { keys } from '../queue/keys.ts';

export type LostNode = {
  node: string;
  /** Its dqlite address in the old cluster. */
  address: string;
  /** The addresses of the old cluster's members (what its stale cluster.yaml still names). */
  oldMembers: string[];
  byJob: string;
  at: number;
};

export async function markLost(redis: Redis, cluster: string, lost: readonly LostNode[]): Promise<void> {
  if (lost.length === 0) return;
  await redis.hset(keys.lostNodes(cluster), Object.fromEntries(lost.map((l) => [l.node, JSON.stringify(l)])));
}

export async function readLost(redis: Redis, cluster: string): Promise<Map<string, LostNode>> {
  const all = await redis.hgetall(keys.lostNodes(cluster));
  return new Map(Object.entries(all).map(([k, v]) => [k, JSON.parse(v) as LostNode]));
}

export async function clearLost(redis: Redis, cluster: string, node: string): Promise<void> {
  await redis.hdel(keys.lostNodes(cluster), node);
}

/** A lost node's datastore still names the old cluster when its cluster.yaml lists another old member. */
export function stillNamesOldCluster(lost: LostNode, clusterYamlAddresses: readonly string[]): boolean {
  return clusterYamlAddresses.some((a) => a !== lost.address && lost.oldMembers.includes(a));
}
