/**
 * src/queue — the BullMQ queue of jobs and the cluster hold (one mutating job per cluster, by
 * deduplication key), the Redis connection and the key names everything else uses (keys.ts).
 */
import { randomUUID } from 'node:crypto';
import { Job, Queue, type JobJson, type JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChatState, JobData } from '../engine/job-data.ts';
import { newJobData } from '../engine/job-data.ts';
import { stepsInHash } from '../engine/job-steps.ts';
import type { JobRequest } from '../engine/runbook.ts';
import { replicated } from './connection.ts';
import { SingleFlight } from '../util/single-flight.ts';
import { PREFIX, QUEUE_NAME } from './keys.ts';
import { redisScript } from './script.ts';

export interface HolderInfo {
  jobId: string;
  verb: string;
  state: ChatState;
  user: string;
  text: string;
  /** `--at`: when the job starts changing the cluster (it holds the cluster from the time it was scheduled). */
  startsAt?: number;
}

export type EnqueueResult = { ok: true; jobId: string } | { ok: false; holder: HolderInfo };

export interface JobSummary {
  jobId: string;
  verb: string;
  cluster: string;
  user: string;
  text: string;
  state: ChatState;
  requestedAt: number;
  summary?: string;
  /** `--at`: when it starts changing the cluster. */
  startAt?: number;
}

/** The per-cluster hold: BullMQ's deduplication id, alive while the job is in any non-final state. */
const holdId = (cluster: string) => `cluster-${cluster}`;

/** KEYS[1] the hold (BullMQ's deduplication key), ARGV[1] the prefix of a job's hash → { id, name, data } or nil. */
const readHolderScript = redisScript<[string, string | null, string | null] | null>('holder', `
local id = redis.call('GET', KEYS[1])
if not id then return nil end
local job = redis.call('HMGET', ARGV[1] .. id, 'name', 'data')
return { id, job[1], job[2] }`);

/**
 * The queue side: enqueue with the cluster hold, look jobs up. The hold is
 * BullMQ's own deduplication key, set atomically with the job and removed by
 * BullMQ when the job completes or finally fails — including a failure after
 * too many crashes, when none of our code runs.
 */
export class JobQueue {
  readonly queue: Queue<JobData>;
  private readonly holders = new SingleFlight<HolderInfo | undefined>();
  private readonly lists = new SingleFlight<JobSummary[]>();

  constructor(private readonly connection: Redis) {
    this.queue = new Queue<JobData>(QUEUE_NAME, { connection, prefix: PREFIX });
    // Connection errors surface as failed calls; the event itself is only noise while Redis restarts.
    this.queue.on('error', () => undefined);
  }

  async enqueue(request: JobRequest, mutating: boolean): Promise<EnqueueResult> {
    const requestId = randomUUID();
    const job = await this.queue.add(request.verb, newJobData(requestId, request), {
      attempts: 1,
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 1000 },
      ...(mutating ? { deduplication: { id: holdId(request.cluster) } } : {}),
    });
    const jobId = String(job.id);
    // "Queued as job N" only once a replica has the job (through Sentinel): a failover right after the ack loses no job.
    await replicated(this.connection);
    if (!mutating) return { ok: true, jobId };
    const stored = await this.queue.getJob(jobId);
    if (stored?.data.requestId === requestId) return { ok: true, jobId };
    return { ok: false, holder: await this.describeHolder(jobId, stored) };
  }

  /**
   * The job holding the cluster, if any: one round trip (the hold's job id, then that job's name
   * and data, read by one script). A hold only lives while its job is not finished in BullMQ's
   * view, so the job's own state is what chat shows.
   */
  holder(cluster: string): Promise<HolderInfo | undefined> {
    // Shared by concurrent askers: a holder seen a moment late is harmless, the hold itself is taken atomically by enqueue.
    return this.holders.get(cluster, () => this.readHolder(cluster));
  }

  private async readHolder(cluster: string): Promise<HolderInfo | undefined> {
    const found = await readHolderScript(this.connection, [`${this.queue.keys.de}:${holdId(cluster)}`], [this.queue.toKey('')]);
    if (!found) return undefined;
    const [jobId, name, raw] = found;
    if (name === null || raw === null) return this.describeHolder(jobId, undefined);
    const data = JSON.parse(raw) as JobData;
    const startsAt = data.request.startAt;
    return { jobId, verb: name, state: data.state, user: data.request.user, text: data.request.text, ...(startsAt !== undefined ? { startsAt } : {}) };
  }

  private async describeHolder(jobId: string, job: Job<JobData> | undefined): Promise<HolderInfo> {
    if (!job) return { jobId, verb: 'unknown', state: 'running', user: 'unknown', text: '' };
    const startsAt = job.data.request.startAt;
    return { jobId, verb: job.name, state: await this.chatState(job), user: job.data.request.user, text: job.data.request.text, ...(startsAt !== undefined ? { startsAt } : {}) };
  }

  /** The job with its steps (stored in its hash beside BullMQ's fields: job-steps.ts), in one read, as BullMQ's getJob reads it. */
  async get(jobId: string): Promise<Job<JobData> | undefined> {
    const hash = await this.connection.hgetall(this.queue.toKey(jobId));
    if (Object.keys(hash).length === 0) return undefined;
    const job = Job.fromJSON<JobData>(this.queue, hash as unknown as JobJson, jobId);
    job.data.steps = stepsInHash(hash, job.data.steps);
    return job;
  }

  /** The state shown in chat: the job's own record, corrected by BullMQ's view of it. */
  async chatState(job: Job<JobData>): Promise<ChatState> {
    const bull: JobState | 'unknown' = await job.getState();
    if (bull === 'failed' && job.data.state !== 'failed') return 'failed';
    return job.data.state;
  }

  /** The newest `limit` jobs (of `cluster`), newest first; concurrent identical calls share one read. */
  list(limit: number, cluster?: string): Promise<JobSummary[]> {
    return this.lists.get(`${limit}\u0000${cluster ?? ''}`, () => this.readList(limit, cluster));
  }

  private async readList(limit: number, cluster?: string): Promise<JobSummary[]> {
    // The failed ones read apart: then no job needs a state lookup of its own (chatState's correction).
    const n = Math.max(limit * 4, 50);
    const [live, failed] = await Promise.all([this.queue.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'completed'], 0, n), this.queue.getJobs(['failed'], 0, n)]);
    const failedIds = new Set(failed.map((j) => j?.id));
    const out: JobSummary[] = [];
    for (const job of [...live, ...failed].toSorted((a, b) => b.timestamp - a.timestamp)) {
      if (!job?.data?.request) continue;
      if (cluster && job.data.request.cluster !== cluster) continue;
      out.push({
        jobId: String(job.id),
        verb: job.name,
        cluster: job.data.request.cluster,
        user: job.data.request.user,
        text: job.data.request.text,
        state: failedIds.has(job.id) && job.data.state !== 'failed' ? 'failed' : job.data.state,
        requestedAt: job.data.request.requestedAt,
        summary: job.data.summary,
        ...(job.data.request.startAt !== undefined ? { startAt: job.data.request.startAt } : {}),
      });
      if (out.length >= limit) break;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
