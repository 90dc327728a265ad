/**
 * The bot's record of each node's snap state, written after the bot changed it
 * (upgrade, rollback, hold, unhold): revision, channel, version, hold, which job
 * and when. `status` compares the nodes with it to flag drift — a revision or
 * channel changed outside the bot (an auto-refresh, a hand-run `snap refresh`),
 * or a hold the bot set that is gone.
 *
 * Stored in Redis as one hash per cluster (`keys.nodeRecords(cluster)`), field =
 * node name, value = JSON. Writing is idempotent, so it is safe inside a step.
 * The step that reads a node and records it is `recordNodeState` (src/ops/node-records.ts).
 */
import type { Redis } from 'ioredis';
import type { SnapFacts } from '../microk8s/snap-facts.ts';
import { keys } from '../queue/keys.ts';

/** A node as the bot last left it. */
export type NodeRecord = SnapFacts & {
  /** The state before the recording job changed the revision (what `rollback` returns to). */
  previous?: { revision: string; version: string; channel: string };
  byJob: string;
  verb: string;
  /** epoch ms */
  at: number;
};

/** Is a hold with this `holdUntil` still in force at `now`? (`forever`, a future time, or an unparsed text.) */
export function holdInForce(holdUntil: string | undefined, now: number): boolean {
  if (holdUntil === undefined || holdUntil === 'forever') return true;
  const t = Date.parse(holdUntil);
  return Number.isNaN(t) || t > now;
}

export async function readNodeRecords(redis: Redis, cluster: string): Promise<Map<string, NodeRecord>> {
  const raw = await redis.hgetall(keys.nodeRecords(cluster));
  const out = new Map<string, NodeRecord>();
  for (const [node, json] of Object.entries(raw)) {
    try {
      out.set(node, JSON.parse(json) as NodeRecord);
    } catch {
      // an unreadable record is treated as no record
    }
  }
  return out;
}

export async function readNodeRecord(redis: Redis, cluster: string, node: string): Promise<NodeRecord | undefined> {
  const json = await redis.hget(keys.nodeRecords(cluster), node);
  if (!json) return undefined;
  try {
    return JSON.parse(json) as NodeRecord;
  } catch {
    return undefined;
  }
}

/** Replaces the node's record (idempotent). */
export async function writeNodeRecord(redis: Redis, cluster: string, node: string, record: NodeRecord): Promise<void> {
  await redis.hset(keys.nodeRecords(cluster), node, JSON.stringify(record));
}

/**
 * How the node differs from the bot's record, in words; empty when it does not
 * (or when there is no record: the bot never changed that node). A timed hold
 * that ran out is not drift: it ended as set.
 */
export function driftOf(record: NodeRecord | undefined, now: SnapFacts, at: number = Date.now()): string[] {
  if (!record) return [];
  const out: string[] = [];
  if (record.revision !== now.revision) out.push(`revision ${record.revision} → ${now.revision} (${now.version})`);
  if (record.channel !== now.channel) out.push(`channel ${record.channel} → ${now.channel}`);
  if (record.held && !now.held && holdInForce(record.holdUntil, at)) {
    out.push(`hold gone (set ${record.holdUntil === undefined || record.holdUntil === 'forever' ? 'forever' : `until ${record.holdUntil}`})`);
  }
  return out;
}
