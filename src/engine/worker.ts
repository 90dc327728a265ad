import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Inventory } from '../config/inventory.ts';
import { clusterConfig } from '../config/inventory.ts';
import { keys, PREFIX, QUEUE_NAME } from '../queue/keys.ts';
import { logTo, showError } from '../errors/boundary.ts';
import { escapeMrkdwn } from '../util/mrkdwn.ts';
import { RunContext, errorText, type EngineDeps } from './context.ts';
import type { Runbook } from './define.ts';
import type { Button } from '../chat/port.ts';
import { RunbookFailure, StopRunbook } from './errors.ts';
import { LockLostError } from './job-lock.ts';
import type { JobData } from './job-data.ts';
import { FINAL_STATES } from './job-data.ts';
import { parentMessage } from './messages.ts';
import { jobOutbox, releaseJobOutbox } from './job-outbox.ts';
import { awaitStart } from './start-waits.ts';

export interface WorkerOptions {
  /** Jobs run at once across clusters (a parked approval holds none). */
  concurrency?: number;
  /** BullMQ lock; a crashed worker's job is picked up again after about this long. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Crashes a job survives over its whole life (BullMQ counts them cumulatively). */
  maxStalledCount?: number;
}

export interface EngineWorkerDeps extends EngineDeps {
  connection: Redis;
  inventory: Inventory;
  runbooks: ReadonlyMap<string, Runbook>;
}

export function createEngineWorker(deps: EngineWorkerDeps, options: WorkerOptions = {}): Worker<JobData> {
  // Three parameters: BullMQ passes the processor an abort signal only when it takes one.
  const worker = new Worker<JobData>(QUEUE_NAME, (job, token, signal) => processJob(deps, job, token, signal), {
    connection: deps.connection,
    prefix: PREFIX,
    concurrency: options.concurrency ?? 8,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 5,
  });

  // A job that exhausted its crash allowance fails without running the processor:
  // the thread and parent message must still say so (the cluster hold is released by BullMQ).
  worker.on('failed', (job, err) => {
    if (!job) return;
    void reportUnhandledFailure(deps, job, err).catch((e: unknown) => deps.logger.error({ err: e, jobId: job.id }, 'could not report a failed job'));
  });
  // The lock could not be renewed (this process was paused, Redis was away): another worker
  // may already run the job. Abort this run; it stops at its next step boundary or command.
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const jobId of jobIds) {
      deps.logger.warn({ jobId }, 'lost the lock of a running job; stopping it here');
      worker.cancelJob(jobId, 'lock lost');
    }
  });
  worker.on('error', (err) => deps.logger.error({ err }, 'worker error'));
  return worker;
}

type Outcome = { state: JobData['state']; what: string; left?: string; offers: Button[]; err?: unknown };

async function processJob(deps: EngineWorkerDeps, job: Job<JobData>, token: string | undefined, signal?: AbortSignal): Promise<JobData['state']> {
  const runbook = deps.runbooks.get(job.name);
  const cluster = clusterConfig(deps.inventory, job.data.request.cluster);
  if (!runbook || !cluster) {
    throw new Error(`job ${job.id}: unknown ${runbook ? `cluster ${job.data.request.cluster}` : `runbook ${job.name}`}`);
  }
  if (FINAL_STATES.has(job.data.state)) return job.data.state; // already reported (a crash after the end)

  const run = new RunContext(job, token, cluster, deps, signal);
  const started = job.data.request.requestedAt;
  try {
    await run.begin();
    const parsed = runbook.spec.args.parse(job.data.request.args);
    run.setPlan(runbook.spec.plan(parsed, cluster));
    let outcome: Outcome;
    try {
      // No plan approval to wait behind: the scheduled start and the maintenance window come first.
      if (!cluster.policy.approvePlan && runbook.spec.hold !== false) await awaitStart(run);
      await runbook.run(run, parsed);
      outcome = { state: 'succeeded', what: `Succeeded: ${run.doneSteps().length} steps done.`, offers: [] };
    } catch (err) {
      if (err instanceof DelayedError || err instanceof LockLostError || run.lockLost) throw err;
      const state = err instanceof StopRunbook ? err.state : 'failed';
      const shown = showError(err, logTo(deps.logger)).text;
      const what = err instanceof StopRunbook || err instanceof RunbookFailure ? shown : `Failed: ${shown}`;
      // Read while the job still holds the cluster.
      const left = runbook.describeState ? await safeDescribe(() => runbook.describeState!(run, parsed)) : undefined;
      outcome = { state, what, left, offers: err instanceof RunbookFailure ? err.offers : [], err };
    }
    await end(deps, run, outcome, started);
    return run.state;
  } catch (err) {
    if (err instanceof LockLostError || (run.lockLost && !(err instanceof DelayedError))) {
      // Not ours any more: no message, no state, no failure. DelayedError makes BullMQ leave the job alone.
      deps.logger.warn({ jobId: job.id, err: errorText(err) }, 'job lock lost; this worker leaves the job to its new holder');
      throw new DelayedError('lock lost');
    }
    throw err;
  } finally {
    await run.close();
  }
}

/**
 * The end of a job: the final state is recorded (by the lock holder), then the final
 * messages go out, then the cluster hold is released, then the parent shows the state.
 * A failing chat post is logged; it never changes the outcome.
 */
async function end(deps: EngineWorkerDeps, run: RunContext, outcome: Outcome, started: number): Promise<void> {
  const { state, what, left, offers } = outcome;
  const summary = outcome.state === 'succeeded' ? what : `${what}${left ? ` State now: ${left}` : ''}`;
  await run.finish(state, summary);
  const quietly = async (label: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      if (err instanceof LockLostError) throw err;
      deps.logger.error({ jobId: run.jobId, err: errorText(err) }, `could not ${label}`);
    }
  };
  if (state !== 'succeeded') {
    await quietly('post the final message', () =>
      run.say({ text: `${what}${left ? `\n${left}` : ''}`, body: `*${state}*: ${what}${left ? `\n*State now:* ${left}` : ''}`, buttons: offers }),
    );
    if (state === 'failed') deps.logger.warn({ jobId: run.jobId, err: outcome.err }, 'runbook failed');
  }
  // Issued now, awaited when the activation closes (the hold need not wait for Redis's answer).
  run.auditLater({ type: 'job.end', cluster: run.cluster.name, jobId: run.jobId, verb: run.request.verb, state, summary, durationMs: Date.now() - started });
  const auditChannel = run.cluster.auditChannel;
  if (auditChannel) {
    // Through the job's outbox too: the job does not wait for Slack, and a 429 is waited out there.
    run.postElsewhere(auditChannel, { text: `job ${run.jobId} ${state}: \`${escapeMrkdwn(run.request.text)}\` on ${run.cluster.name} by <@${run.request.user}> — ${summary}` });
  }
  await run.releaseHold();
  await quietly('update the parent message', () => run.updateParent());
}

async function safeDescribe(fn: () => Promise<string>): Promise<string> {
  try {
    return await fn();
  } catch (err) {
    return `could not read the nodes' state (${errorText(err)})`;
  }
}

/** BullMQ's error for a job whose worker stopped (crashed, or lost its lock) more often than allowed. */
function unhandledFailureText(deps: EngineWorkerDeps, err: Error): string {
  if (err.message.includes('stalled more than allowable limit')) {
    return `the workers running it stopped (crashed or lost the job's lock) too many times (${err.message})`;
  }
  return showError(err, logTo(deps.logger)).text;
}

async function reportUnhandledFailure(deps: EngineWorkerDeps, job: Job<JobData>, err: Error): Promise<void> {
  if (FINAL_STATES.has(job.data.state)) return;
  const reason = unhandledFailureText(deps, err);
  const data: JobData = { ...job.data, state: 'failed', summary: `Failed: ${reason}. Check the nodes before retrying.` };
  await job.updateData(data);
  const raw = await deps.redis.get(keys.parent(String(job.id)));
  const parent = data.parent ?? (raw ? (JSON.parse(raw) as JobData['parent']) : undefined);
  if (parent) {
    // Behind whatever the job's last activation in this process still has to send.
    const outbox = jobOutbox(String(job.id), deps.chat, deps.logger);
    outbox.post(parent.channel, { text: `❌ job ${job.id} failed: ${reason}` }, parent.ts, { solo: true });
    outbox.update(parent, parentMessage(String(job.id), data), { afterPosts: true });
    releaseJobOutbox(String(job.id), outbox);
  }
  await deps.audit.record({
    type: 'job.end', cluster: data.request.cluster, jobId: String(job.id), verb: data.request.verb, state: 'failed', summary: data.summary ?? '', durationMs: Date.now() - data.request.requestedAt,
  });
}
