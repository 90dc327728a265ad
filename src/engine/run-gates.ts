/**
 * Gates, for the run context (context.ts): an approval, a choice or a wait parks the job as a
 * BullMQ delayed job until the gate expires — holding no worker — and a click (recorded in
 * Redis by the bot) wakes it early. The gate is checkpointed before its buttons exist, and its
 * nonce binds the buttons to it; a later activation reads the decision (or the expiry) and goes on.
 */
import { randomBytes } from 'node:crypto';
import { DelayedError } from 'bullmq';
import { EXPIRY_USER } from '../audit/events.ts';
import { keys } from '../queue/keys.ts';
import { realTime } from '../schedule/clock.ts';
import { promoteQuietly } from './control-flow.ts';
import { ReplayMismatchError, StopRunbook } from './errors.ts';
import type { ChoiceOption, DecisionRecord, GateRecord } from './job-data.ts';
import { decidedGateMessage, gateMessage } from './messages.ts';
import { multiApproval } from './multi-approval.ts';
import type { RunCore } from './run-core.ts';
import type { GateSpec } from './run-types.ts';

export type GateKind = 'approval' | 'choice' | 'wait';

/** Returns the gate once it is decided (or expired); until then parks the job (throws DelayedError). */
export async function openGate(core: RunCore, spec: GateSpec & { options?: ChoiceOption[] }, kind: GateKind): Promise<GateRecord> {
  const { data, deps, cluster, jobId, thread } = core;
  const key = core.nextKey('g');
  let gate = data.gates[key];
  if (gate && gate.title !== spec.title) {
    throw new ReplayMismatchError(`gate ${key} was "${gate.title}" when first run, now "${spec.title}"`);
  }
  if (gate?.decision) return gate;
  // A woken gate reads the cancel and its decision in one round trip (its lock is checked by the write that follows).
  const [cancelledBy = null, known = null] = await deps.redis.mget(keys.cancel(jobId), keys.decision(jobId, key));
  if (cancelledBy !== null) throw core.cancelled(cancelledBy, spec.title);

  const parked = kind === 'wait' ? 'queued' : 'awaiting approval';
  // Also when the gate was checkpointed but its message never went up (a crash in between).
  let decision = known ? (JSON.parse(known) as DecisionRecord) : undefined;
  if (!gate?.msgTs) {
    // An activation that lost the job posts no gate.
    await core.lock.assertHeld();
    if (!gate) {
      const now = core.clock.now();
      gate = {
        title: spec.title, destructive: spec.destructive ?? false, createdAt: now, expiresAt: spec.expiresAt ?? now + cluster.policy.approvalTtl,
        kind, ...(spec.options ? { options: spec.options } : {}),
        // Binds the buttons to this gate for good: a button of another gate (or of a job
        // that had this id before Redis was reset) carries another nonce and does nothing.
        nonce: randomBytes(12).toString('base64url'),
        ...multiApproval(spec),
      };
      // Checkpoint the gate before its buttons exist, so a fast click finds it.
      data.gates[key] = gate;
      data.state = parked;
      if (kind === 'wait') data.summary = spec.what;
      await core.save();
    }
    const ref = await thread.sayAndWait(
      gateMessage({ jobId, gateKey: key, gate, what: spec.what, why: spec.why, nodes: spec.nodes, plan: spec.plan, requester: data.request.user }),
    );
    gate.msgTs = ref.ts;
    await core.save();
    await thread.updateParent();
    // A click can only have come once the buttons were up.
    decision = await readDecision(core, key);
  }

  if (!decision && core.clock.now() >= gate.expiresAt) {
    await core.lock.assertHeld(); // only the holder records the expiry
    const expired: DecisionRecord = { decision: 'expired', by: 'expiry', at: core.clock.now() };
    // NX: a click that landed first wins over the expiry.
    await deps.redis.set(keys.decision(jobId, key), JSON.stringify(expired), 'EX', 30 * 86_400, 'NX');
    decision = await readDecision(core, key);
  }
  if (decision) {
    gate.decision = decision.decision;
    if (decision.choice) gate.choice = decision.choice;
    gate.by = decision.by;
    gate.at = decision.at;
    if (decision.approvers) gate.approvedBy = decision.approvers;
    if (data.state === parked) data.state = 'running';
    if (kind === 'wait') delete data.summary;
    // Written with the next step's start (or the end): the decision is in Redis already, so an
    // activation that crashes before then reads it again and comes to the same place.
    core.saveLater();
    if (decision.decision === 'expired') {
      // A click is audited by the bot; an expiry has no clicker, so the worker records it.
      await deps.audit.record({ type: 'decision', cluster: cluster.name, jobId, gate: key, title: gate.title, user: EXPIRY_USER, decision: 'expired', accepted: true });
    }
    // A click's decision is shown on the gate by the bot that took it; an expiry has no clicker.
    if (gate.msgTs && decision.decision === 'expired') thread.outbox.update({ channel: thread.channel, ts: gate.msgTs }, decidedGateMessage(jobId, gate));
    await thread.updateParent();
    return gate;
  }

  if (data.state !== parked) {
    data.state = parked; // woken early (the clock moved, a stray promote): parked again
    await core.save();
    await thread.updateParent();
  }
  // Park until the gate expires; a click (or cancel) promotes the job early.
  await core.job.moveToDelayed(realTime(core.clock, gate.expiresAt), core.token);
  const raced = (await deps.redis.exists(keys.decision(jobId, key), keys.cancel(jobId))) > 0;
  if (raced) await promoteQuietly(core.job);
  throw new DelayedError();
}

/** An approval gate that was rejected or expired stops the runbook, saying what had been done. */
export function stopUnlessApproved(core: RunCore, gate: GateRecord): void {
  if (gate.decision === 'approved' || gate.decision === 'chosen') return;
  const done = core.doneSteps();
  const doneText = done.length > 0 ? `Done before it: ${done.join('; ')}.` : 'Nothing had been done on the nodes.';
  if (gate.decision === 'rejected') {
    throw new StopRunbook('rejected', `"${gate.title}" was rejected by <@${gate.by}>. ${doneText} Nothing after it was run.`);
  }
  throw new StopRunbook('expired', `"${gate.title}" expired with no decision. ${doneText} Nothing after it was run.`);
}

async function readDecision(core: RunCore, gateKey: string): Promise<DecisionRecord | undefined> {
  const raw = await core.deps.redis.get(keys.decision(core.jobId, gateKey));
  return raw ? (JSON.parse(raw) as DecisionRecord) : undefined;
}
