import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { RateLimiter } from '../../src/bot/rate-limit.ts';
import { createRedis } from '../../src/queue/connection.ts';
import { useRedis } from '../support/redis.ts';

describe('RateLimiter: per user, per minute, in Redis', () => {
  const server = useRedis();
  let one: Redis;
  let two: Redis;
  beforeAll(() => {
    one = createRedis(server.url);
    two = createRedis(server.url);
  });
  afterAll(() => {
    one.disconnect();
    two.disconnect();
  });

  it('holds across processes: two bots on one Redis share each user\'s count', async () => {
    // Two limiters on their own connections, as two bot processes have.
    // One clock for both, inside one minute (a minute boundary mid-test would start a new count).
    const clock = () => 1_800_000_030_000;
    const a = new RateLimiter(one, 3, clock);
    const b = new RateLimiter(two, 3, clock);
    const got = [await a.take('U0ALICE'), await b.take('U0ALICE'), await a.take('U0ALICE'), await b.take('U0ALICE'), await a.take('U0ALICE')];
    expect(got.map((d) => d.ok)).toEqual([true, true, true, false, false]);
    const [fourth, fifth] = [got[3], got[4]];
    expect(fourth).toMatchObject({ ok: false, limit: 3, first: true });
    expect(fifth).toMatchObject({ ok: false, first: false });
    if (fourth && !fourth.ok) expect(fourth.retryInSeconds).toBeGreaterThanOrEqual(1);
    if (fourth && !fourth.ok) expect(fourth.retryInSeconds).toBeLessThanOrEqual(60);
    // Another user has a count of their own.
    expect((await b.take('U0BOB')).ok).toBe(true);
  });

  it('0 turns it off', async () => {
    const off = new RateLimiter(one, 0);
    for (let i = 0; i < 50; i++) expect((await off.take('U0CAROL')).ok).toBe(true);
    expect(await one.keys('mk8s:rate:U0CAROL:*')).toEqual([]);
  });
});
