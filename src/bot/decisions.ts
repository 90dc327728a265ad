import { timingSafeEqual } from 'node:crypto';
import type { ActionInput, ChatMessage } from '../chat/port.ts';
import { hasRole, mayApprove } from '../auth/rbac.ts';
import { clusterConfig } from '../config/inventory.ts';
import type { ApprovalRecord, DecisionRecord } from '../engine/job-data.ts';
import { decidedGateMessage } from '../engine/messages.ts';
import { replicated, resendUntilReplicated } from '../queue/connection.ts';
import { keys } from '../queue/keys.ts';
import type { Job } from 'bullmq';
import type { BotDeps } from './deps.ts';
import { countApproval } from './multi-approval.ts';

/** `<job>:<gate>:<nonce>[:<option>]`, as engine/messages.ts gateButtonValue writes it. */
const VALUE = /^([0-9]{1,12}):(g[0-9]{1,4}):([A-Za-z0-9_-]{16})(?::([a-z][a-z0-9-]{0,30}))?$/;
const GONE = 'This button belongs to a gate that no longer exists.';

function sameNonce(a: string, b: string | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function note(text: string): ChatMessage {
  return { text };
}

async function promoteQuietly(job: Job): Promise<void> {
  try {
    await job.promote();
  } catch (err) {
    // -3: the job is not parked (yet, or any more); it re-reads the decision itself.
    if ((err as { code?: number }).code !== -3) throw err;
  }
}

/**
 * An Approve or Reject click. It counts only for the gate it was made with: the value's
 * nonce, the channel and the message must be the stored gate's (a forged, replayed,
 * copied or stale button does nothing). The first decision recorded in Redis wins
 * (SET NX), which also settles a click against the expiry; then the job is woken.
 * Duplicate, unauthorised and late clicks are answered, audited and change nothing.
 */
export async function decide(deps: BotDeps, input: ActionInput, decision: 'approved' | 'rejected' | 'chosen'): Promise<ChatMessage> {
  const m = VALUE.exec(input.value);
  const jobId = m?.[1];
  const gateKey = m?.[2] ?? '-';
  // The job and any decision already taken, in one round trip (the decision is only read here).
  const [job, existing] = jobId ? await Promise.all([deps.queue.get(jobId), deps.redis.get(keys.decision(jobId, gateKey))]) : [undefined, null];
  const data = job?.data?.request ? job.data : undefined;
  const reject = async (reason: string): Promise<ChatMessage> => {
    deps.metrics.decisions.inc({ decision, accepted: 'no' });
    const title = data?.gates[gateKey]?.title;
    // A button that names no job is audited under the cluster of the channel it came from.
    const where = data?.request.cluster ?? Object.entries(deps.inventory.clusters).find(([, c]) => c.channel === input.channel)?.[0] ?? '-';
    await deps.audit.record({ type: 'decision', cluster: where, jobId: jobId ?? '-', gate: gateKey, ...(title ? { title } : {}), user: input.user, decision, accepted: false, reason });
    return note(`${reason} Nothing changed.`);
  };
  if (!m || !jobId || !job || !data) return reject(m ? GONE : 'That button does not name a gate.');
  const gate = data.gates[gateKey];
  // Another gate, another job that got this id after Redis was reset: another nonce.
  if (!gate || !sameNonce(m[3] as string, gate.nonce)) return reject(GONE);
  // The message is checked once its ts is recorded (a click can beat that write by a moment).
  if (!data.parent || input.channel !== data.parent.channel || (gate.msgTs !== undefined && input.messageTs !== gate.msgTs)) {
    return reject(`That click did not come from this gate's message in the job's thread.`);
  }
  const cluster = data.request.cluster;
  const choice = m[4];
  const option = gate.options?.find((o) => o.id === choice);
  if ((decision === 'chosen') !== (gate.kind === 'choice' || gate.kind === 'wait') || (decision === 'chosen' && !option)) {
    return reject(`That button does not belong to this decision.`);
  }

  if (existing || gate.decision) {
    const d = existing ? (JSON.parse(existing) as DecisionRecord) : { decision: gate.decision, by: gate.by ?? '?', at: gate.at ?? 0 };
    return reject(d.decision === 'expired' ? `This approval already expired.` : `This was already ${d.decision} by <@${d.by}>.`);
  }
  const now = deps.clock.now();
  if (now >= gate.expiresAt) {
    const expired: DecisionRecord = { decision: 'expired', by: 'expiry', at: now };
    await deps.redis.set(keys.decision(jobId, gateKey), JSON.stringify(expired), 'EX', 30 * 86_400, 'NX');
    await promoteQuietly(job);
    return reject(`This approval expired at ${new Date(gate.expiresAt).toISOString()}.`);
  }
  const config = clusterConfig(deps.inventory, cluster);
  if (!config) return reject(`Cluster ${cluster} is no longer in the inventory.`);
  const needsApprover = decision !== 'chosen' || option?.role === 'approver';
  const allowed = needsApprover
    ? await mayApprove({ user: input.user, requester: data.request.user, cluster: config, inventory: deps.inventory, members: deps.members })
    : input.user === data.request.user || (await hasRole('operator', { user: input.user, cluster: config, inventory: deps.inventory, members: deps.members }))
      ? ({ ok: true } as const)
      : ({ ok: false, reason: `you are not an operator for cluster ${cluster}` } as const);
  if (!allowed.ok) return reject(`You cannot decide this: ${allowed.reason}.`);

  let approvers: ApprovalRecord[] | undefined;
  if (decision === 'approved' && (gate.approvals ?? 1) > 1) {
    const counted = await countApproval(deps, { jobId, gateKey, gate, data, user: input.user, messageTs: input.messageTs });
    if (!counted.opens) {
      if (counted.refused) return reject(counted.refused);
      deps.metrics.decisions.inc({ decision, accepted: 'yes' });
      await deps.audit.record({ type: 'decision', cluster, jobId, gate: gateKey, user: input.user, decision: `approved ${counted.given.length} of ${gate.approvals}`, accepted: true });
      await replicated(deps.redis);
      return note(`You gave approval ${counted.given.length} of ${gate.approvals} for "${gate.title}" (job ${jobId}); it still needs ${(gate.approvals ?? 1) - counted.given.length} more from a different approver.`);
    }
    approvers = counted.given;
  }
  const record: DecisionRecord = { decision, ...(option ? { choice: option.id } : {}), by: input.user, at: Date.now(), ...(approvers ? { approvers } : {}) };
  const writeDecision = () => deps.redis.set(keys.decision(jobId, gateKey), JSON.stringify(record), 'EX', 30 * 86_400, 'NX');
  const won = await writeDecision();
  if (won !== 'OK') {
    const d = JSON.parse((await deps.redis.get(keys.decision(jobId, gateKey))) ?? '{}') as DecisionRecord;
    return reject(`This was already ${d.decision} by <@${d.by}>.`);
  }
  deps.metrics.decisions.inc({ decision, accepted: 'yes' });
  // Through Sentinel: written again (NX: never a second decision) and the job woken again after a
  // reconnect, until a replica has it — a switchover's old master may have taken it with it.
  resendUntilReplicated(deps.redis, async () => {
    await writeDecision();
    await promoteQuietly(job);
  });
  // Issued before the job is woken, so it comes before the job's next events in the stream.
  const audited = deps.audit.record({ type: 'decision', cluster, jobId, gate: gateKey, title: gate.title, user: input.user, decision: option ? `chose ${option.label}` : decision, accepted: true });
  // The job goes on at once; the gate shows the decision as soon as Slack takes the update.
  await promoteQuietly(job);
  await audited;
  // Shown as decided only once a replica has the decision (through Sentinel): a failover now does not lose it.
  await replicated(deps.redis);
  await deps.chat.update({ channel: data.parent.channel, ts: input.messageTs }, decidedGateMessage(jobId, { ...gate, ...record, ...(approvers ? { approvedBy: approvers } : {}) }));
  const what = decision === 'chosen' ? `chose "${option?.label}" for` : decision === 'approved' ? 'approved' : 'rejected';
  return note(`You ${what} "${gate.title}" (job ${jobId}).`);
}
