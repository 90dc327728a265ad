import type { Redis } from 'ioredis';
import { keys } from '../queue/keys.ts';
import { redisScript } from '../queue/script.ts';

/** `first`: the first refusal of this window (the one worth an audit entry; a flood writes one). */
export type RateDecision = { ok: true } | { ok: false; limit: number; retryInSeconds: number; first: boolean };

/**
 * One counter per user and minute, in Redis (INCR, expiring with the minute), so the limit
 * holds across bot processes; the first use of a window sets its expiry.
 */
const take = redisScript<[number, number]>('rate_take', `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { n, redis.call('PTTL', KEYS[1]) }`);

const WINDOW_MS = 60_000;

/**
 * Per-user command rate limit (MK8S_USER_COMMANDS_PER_MINUTE; 0 turns it off): a flood of
 * commands from one user (a script gone wrong, a stolen session) is refused before anything
 * is parsed, looked up or run, and never slows anyone else down.
 */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  async take(user: string): Promise<RateDecision> {
    if (this.perMinute <= 0) return { ok: true };
    const window = Math.floor(this.now() / WINDOW_MS);
    const [count, ttl] = await take(this.redis, [keys.rateLimit(user, window)], [String(WINDOW_MS)]);
    if (count <= this.perMinute) return { ok: true };
    return { ok: false, limit: this.perMinute, retryInSeconds: Math.max(1, Math.ceil((ttl > 0 ? ttl : WINDOW_MS) / 1000)), first: count === this.perMinute + 1 };
  }
}
