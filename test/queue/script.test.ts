/**
 * src/queue/script.ts on a real Redis: a script goes by its SHA1 once the server knows it, and
 * still runs when the server has forgotten it (SCRIPT FLUSH here; a restart or a promoted
 * replica in production) — ioredis sends the body once more on NOSCRIPT.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/queue/connection.ts';
import { redisScript } from '../../src/queue/script.ts';
import { useRedis } from '../support/redis.ts';

/** How many times the server ran a command (INFO commandstats), 0 when never. */
async function calls(redis: Redis, command: 'eval' | 'evalsha'): Promise<number> {
  const info = await redis.info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

describe('redisScript', () => {
  const server = useRedis();
  let redis: Redis;
  const incrBy = redisScript<number>('test_incr_by', `return redis.call('INCRBY', KEYS[1], ARGV[1])`);

  beforeAll(() => {
    redis = createRedis(server.url);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('runs the script with its keys and arguments, by SHA1 after the first call', async () => {
    await redis.config('RESETSTAT');
    expect(await incrBy(redis, ['script-test:a'], ['2'])).toBe(2);
    for (let i = 0; i < 9; i++) await incrBy(redis, ['script-test:a'], ['1']);
    expect(await redis.get('script-test:a')).toBe('11');
    // The body went over the wire at most once (the first call's NOSCRIPT fallback); the rest by SHA1.
    expect(await calls(redis, 'eval')).toBeLessThanOrEqual(1);
    expect(await calls(redis, 'evalsha')).toBeGreaterThanOrEqual(9);
  });

  it('runs again after the server forgot every script', async () => {
    await incrBy(redis, ['script-test:b'], ['1']);
    await redis.script('FLUSH');
    expect(await incrBy(redis, ['script-test:b'], ['5'])).toBe(6);
  });

  it('works on each connection it is given', async () => {
    const other = createRedis(server.url);
    try {
      expect(await incrBy(other, ['script-test:c'], ['3'])).toBe(3);
      expect(await incrBy(redis, ['script-test:c'], ['4'])).toBe(7);
    } finally {
      await other.quit();
    }
  });
});
