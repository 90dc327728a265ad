/** What the watch's last check saw of a cluster, kept in Redis for the App Home and the next check. */
import type { Redis } from 'ioredis';
import type { ClusterStatus } from '../status/cluster-status.ts';
import { keys } from '../queue/keys.ts';

export interface SnapshotNode {
  name: string;
  role: string;
  version?: string;
  ready?: boolean;
  cordoned?: boolean;
  /** `-`, `forever`, `until <time>`, or `?` when unread. */
  hold: string;
  datastore?: string;
  error?: string;
}

export interface WatchSnapshot {
  at: number;
  /** From `microk8s status`; undefined when no control-plane node answered. */
  highAvailability?: boolean;
  /** Datastore voters by node name (kept from the previous check when this one could not read them). */
  voters: string[];
  nodes: SnapshotNode[];
  /** Node → when it was first seen NotReady (epoch ms, the bot's clock). */
  notReadySince: Record<string, number>;
}

export function snapshotOf(s: ClusterStatus, previous: WatchSnapshot | undefined, now: number): WatchSnapshot {
  const voters = s.status ? s.rows.filter((r) => r.datastore === 'voter').map((r) => r.name) : (previous?.voters ?? []);
  const notReadySince: Record<string, number> = {};
  for (const r of s.rows) {
    if (r.kube && !r.kube.ready) notReadySince[r.name] = previous?.notReadySince[r.name] ?? now;
  }
  return {
    at: now,
    ...(s.status?.highAvailability !== undefined ? { highAvailability: s.status.highAvailability } : {}),
    voters,
    notReadySince,
    nodes: s.rows.map((r) => ({
      name: r.name,
      role: r.role,
      ...(r.windows ? { version: r.kube?.kubeletVersion ?? 'windows' } : r.facts ? { version: r.facts.version } : {}),
      ...(r.kube ? { ready: r.kube.ready, cordoned: r.kube.unschedulable } : {}),
      hold: r.windows ? '-' : !r.facts ? '?' : !r.facts.held ? '-' : r.facts.holdUntil && r.facts.holdUntil !== 'forever' ? `until ${r.facts.holdUntil}` : 'forever',
      ...(r.datastore ? { datastore: r.datastore } : {}),
      ...(r.error ? { error: r.error.slice(0, 200) } : {}),
    })),
  };
}

export async function readSnapshot(redis: Redis, cluster: string): Promise<WatchSnapshot | undefined> {
  const raw = await redis.get(keys.watchSnapshot(cluster));
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as WatchSnapshot;
  } catch {
    return undefined;
  }
}

export async function writeSnapshot(redis: Redis, cluster: string, snapshot: WatchSnapshot): Promise<void> {
  await redis.set(keys.watchSnapshot(cluster), JSON.stringify(snapshot), 'EX', 30 * 86_400);
}
