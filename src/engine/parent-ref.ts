import type { MessageRef } from '../chat/port.ts';
import type { Redis } from 'ioredis';
import { keys } from '../queue/keys.ts';
import type { JobData } from './job-data.ts';
import { parentMessage } from './messages.ts';
import type { Outbox } from './outbox.ts';

/** How long a worker waits for the bot to post the parent message before posting it itself. */
const PARENT_WAIT_MS = 5_000;
/** How often it looks meanwhile (off the job's critical path: the steps run, their lines wait in the outbox). */
const PARENT_POLL_MS = 50;

/**
 * The parent message the bot posted at enqueue time; posted here, through the job's outbox, if
 * the bot never did. Undefined when it could not be posted (the outbox logged why).
 */
export async function findOrPostParent(deps: { redis: Redis }, outbox: Outbox, jobId: string, data: JobData): Promise<MessageRef | undefined> {
  const { redis } = deps;
  const deadline = Date.now() + PARENT_WAIT_MS;
  for (;;) {
    const raw = await redis.get(keys.parent(jobId));
    if (raw) return JSON.parse(raw) as MessageRef;
    const claimed = await redis.set(keys.parentClaim(jobId), 'worker', 'EX', 86_400, 'NX');
    if (claimed === 'OK' || Date.now() > deadline) {
      const ref = await outbox.post(data.request.channel, parentMessage(jobId, data), undefined, { solo: true }).posted();
      if (ref) await redis.set(keys.parent(jobId), JSON.stringify(ref), 'EX', 30 * 86_400);
      return ref;
    }
    await new Promise((r) => setTimeout(r, PARENT_POLL_MS));
  }
}
