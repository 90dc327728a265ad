/**
 * Where a job's step records live: one field each in the job's own BullMQ hash (`mk8s:step:s12`),
 * beside BullMQ's `data` field, which holds the rest of the job's data with `steps` left empty.
 * A checkpoint writes only the steps that changed since the last one (and `data` only if it
 * changed): written whole at every step, a long rollout's data would be rewritten hundreds of
 * times, so its bytes to Redis (and to the AOF and the replicas) grew with the square of its
 * steps. In the job's hash they are removed with the job; BullMQ reads only its own fields.
 */
import type { Redis } from 'ioredis';
import { keys } from '../queue/keys.ts';
import type { JobData, StepRecord } from './job-data.ts';

export const STEP_FIELD_PREFIX = 'mk8s:step:';

/** What one checkpoint sends: `data` undefined when it did not change. */
export interface CheckpointWrite {
  data?: string;
  /** Step fields to set, as field, value, field, value… */
  set: string[];
  /** Step fields to delete (a step no longer recorded). */
  del: string[];
}

/** The step records stored in the job's hash fields (a job checkpointed before they moved out of `data` has them there). */
export async function readJobSteps(redis: Redis, jobId: string): Promise<JobData['steps']> {
  return stepsInHash(await redis.hgetall(keys.bullJob(jobId)));
}

/** The step records among a job hash's fields (HGETALL of it), over `inData` (those still inside `data`), in run order. */
export function stepsInHash(hash: Record<string, string>, inData: JobData['steps'] = {}): JobData['steps'] {
  const found: JobData['steps'] = { ...inData };
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith(STEP_FIELD_PREFIX)) found[field.slice(STEP_FIELD_PREFIX.length)] = JSON.parse(value) as StepRecord;
  }
  return inRunOrder(found);
}

/**
 * The steps in the order they ran (readers list them in it; a hash keeps no order). Keys are
 * `s<n>` from one sequence per run (run-core.ts nextKey), so n is the order.
 */
export function inRunOrder(steps: JobData['steps']): JobData['steps'] {
  return Object.fromEntries(Object.entries(steps).toSorted(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1))));
}

/** The number of steps a job recorded, from its data as BullMQ reads it. */
export function stepCount(data: JobData): number {
  return data.stepCount ?? Object.keys(data.steps).length;
}

/**
 * The difference between the data as last written and as it is now. `prepare` says what to
 * send; `written` records it as stored once the write succeeded (a failed or refused write
 * is sent again next time). Both take the connection's epoch (connection.ts): after a
 * reconnect — a new master may lack the last writes of the old one — everything is sent again.
 */
export class CheckpointDiff {
  private storedData: string | undefined;
  private readonly storedSteps = new Map<string, string>();
  private epoch: number | undefined;

  prepare(data: JobData, epoch: number): CheckpointWrite {
    this.on(epoch);
    const set: string[] = [];
    const del: string[] = [];
    for (const [key, step] of Object.entries(data.steps)) {
      const value = JSON.stringify(step);
      if (this.storedSteps.get(key) !== value) set.push(STEP_FIELD_PREFIX + key, value);
    }
    for (const key of this.storedSteps.keys()) if (!(key in data.steps)) del.push(STEP_FIELD_PREFIX + key);
    const rest = JSON.stringify({ ...data, steps: {}, stepCount: Object.keys(data.steps).length });
    return { ...(rest !== this.storedData ? { data: rest } : {}), set, del };
  }

  /** Steps read from the store (an activation's start): not sent again unless they change. */
  stored(steps: JobData['steps'], epoch: number): void {
    this.on(epoch);
    for (const [key, step] of Object.entries(steps)) this.storedSteps.set(key, JSON.stringify(step));
  }

  written(write: CheckpointWrite, epoch: number): void {
    this.on(epoch);
    if (write.data !== undefined) this.storedData = write.data;
    for (let i = 0; i < write.set.length; i += 2) this.storedSteps.set((write.set[i] as string).slice(STEP_FIELD_PREFIX.length), write.set[i + 1] as string);
    for (const field of write.del) this.storedSteps.delete(field.slice(STEP_FIELD_PREFIX.length));
  }

  /** What is known stored holds only on the connection it was written on: on another, nothing is. */
  private on(epoch: number): void {
    if (epoch === this.epoch) return;
    this.epoch = epoch;
    this.storedData = undefined;
    this.storedSteps.clear();
  }
}
