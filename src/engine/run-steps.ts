/**
 * Checkpointed steps, for the run context (context.ts): `run.step` replays from the job's
 * data — a finished step returns its recorded result, a failed one throws its recorded failure,
 * the step that was in flight runs again (its thread message updated, not posted twice) — and
 * `run.memo`, a silent checkpoint. Between two steps a cancelled job stops, and a job of a
 * process that is shutting down is handed back to the queue.
 */
import { DelayedError } from 'bullmq';
import type { MessageRef } from '../chat/port.ts';
import { logTo, showError } from '../errors/boundary.ts';
import { errorText } from './control-flow.ts';
import { ReplayedStepError, ReplayMismatchError } from './errors.ts';
import { seconds, stepMessage } from './messages.ts';
import type { OutboxLine } from './outbox.ts';
import type { RunCore } from './run-core.ts';
import type { StepOptions } from './run-types.ts';
import type { Json } from './runbook.ts';

/** How long a job handed back at shutdown waits before any worker may take it again. */
const HAND_BACK_DELAY_MS = 2_000;

export async function runStep<T extends Json | void>(core: RunCore, title: string, fn: () => Promise<T>, options: StepOptions<T> = {}): Promise<T> {
  const { data, deps, cluster, jobId, thread } = core;
  const key = core.nextKey('s');
  const previous = data.steps[key];
  if (previous && previous.title !== title) {
    throw new ReplayMismatchError(`step ${key} was "${previous.title}" when first run, now "${title}"`);
  }
  if (previous && previous.status === 'done') return previous.result as T;
  if (previous && previous.status === 'failed') throw new ReplayedStepError(previous.error ?? 'failed');
  if (core.lock.isLost) core.lock.fail();
  if (deps.stopping?.()) {
    await core.checkCancelled(title);
    await handBack(core, title);
  }

  const rerun = previous?.status === 'running';
  const startedAt = Date.now();
  const runs = (previous?.runs ?? 0) + 1;
  // A step boundary, one round trip: a cancelled job stops here, and an activation that lost
  // the job stops here (LockLostError), both before the step's message and its first command.
  data.steps[key] = { title, status: 'running', startedAt, ...(previous?.msgTs ? { msgTs: previous.msgTs } : {}), runs };
  try {
    await core.saveUnlessCancelled(title);
  } catch (err) {
    if (previous) data.steps[key] = previous;
    else delete data.steps[key];
    throw err;
  }
  // The step's message goes through the outbox: the step runs at once, the thread follows.
  let line: OutboxLine | MessageRef;
  if (previous?.msgTs) {
    line = { channel: thread.channel, ts: previous.msgTs };
    thread.outbox.update(line, stepMessage(title, 'rerun', 'running again after an interruption'));
  } else {
    const posted = thread.stepLine(stepMessage(title, 'running'));
    line = posted;
    void posted.posted().then((ref) => {
      // Checkpointed, so a rerun after a crash updates this message instead of posting another
      // (only a message's first line: updating a merged message by its ts would replace its other lines).
      const rec = data.steps[key];
      if (!ref || !rec || rec.msgTs !== undefined || posted.index !== 0) return;
      rec.msgTs = ref.ts;
      if (rec.status === 'running') {
        core.save().catch((err: unknown) => deps.logger.warn({ err: errorText(err), jobId }, 'could not checkpoint a step message'));
      }
    });
  }
  const tsOf = (l: OutboxLine | MessageRef) => ('index' in l ? (l.index === 0 ? l.ref?.ts : undefined) : l.ts);
  const msgTs = (): { msgTs?: string } => {
    const ts = tsOf(line) ?? data.steps[key]?.msgTs;
    return ts ? { msgTs: ts } : {};
  };
  // Audit writes are issued in order on one connection and awaited when the activation ends
  // (close), not one by one: the step's commands do not wait for Redis.
  core.audited({ type: 'step.start', cluster: cluster.name, jobId, step: key, title });
  if (rerun) deps.logger.warn({ jobId, step: key }, 'step was in flight during a crash; running it again');

  let result: T;
  try {
    result = await fn();
  } catch (err) {
    const shown = showError(err, logTo(deps.logger));
    const message = shown.text;
    // Recorded, so that a later activation (after a choice gate) replays the same failure.
    data.steps[key] = { title, status: 'failed', error: message, startedAt, endedAt: Date.now(), ...msgTs(), runs };
    await core.save();
    thread.outbox.update(line, stepMessage(title, 'failed', message));
    core.audited({
      type: 'step.end', cluster: cluster.name, jobId, step: key, title, ok: false, durationMs: Date.now() - startedAt, error: shown.plain,
    });
    throw err;
  }
  const stored = (result === undefined ? null : JSON.parse(JSON.stringify(result))) as Json;
  const endedAt = Date.now();
  data.steps[key] = { title, status: 'done', result: stored, startedAt, endedAt, ...msgTs(), runs };
  // Written with the next step's start, or before the next command (RunCore.saveLater).
  core.saveLater();
  const detail = [options.describe?.(result), seconds(endedAt - startedAt)].filter(Boolean).join(' · ');
  thread.outbox.update(line, stepMessage(title, 'done', detail));
  core.audited({
    type: 'step.end', cluster: cluster.name, jobId, step: key, title, ok: true, durationMs: endedAt - startedAt,
  });
  return result;
}

/** A silent checkpoint: `fn` runs once; a later activation gets its first answer (decisions that must replay the same). */
export async function memo<T extends Json>(core: RunCore, fn: () => T): Promise<T> {
  const key = core.nextKey('m');
  const marks = (core.data.marks ??= {});
  if (key in marks) return marks[key] as T;
  marks[key] = fn();
  await core.save();
  return marks[key] as T;
}

/**
 * The process is stopping: between two steps, the job goes back to the queue (delayed by
 * HAND_BACK_DELAY_MS) with its checkpoints, and the next worker (another process, or this one
 * restarted) continues with `nextTitle`. Nothing is left half-done and nothing fails.
 */
async function handBack(core: RunCore, nextTitle: string): Promise<never> {
  await core.save();
  core.deps.logger.info({ jobId: core.jobId, next: nextTitle }, 'shutting down: job handed back before its next step');
  // A moment later, not at once: this closing worker's last fetch must not take it back.
  await core.job.moveToDelayed(Date.now() + HAND_BACK_DELAY_MS, core.token);
  throw new DelayedError();
}
