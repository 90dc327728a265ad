/** The Sentinel settings of the environment contract (src/config/env.ts) and what becomes of them (src/queue/connection.ts, src/logging.ts). */
import { describe, expect, it } from 'vitest';
import { ENV_NAMES, parseEnv } from '../../src/config/env.ts';
import { secretValues } from '../../src/logging.ts';
import { redisTarget } from '../../src/queue/connection.ts';

const refusal = (source: Record<string, string>): string => {
  try {
    parseEnv(source);
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('environment: Redis Sentinel', () => {
  it('is off by default: REDIS_URL alone', () => {
    const env = parseEnv({});
    expect(env.REDIS_SENTINELS).toBeUndefined();
    expect(env.REDIS_SENTINEL_NAME).toBe('mymaster');
    expect(redisTarget(env)).toEqual({ url: 'redis://127.0.0.1:6379' });
    expect(ENV_NAMES).toEqual(expect.arrayContaining(['REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD']));
  });

  it('reads the sentinels (hostnames, IPv4, [IPv6]), the group name and the password', () => {
    const env = parseEnv({
      REDIS_SENTINELS: 'sentinel-1.redis.svc:26379, 10.0.0.7:26380,[fd00::1]:26379',
      REDIS_SENTINEL_NAME: 'mk8s',
      REDIS_SENTINEL_PASSWORD: 's3ntinel-secret',
      REDIS_URL: 'redis://:data-secret@unused:6379/2',
    });
    expect(redisTarget(env)).toEqual({
      url: 'redis://:data-secret@unused:6379/2',
      sentinels: [
        { host: 'sentinel-1.redis.svc', port: 26379 },
        { host: '10.0.0.7', port: 26380 },
        { host: 'fd00::1', port: 26379 },
      ],
      sentinelName: 'mk8s',
      sentinelPassword: 's3ntinel-secret',
    });
  });

  it.each([
    [{ REDIS_SENTINELS: ' , ' }, /REDIS_SENTINELS: is empty; expected a comma-separated list of host:port/],
    [{ REDIS_SENTINELS: 'a:26379,redis://:pw-in-a-url@b:26379' }, /REDIS_SENTINELS: entry 2 of 2 is not host:port; expected .*no scheme or password/],
    [{ REDIS_SENTINELS: 'a:26379,b' }, /entry 2 of 2 is not host:port/],
    [{ REDIS_SENTINELS: 'a:70000' }, /entry 1 of 1 has port 70000, outside 1–65535/],
    [{ REDIS_SENTINELS: 'a:1,a:1' }, /entry 2 of 2 repeats an earlier entry/],
    [{ REDIS_SENTINELS: Array.from({ length: 33 }, (_, i) => `s${i}:26379`).join(',') }, /lists 33 sentinels; at most 32 are allowed/],
    [{ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'my master' }, /REDIS_SENTINEL_NAME: expected the master group name/],
    [{ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_PASSWORD: '' }, /REDIS_SENTINEL_PASSWORD: is empty; leave it unset/],
    [{ REDIS_SENTINEL_PASSWORD: 'orphan-secret' }, /REDIS_SENTINEL_PASSWORD: is set but REDIS_SENTINELS is not/],
    [{ REDIS_SENTINELS: 'a:26379', REDIS_URL: 'rediss://:pw@host:6380' }, /REDIS_URL: rediss:\/\/ \(TLS\) is not supported together with REDIS_SENTINELS/],
    [{ REDIS_SENTINELS: 'a:26379', REDIS_URL: 'redis://:pw@host:6379/db-two' }, /REDIS_URL: with REDIS_SENTINELS, expected redis:\/\/\[user:password@\]host\[:port\]\[\/db\]/],
  ])('refuses %j, saying what is wrong and what is allowed, without echoing a value', (source, expected) => {
    const message = refusal(source);
    expect(message).toMatch(expected);
    for (const value of Object.values(source)) if (value.length > 2 && !/^[a-z]:\d+$/.test(value)) expect(message).not.toContain(value);
    expect(message).not.toContain('pw-in-a-url');
  });

  it('puts both Redis passwords (raw and percent-decoded) on the log scrub list', () => {
    const secrets = secretValues({ REDIS_URL: 'redis://user:p%40ss-word-9@host:6379', REDIS_SENTINEL_PASSWORD: 'sentinel-pw-77', REDIS_SENTINELS: 'a:1' });
    expect(secrets).toEqual(expect.arrayContaining(['p%40ss-word-9', 'p@ss-word-9', 'sentinel-pw-77']));
  });
});
