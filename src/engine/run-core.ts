/**
 * One activation's state, shared by the parts of the run context (context.ts): the job's
 * checkpointed data and its save (only by the lock holder), the keys of its steps, gates and
 * memos in order, the thread (run-thread.ts), the audit writes, and the cancel check that every
 * step and gate makes first.
 */
import type { Job } from 'bullmq';
import type { ClusterConfig } from '../config/inventory.ts';
import { connectionEpoch, replicated } from '../queue/connection.ts';
import { keys } from '../queue/keys.ts';
import { systemClock, type Clock } from '../schedule/clock.ts';
import { StopRunbook } from './errors.ts';
import { JobLock } from './job-lock.ts';
import type { JobData } from './job-data.ts';
import { CheckpointDiff, inRunOrder, readJobSteps } from './job-steps.ts';
import type { EngineDeps } from './run-types.ts';
import { RunThread } from './run-thread.ts';

export class RunCore {
  readonly jobId: string;
  readonly data: JobData;
  readonly lock: JobLock;
  /** The thread's progress, delivered in order without holding up the steps. */
  readonly thread: RunThread;
  private seq = 0;
  /** What the stored data already holds, so a checkpoint sends only its changes. */
  private readonly diff = new CheckpointDiff();
  /** The data has changes not written yet (a step's end: saveLater). */
  private unsaved = false;
  private flushing: Promise<void> | undefined;
  private readonly pendingAudit: Promise<void>[] = [];

  constructor(
    readonly job: Job<JobData>,
    readonly token: string | undefined,
    readonly cluster: ClusterConfig,
    readonly deps: EngineDeps,
    /** Fired by the worker when the job's lock could not be renewed. */
    signal?: AbortSignal,
  ) {
    this.jobId = String(job.id);
    this.data = structuredClone(job.data);
    this.lock = new JobLock(deps.redis, this.jobId, token, signal);
    this.thread = new RunThread(this);
  }

  get clock(): Clock { return this.deps.clock ?? systemClock; }

  /** The next checkpoint key: `s…` a step, `g…` a gate, `m…` a memo (one sequence, so replays line up). */
  nextKey(kind: 's' | 'g' | 'm'): string {
    return `${kind}${++this.seq}`;
  }

  /** The job's step records, stored apart from its data (job-steps.ts); none before its first activation wrote any. */
  async loadSteps(): Promise<void> {
    if (this.job.data.activations === 0) return;
    const epoch = connectionEpoch(this.deps.redis);
    const stored = await readJobSteps(this.deps.redis, this.jobId);
    this.diff.stored(stored, epoch);
    // Over those still inside `data` (checkpointed by an older version): written as fields at the next checkpoint.
    this.data.steps = inRunOrder({ ...this.data.steps, ...stored });
  }

  async save(): Promise<void> {
    // What changed since the last write (the stored data is then the current one), only by the lock holder.
    this.unsaved = false;
    try {
      await this.write();
    } catch (err) {
      this.unsaved = true;
      throw err;
    }
  }

  private async write(options: { unlessCancelled?: string } = {}): Promise<{ cancelledBy?: string }> {
    // The epoch when the write was made: a reconnect before it lands makes the next one whole.
    const epoch = connectionEpoch(this.deps.redis);
    const change = this.diff.prepare(this.data, epoch);
    const result = await this.lock.writeData(change, options);
    if (result.cancelledBy === undefined) this.diff.written(change, epoch);
    return result;
  }

  /**
   * A step boundary in one round trip: unless the job was cancelled, the checkpoint is written
   * (by the lock holder only) — with the previous step's end, if that was not written yet; if it
   * was cancelled, nothing is written and the runbook stops before `nextTitle`.
   */
  async saveUnlessCancelled(nextTitle: string): Promise<void> {
    const wasUnsaved = this.unsaved;
    this.unsaved = false;
    let cancelledBy: string | undefined;
    try {
      ({ cancelledBy } = await this.write({ unlessCancelled: keys.cancel(this.jobId) }));
    } catch (err) {
      this.unsaved = wasUnsaved;
      throw err;
    }
    if (cancelledBy !== undefined) {
      this.unsaved = wasUnsaved;
      throw this.cancelled(cancelledBy, nextTitle);
    }
  }

  /**
   * A step's end is checkpointed with the next boundary (one round trip instead of two), or
   * before anything else reaches a node (`flush`, from every remote command): so no command
   * runs while a finished step is recorded as running. A crash in between runs that step again,
   * as a crash in its last moment would.
   */
  saveLater(): void {
    this.unsaved = true;
  }

  /** Writes a checkpoint left for later (saveLater), if any; concurrent callers share one write. */
  flush(): Promise<void> {
    if (!this.unsaved) return this.flushing ?? Promise.resolve();
    const write = this.save().finally(() => {
      if (this.flushing === write) this.flushing = undefined;
    });
    this.flushing = write;
    return write;
  }

  /** Names of the steps that finished, in order (for "what was and was not done"). */
  doneSteps(): string[] {
    return Object.values(this.data.steps)
      .filter((s) => s.status === 'done')
      .map((s) => s.title);
  }

  async checkCancelled(nextTitle: string): Promise<void> {
    const by = await this.deps.redis.get(keys.cancel(this.jobId));
    if (by !== null) throw this.cancelled(by, nextTitle);
  }

  /** The stop of a job cancelled by `by` before `nextTitle`. */
  cancelled(by: string, nextTitle: string): StopRunbook {
    const done = this.doneSteps();
    return new StopRunbook(
      'cancelled',
      `Cancelled by <@${by}> before "${nextTitle}". ${done.length > 0 ? `Finished steps: ${done.join('; ')}.` : 'No step had run.'}`,
    );
  }

  /** Issues an audit write now (XADDs keep their order on the connection); auditSettled() awaits them. */
  audited(event: Parameters<EngineDeps['audit']['record']>[0]): void {
    this.pendingAudit.push(this.deps.audit.record(event));
  }

  /**
   * Resolves once every audit write issued so far has settled (the activation ends), and (through
   * Sentinel) a replica has them: the last ones (job.end, the commands after the last checkpoint) too.
   */
  async auditSettled(): Promise<void> {
    await Promise.allSettled(this.pendingAudit);
    await replicated(this.deps.redis);
  }
}
