import { DelayedError, type Job } from 'bullmq';
import { ReplayMismatchError, StopRunbook } from './errors.ts';
import { LockLostError } from './job-lock.ts';

/** Errors that are the engine's control flow (a lost lock too), never a step failure to offer a choice about. */
export function isControlFlow(err: unknown): boolean {
  return err instanceof DelayedError || err instanceof StopRunbook || err instanceof ReplayMismatchError || err instanceof LockLostError;
}

/** The error as chat may show it: the one boundary (src/errors/boundary.ts). */
export { errorText } from '../errors/boundary.ts';

/** Wakes a parked job; -3 (not delayed any more: someone else promoted it first) is fine. */
export async function promoteQuietly(job: Job): Promise<void> {
  try {
    await job.promote();
  } catch (err) {
    if ((err as { code?: number }).code !== -3) throw err;
  }
}
