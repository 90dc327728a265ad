/**
 * The step that records a node's snap state after the bot changed it (upgrade, rollback, hold,
 * unhold), and the words for a node's snap state. The record itself — its Redis hash, reading
 * it, and how a node drifts from it — is src/store/node-records.ts.
 */
import { errorText, type RunContext } from '../engine/context.ts';
import { readSnapFacts, type SnapFacts } from '../microk8s/snap-facts.ts';
import { driftOf, readNodeRecord, writeNodeRecord, type NodeRecord } from '../store/node-records.ts';

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
  await writeNodeRecord(run.redis, run.cluster.name, node, record);
  // What still differs from the record (a revision or channel changed outside the bot, kept by a hold-only record).
  return { ...record, drift: driftOf(record, observed) };
}

/** "rev 2694 (v1.23.17, 1.23/stable), held forever" */
export function describeRecord(r: SnapFacts): string {
  return `rev ${r.revision} (${r.version}, ${r.channel})${r.held ? `, held ${r.holdUntil === undefined || r.holdUntil === 'forever' ? 'forever' : `until ${r.holdUntil}`}` : ', not held'}`;
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
