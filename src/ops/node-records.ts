/**
 * The bot's record of each node's snap state, written after the bot changed it
 * (upgrade, rollback, hold, unhold): revision, channel, version, hold, which job
 * and when. `status` compares the nodes with it to flag drift — a revision or
 * channel changed outside the bot (an auto-refresh, a hand-run `snap refresh`),
 * or a hold the bot set that is gone.
 *
 * Stored in Redis as one hash per cluster (`keys.nodeRecords(cluster)`), field =
 * node name, value = JSON. Writing is idempotent, so it is safe inside a step.
 */
import type { Redis } from 'ioredis';
import { errorText, type RunContext } from '../engine/context.ts';
import { readSnapFacts, type SnapFacts } from '../microk8s/snap-facts.ts';
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

/**
 * Reads the node's snap state and records it as left by this job; returns the
 * record and how the node still differs from it (`drift`, see `scope`).
 * `previous` is the state a later `rollback` returns to: given by a job that
 * changed the revision (the upgrade's preflight reading; `null` after a rollback:
 * nothing to return to), else kept from the last record while the revision is
 * unchanged, else unknown.
 */
export async function recordNodeState(
  run: RunContext,
  node: string,
  options: {
    previous?: { revision: string; version: string; channel: string } | null;
    /**
     * `hold`: the job changed only the hold (hold, unhold), so the recorded revision and
     * channel stay as they were: a refresh made outside the bot stays flagged as drift.
     */
    scope?: 'all' | 'hold';
  } = {},
): Promise<NodeRecord & { drift: string[] }> {
  const observed = await readSnapFacts(run.node(node));
  const old = await readNodeRecord(run.redis, run.cluster.name, node);
  const facts: SnapFacts =
    options.scope === 'hold' && old
      ? { version: old.version, revision: old.revision, channel: old.channel, held: observed.held, ...(observed.holdUntil !== undefined ? { holdUntil: observed.holdUntil } : {}) }
      : observed;
  const inherited = old?.revision === facts.revision ? old.previous : undefined;
  // A job that gives the state before its change but changed nothing (refresh skipped) keeps the old `previous`.
  const given = options.previous === undefined || options.previous?.revision === facts.revision ? inherited : options.previous;
  const previous = options.previous === null ? undefined : given;
  const record: NodeRecord = { ...facts, ...(previous && previous.revision !== facts.revision ? { previous } : {}), byJob: run.jobId, verb: run.request.verb, at: Date.now() };
  await run.redis.hset(keys.nodeRecords(run.cluster.name), node, JSON.stringify(record));
  // What still differs from the record (a revision or channel changed outside the bot, kept by a hold-only record).
  return { ...record, drift: driftOf(record, observed) };
}

/** "rev 2694 (v1.23.17, 1.23/stable), held forever" */
export function describeRecord(r: SnapFacts): string {
  return `rev ${r.revision} (${r.version}, ${r.channel})${r.held ? `, held ${r.holdUntil === undefined || r.holdUntil === 'forever' ? 'forever' : `until ${r.holdUntil}`}` : ', not held'}`;
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

/** One line per node: revision, channel, hold — what a failed or stopped job left. */
export async function describeSnapStates(run: RunContext, nodes: string[]): Promise<string> {
  const lines: string[] = [];
  for (const n of nodes) {
    try {
      lines.push(`${n}: ${describeRecord(await readSnapFacts(run.node(n)))}`);
    } catch (err) {
      lines.push(`${n}: unreadable (${errorText(err)})`);
    }
  }
  return lines.join('; ');
}
