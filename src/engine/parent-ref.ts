import type { ChatPort, MessageRef } from '../chat/port.ts';
import type { Redis } from 'ioredis';
import { keys } from '../queue/keys.ts';
import type { JobData } from './job-data.ts';
import { parentMessage } from './messages.ts';

/** How long a worker waits for the bot to post the parent message before posting it itself. */
const PARENT_WAIT_MS = 5_000;

/** The parent message the bot posted at enqueue time; posted here if the bot never did. */
export async function findOrPostParent(deps: { redis: Redis; chat: ChatPort }, jobId: string, data: JobData): Promise<MessageRef> {
  const { redis } = deps;
  const deadline = Date.now() + PARENT_WAIT_MS;
  for (;;) {
    const raw = await redis.get(keys.parent(jobId));
    if (raw) return JSON.parse(raw) as MessageRef;
    const claimed = await redis.set(keys.parentClaim(jobId), 'worker', 'EX', 86_400, 'NX');
    if (claimed === 'OK' || Date.now() > deadline) {
      const ref = await deps.chat.post(data.request.channel, parentMessage(jobId, data));
      await redis.set(keys.parent(jobId), JSON.stringify(ref), 'EX', 30 * 86_400);
      return ref;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
