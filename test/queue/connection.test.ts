/**
 * src/queue/connection.ts through a real Sentinel group (a primary, a replica, one sentinel;
 * passwords on both): connecting by the environment's settings, the replica barrier
 * (replicated: WAIT) and what it does without a replica, audit writes that stay single
 * when sent twice, and an audit event the primary acknowledged but never passed on that is
 * still there once the replica has taken over. A failed AUTH logs no password.
 */
import { PassThrough } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { appendAuditEntry, AuditLog } from '../../src/audit/audit-log.ts';
import { parseEnv } from '../../src/config/env.ts';
import { createLogger } from '../../src/logging.ts';
import { createRedis, describeRedisTarget, redisTarget, replicated, type RedisTarget } from '../../src/queue/connection.ts';
import { keys } from '../../src/queue/keys.ts';
import { DATA_PASSWORD, SENTINEL_PASSWORD, startSentinelGroup, until, type SentinelGroup } from '../support/sentinel.ts';

describe('Redis connections through Sentinel', () => {
  let group: SentinelGroup;
  let target: RedisTarget;
  const open: Redis[] = [];
  const connect = (warn?: (m: string) => void): Redis => {
    const r = createRedis(target, { blocking: true, ...(warn ? { warn } : {}) });
    r.on('error', () => undefined);
    open.push(r);
    return r;
  };
  const direct = (port: number): Redis => {
    const r = group.client(port);
    r.on('error', () => undefined);
    open.push(r);
    return r;
  };
  const auditEntries = async (r: Redis, marker: string) => (await r.xrange(keys.auditStream, '-', '+')).filter(([, f]) => f[1]?.includes(marker));

  beforeAll(async () => {
    group = await startSentinelGroup({ replicas: 1, sentinels: 1 });
    target = redisTarget(parseEnv(group.env));
  }, 30_000);
  afterAll(async () => {
    for (const r of open) r.disconnect();
    await group?.stop();
  });

  it('connects to the master the sentinel names, with both passwords, and describes the target without them', async () => {
    const r = connect();
    await r.set('hello', 'world');
    expect(await direct(group.primary.port).get('hello')).toBe('world');
    const shown = describeRedisTarget(target);
    expect(shown).toContain(`127.0.0.1:${group.sentinels[0]!.port}`);
    for (const secret of [DATA_PASSWORD, SENTINEL_PASSWORD]) expect(shown).not.toContain(secret);
    expect(describeRedisTarget({ url: 'redis://:hunter2-long@redis.internal:6379/2' })).toBe('redis://redis.internal:6379/2');
  });

  it('logs a refused AUTH without the password it sent', async () => {
    const wrong = 'not-the-data-password-91d';
    const r = createRedis({ ...target, url: `redis://:${wrong}@ignored:6379` }, { blocking: true });
    open.push(r);
    const err = await new Promise<Error>((resolve) => r.once('error', resolve));
    r.disconnect();
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    // No secrets list: the redaction of the error's command arguments alone must hide it.
    createLogger('info', { destination: out }).error({ err }, 'redis error');
    await new Promise((resolve) => setImmediate(resolve));
    expect(text).toContain('WRONGPASS');
    expect(text).not.toContain(wrong);
  });

  it('replicated() returns once the replica has the write, after its link was cut and came back', async () => {
    const r = connect();
    const primary = direct(group.primary.port);
    const replica = direct(group.replicas[0]!.port);
    await primary.call('CLIENT', 'KILL', 'TYPE', 'replica');
    // The replica reconnects on its own within about a second (its replication cron); a barrier asked
    // before that finds no replica and degrades, which the degraded-replica test covers.
    const replicasOf = async () => ((await primary.call('ROLE')) as [string, number, unknown[]])[2];
    await until('the replica back on the primary', async () => (await replicasOf()).length > 0, 10_000, () => 'ROLE lists no replica');
    await r.set('barrier', 'one');
    expect(await replicated(r)).toBe(true);
    expect(await replica.get('barrier')).toBe('one');
  });

  it('gives up waiting when no replica answers, says so once, and then stops asking', async () => {
    const warnings: string[] = [];
    const r = connect((m) => warnings.push(m));
    await r.ping();
    group.replicas[0]!.pause();
    try {
      await r.set('degraded', '1');
      expect(await replicated(r)).toBe(false);
      expect(await replicated(r)).toBe(false);
    } finally {
      group.replicas[0]!.resume();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no Redis replica acknowledged a write within 1000 ms/);
    // Without Sentinel there is nothing to wait for.
    const plain = createRedis(`redis://:${DATA_PASSWORD}@127.0.0.1:${group.primary.port}`);
    plain.on('error', () => undefined);
    open.push(plain);
    expect(await replicated(plain)).toBe(true);
  });

  it('an audit write sent twice with one write id is in the stream once', async () => {
    const r = connect();
    const entry = JSON.stringify({ type: 'cancel', cluster: 'prod', jobId: 'twice', user: 'U0ALICE', at: 1 });
    expect(await appendAuditEntry(r, 'write-id-1', entry)).toBe(true);
    expect(await appendAuditEntry(r, 'write-id-1', entry)).toBe(false);
    expect(await auditEntries(r, '"jobId":"twice"')).toHaveLength(1);
  });

  it('an audit event written while no replica answers is sent again on the next connect', async () => {
    const r = connect();
    const audit = new AuditLog(r, createLogger('silent'));
    await r.ping();
    group.replicas[0]!.pause();
    try {
      await r.set('degraded-audit', '1');
      expect(await replicated(r)).toBe(false);
      await audit.record({ type: 'cancel', cluster: 'prod', jobId: 'written-while-degraded', user: 'U0BOB' });
    } finally {
      group.replicas[0]!.resume();
    }
    // What a master that lost it would look like (a switchover's old master, resynced): neither the event nor its write id.
    const primary = direct(group.primary.port);
    const [entry] = await auditEntries(primary, 'written-while-degraded');
    expect(entry).toBeDefined();
    await primary.xdel(keys.auditStream, entry![0]);
    const markers = await primary.keys(keys.auditWrite('*'));
    if (markers.length > 0) await primary.del(...markers);
    expect(await auditEntries(primary, 'written-while-degraded')).toHaveLength(0);
    r.disconnect(true);
    await expect.poll(async () => (await auditEntries(primary, 'written-while-degraded')).length, { timeout: 10_000, interval: 50 }).toBe(1);
  });

  it('sends again only the writes of the last 60 s after a reconnect: an older one would be a second copy', async () => {
    const r = connect();
    const audit = new AuditLog(r, createLogger('silent'));
    await r.ping();
    const primary = direct(group.primary.port);
    const forget = async (jobId: string) => {
      for (const [id] of await auditEntries(primary, jobId)) await primary.xdel(keys.auditStream, id);
    };
    // Only the clock is faked (and it still runs): sockets and timers stay real.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    group.replicas[0]!.pause();
    try {
      const t0 = Date.now();
      await r.set('degraded-stale', '1');
      expect(await replicated(r)).toBe(false);
      await audit.record({ type: 'cancel', cluster: 'prod', jobId: 'unconfirmed-70s-ago', user: 'U0BOB' });
      // Past the 30 s pause in asking: this write asks again, finds no replica, and stays listed.
      vi.setSystemTime(t0 + 40_000);
      await audit.record({ type: 'cancel', cluster: 'prod', jobId: 'unconfirmed-30s-ago', user: 'U0BOB' });
      expect(await replicated(r)).toBe(false);
      vi.setSystemTime(t0 + 70_000);
    } finally {
      group.replicas[0]!.resume();
    }
    try {
      // Both lost by the master, as in a switchover: the stream entries and their write ids.
      await forget('unconfirmed-70s-ago');
      await forget('unconfirmed-30s-ago');
      const markers = await primary.keys(keys.auditWrite('*'));
      if (markers.length > 0) await primary.del(...markers);
      r.disconnect(true);
      await expect.poll(async () => (await auditEntries(primary, 'unconfirmed-30s-ago')).length, { timeout: 10_000, interval: 50 }).toBe(1);
      await r.ping();
      expect(await auditEntries(primary, 'unconfirmed-70s-ago')).toHaveLength(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an audit event only the dying primary had is written again to the promoted replica, once', async () => {
    const r = connect();
    const audit = new AuditLog(r, createLogger('silent'));
    await r.ping();
    // The replica's link is cut (it reconnects within about a second): the next write reaches only the primary.
    await direct(group.primary.port).call('CLIENT', 'KILL', 'TYPE', 'replica');
    await audit.record({ type: 'cancel', cluster: 'prod', jobId: 'lost-with-the-primary', user: 'U0BOB' });
    await group.primary.kill();
    await group.waitMaster(group.replicas[0]!.port);
    const promoted = direct(group.replicas[0]!.port);
    await expect.poll(async () => (await auditEntries(promoted, 'lost-with-the-primary')).length, { timeout: 15_000, interval: 50 }).toBe(1);
    // Everything it was asked to send again has gone: still once.
    await r.ping();
    expect(await auditEntries(promoted, 'lost-with-the-primary')).toHaveLength(1);
  });
});
