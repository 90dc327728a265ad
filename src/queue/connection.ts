import { Redis, type RedisOptions } from 'ioredis';

/**
 * ioredis connections for BullMQ. Workers and blocking clients need
 * maxRetriesPerRequest: null (BullMQ refuses others); plain clients fail fast.
 */
export function createRedis(url: string, options: { blocking?: boolean } = {}): Redis {
  const opts: RedisOptions = {
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableReadyCheck: true,
    // Reconnect with a capped backoff; Redis restarts must not kill the bot.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
  return new Redis(url, opts);
}
