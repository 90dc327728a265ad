import type { ApprovalRecord, GateRecord, JobData } from '../engine/job-data.ts';
import { partlyApprovedGateMessage } from '../engine/messages.ts';
import { JOB_KEY_TTL_SECONDS, keys } from '../queue/keys.ts';
import type { BotDeps } from './deps.ts';

export interface ApprovalCount {
  /** This approval was the last one needed: the gate opens (the caller records the decision). */
  opens: boolean;
  /** Why this approval did not count (the requester, or a second click by the same approver). */
  refused?: string;
  /** The approvals so far, in order. */
  given: ApprovalRecord[];
}

/**
 * One Approve click on a gate that needs several approvers (quorum recovery's destructive gate).
 * Each approver counts once (HSETNX), the requester never does, whatever the cluster's policy.
 * Until the last one the gate's message is redrawn with "1 of 2 approvals" and who gave them.
 */
export async function countApproval(
  deps: BotDeps,
  q: { jobId: string; gateKey: string; gate: GateRecord; data: JobData; user: string; messageTs: string },
): Promise<ApprovalCount> {
  const { jobId, gateKey, gate, data, user, messageTs } = q;
  const needed = gate.approvals ?? 1;
  const key = keys.approvals(jobId, gateKey);
  if (user === data.request.user) {
    return { opens: false, refused: `You requested this job: "${gate.title}" needs ${needed} approvals from other approvers.`, given: await approvalsOf(deps, key) };
  }
  const record: ApprovalRecord = { by: user, at: Date.now(), ...(gate.binding ? { binding: gate.binding } : {}) };
  const added = await deps.redis.hsetnx(key, user, JSON.stringify(record));
  await deps.redis.expire(key, JOB_KEY_TTL_SECONDS);
  const given = await approvalsOf(deps, key);
  if (added === 0) {
    return { opens: false, refused: `You already gave approval ${given.findIndex((a) => a.by === user) + 1} of ${needed}; "${gate.title}" needs a different approver for the next one.`, given };
  }
  if (given.length >= needed) return { opens: true, given };
  // the clicked message itself: the gate's ts may not be checkpointed yet when a fast click lands
  if (data.parent) {
    await deps.chat.update({ channel: data.parent.channel, ts: messageTs }, partlyApprovedGateMessage(jobId, gateKey, { ...gate, approvedBy: given }, data.request.user));
  }
  return { opens: false, given };
}

async function approvalsOf(deps: BotDeps, key: string): Promise<ApprovalRecord[]> {
  const all = await deps.redis.hgetall(key);
  return Object.values(all)
    .map((raw) => JSON.parse(raw) as ApprovalRecord)
    .toSorted((a, b) => a.at - b.at);
}
