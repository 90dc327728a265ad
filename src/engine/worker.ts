import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Inventory } from '../config/inventory.ts';
import { clusterConfig } from '../config/inventory.ts';
import { keys, PREFIX, QUEUE_NAME } from '../queue/keys.ts';
import { RunContext, errorText, type EngineDeps } from './context.ts';
import type { Runbook } from './define.ts';
import { RunbookFailure, StopRunbook } from './errors.ts';
import type { JobData } from './job-data.ts';
import { FINAL_STATES } from './job-data.ts';
import { parentMessage } from './messages.ts';

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
  const worker = new Worker<JobData>(QUEUE_NAME, (job, token) => processJob(deps, job, token), {
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
  worker.on('error', (err) => deps.logger.error({ err }, 'worker error'));
  return worker;
}

async function processJob(deps: EngineWorkerDeps, job: Job<JobData>, token: string | undefined): Promise<JobData['state']> {
  const runbook = deps.runbooks.get(job.name);
  const cluster = clusterConfig(deps.inventory, job.data.request.cluster);
  if (!runbook || !cluster) {
    throw new Error(`job ${job.id}: unknown ${runbook ? `cluster ${job.data.request.cluster}` : `runbook ${job.name}`}`);
  }
  if (FINAL_STATES.has(job.data.state)) return job.data.state; // already reported (a crash after the end)

  const run = new RunContext(job, token, cluster, deps);
  const started = job.data.request.requestedAt;
  try {
    await run.begin();
    const parsed = runbook.spec.args.parse(job.data.request.args);
    run.setPlan(runbook.spec.plan(parsed, cluster));
    try {
      await runbook.run(run, parsed);
      const summary = `Succeeded: ${run.doneSteps().length} steps done.`;
      await end(deps, run, 'succeeded', summary, started);
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      const state = err instanceof StopRunbook ? err.state : 'failed';
      const what = err instanceof StopRunbook || err instanceof RunbookFailure ? err.message : `Failed: ${errorText(err)}`;
      const left = runbook.describeState ? await safeDescribe(() => runbook.describeState!(run, parsed)) : undefined;
      const offers = err instanceof RunbookFailure ? err.offers : [];
      await run.say({ text: `${what}${left ? `\n${left}` : ''}`, body: `*${state}*: ${what}${left ? `\n*State now:* ${left}` : ''}`, buttons: offers });
      await end(deps, run, state, `${what}${left ? ` State now: ${left}` : ''}`, started);
      if (state === 'failed') deps.logger.warn({ jobId: job.id, err }, 'runbook failed');
    }
    return run.state;
  } finally {
    await run.close();
  }
}

async function end(deps: EngineWorkerDeps, run: RunContext, state: JobData['state'], summary: string, started: number): Promise<void> {
  await run.finish(state, summary);
  await deps.audit.record({ type: 'job.end', cluster: run.cluster.name, jobId: run.jobId, verb: run.request.verb, state, summary, durationMs: Date.now() - started });
  if (run.cluster.auditChannel) {
    await deps.chat.post(run.cluster.auditChannel, {
      text: `job ${run.jobId} ${state}: \`${run.request.text}\` on ${run.cluster.name} by <@${run.request.user}> — ${summary}`,
    });
  }
}

async function safeDescribe(fn: () => Promise<string>): Promise<string> {
  try {
    return await fn();
  } catch (err) {
    return `could not read the nodes' state (${errorText(err)})`;
  }
}

async function reportUnhandledFailure(deps: EngineWorkerDeps, job: Job<JobData>, err: Error): Promise<void> {
  if (FINAL_STATES.has(job.data.state)) return;
  const data: JobData = { ...job.data, state: 'failed', summary: `Failed: ${err.message}. Check the nodes before retrying.` };
  await job.updateData(data);
  const raw = await deps.redis.get(keys.parent(String(job.id)));
  const parent = data.parent ?? (raw ? (JSON.parse(raw) as JobData['parent']) : undefined);
  if (parent) {
    await deps.chat.update(parent, parentMessage(String(job.id), data));
    await deps.chat.post(parent.channel, { text: `❌ job ${job.id} failed: ${err.message}` }, parent.ts);
  }
  await deps.audit.record({
    type: 'job.end', cluster: data.request.cluster, jobId: String(job.id), verb: data.request.verb, state: 'failed', summary: data.summary ?? '', durationMs: Date.now() - data.request.requestedAt,
  });
}
