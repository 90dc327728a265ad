/**
 * The nodes a quorum recovery declared lost. They must never start again with their old data:
 * `status` marks them, and `add-node` refuses them until they are reinstalled (their datastore
 * no longer names the old cluster). One Redis hash per cluster; writing is idempotent.
 */
import type { Redis } from 'ioredis';
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
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

/**
 * add-node's guard: a node a recovery declared lost joins only after a reinstall — its datastore
 * must no longer name the old cluster. Then its mark is cleared.
 */
export async function refuseLostNode(run: RunContext, node: string): Promise<void> {
  const lost = (await readLost(run.redis, run.cluster.name)).get(node);
  if (!lost) return;
  let addresses: string[];
  try {
    addresses = (await run.node(node).backend().clusterYaml()).cluster.members.map((m) => m.address);
  } catch (err) {
    throw new RunbookFailure(`${node} was declared lost by recover-quorum job ${lost.byJob} and its datastore cannot be read (${errorText(err)}). Reinstall MicroK8s on it before adding it. Nothing was changed.`);
  }
  if (stillNamesOldCluster(lost, addresses)) {
    throw new RunbookFailure(
      `${node} was declared lost by recover-quorum job ${lost.byJob}, and its datastore still names the old cluster (${addresses.join(', ')}): started as it is, it would try to rejoin with the old membership. Reinstall MicroK8s on it (\`sudo snap remove --purge microk8s\`, then install the cluster's channel) before \`add-node ${node}\`. Nothing was changed.`,
    );
  }
  await clearLost(run.redis, run.cluster.name, node);
}
