import type { Queue } from 'bullmq';
import type { Clock } from '../schedule/clock.ts';
import { promoteQuietly } from './control-flow.ts';
import type { JobData } from './job-data.ts';

/**
 * When the bot's clock jumps (a test's fake clock; the system clock never does), the
 * parked jobs whose gate is now due — a window that opened, a scheduled start, an
 * approval that expired — are woken at once instead of at their BullMQ delay, which
 * was measured in real time. Each re-checks its gate against the clock itself.
 */
export function wakeDueOnClockChange(queue: Queue<JobData>, clock: Clock, onError: (err: unknown) => void): () => void {
  let running: Promise<void> = Promise.resolve();
  return clock.onChange(() => {
    running = running.then(async () => void (await wakeDue(queue, clock.now()))).catch(onError);
  });
}

export async function wakeDue(queue: Queue<JobData>, now: number): Promise<number> {
  let woken = 0;
  for (const job of await queue.getDelayed(0, 1000)) {
    const gates = Object.values(job.data?.gates ?? {});
    const open = gates.find((g) => !g.decision);
    if (!open || open.expiresAt > now) continue;
    await promoteQuietly(job);
    woken += 1;
  }
  return woken;
}
