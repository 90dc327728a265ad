import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { PREFIX, QUEUE_NAME } from '../queue/keys.ts';
import { refreshHomes, type HomeDeps } from './home.ts';

export interface HomeRefresher {
  /** Something the Home tab shows changed: republish soon (changes close together make one refresh). */
  poke(): void;
  close(): Promise<void>;
}

/**
 * Keeps opened Home tabs fresh: republished after a job changes state (BullMQ's
 * queue events: queued, started, parked, ended) and when the watch reports a change.
 */
export function startHomeRefresher(deps: HomeDeps, connection: Redis, logger: Logger, debounceMs = 250): HomeRefresher {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const poke = () => {
    if (timer || !deps.chat.publishHome) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = running
        .then(async () => {
          const failed = await refreshHomes(deps);
          if (failed.length > 0) logger.warn({ users: failed.length }, 'could not republish some App Home tabs');
        })
        .catch((err: unknown) => logger.warn({ err }, 'could not refresh the App Home tabs'));
    }, debounceMs);
  };
  const events = deps.chat.publishHome ? new QueueEvents(QUEUE_NAME, { connection, prefix: PREFIX }) : undefined;
  events?.on('error', () => undefined);
  for (const name of ['waiting', 'active', 'delayed', 'completed', 'failed', 'removed'] as const) events?.on(name, poke);
  return {
    poke,
    close: async () => {
      clearTimeout(timer);
      await events?.close();
      await running;
    },
  };
}
