/** src/audit/audit-log.ts on a real Redis: events in order, filtered by cluster, and a Redis outage that never stops a runbook. */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEntries, AuditLog } from '../../src/audit/audit-log.ts';
import { createRedis } from '../../src/queue/connection.ts';
import { useRedis } from '../support/redis.ts';

describe('AuditLog', () => {
  const redis = useRedis();
  let connection: Redis;
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });

  beforeAll(() => {
    connection = createRedis(redis.url);
  });
  afterAll(() => {
    connection.disconnect();
  });

  it('keeps events in order with their time, and filters by cluster', async () => {
    const audit = new AuditLog(connection, logger);
    await audit.record({ type: 'cancel', cluster: 'prod', jobId: '1', user: 'U0ALICE' });
    await audit.record({ type: 'cancel', cluster: 'lab', jobId: '2', user: 'U0BOB' });
    await audit.record({ type: 'job.end', cluster: 'prod', jobId: '1', verb: 'upgrade', state: 'cancelled', summary: 'Cancelled', durationMs: 5 });
    const all = await audit.recent(10);
    expect(all.map((e) => e.type)).toEqual(['cancel', 'cancel', 'job.end']);
    expect(all.every((e) => typeof e.at === 'number' && typeof e.id === 'string')).toBe(true);
    const prod = await audit.recent(10, { cluster: 'prod' });
    expect(prod.map((e) => ('jobId' in e ? e.jobId : undefined))).toEqual(['1', '1']);
    expect(await audit.recent(1)).toHaveLength(1);
    // mirrored into the structured log
    expect(lines.filter((l) => l.includes('"audit cancel"'))).toHaveLength(2);
  });

  it('pages back through more events than one read returns', async () => {
    const audit = new AuditLog(connection, logger);
    for (let i = 0; i < 620; i++) await audit.record({ type: 'cancel', cluster: 'bulk', jobId: String(i), user: 'U0ALICE' });
    const bulk = await audit.recent(600, { cluster: 'bulk' });
    expect(bulk).toHaveLength(600);
    expect(bulk.at(-1)).toMatchObject({ jobId: '619' });
  });

  it('writes the events recorded in one turn of the event loop in one round trip, in order, each once', async () => {
    const audit = new AuditLog(connection, logger);
    const scripts = async () => {
      const info = await connection.info('commandstats');
      return ['eval', 'evalsha'].reduce((n, c) => n + Number(new RegExp(`^cmdstat_${c}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0), 0);
    };
    await audit.record({ type: 'cancel', cluster: 'batch', jobId: 'warm', user: 'U0ALICE' });
    const before = await scripts();
    // A step's end, the next step's start and a command event arrive in one turn: not awaited one by one.
    const writes = Array.from({ length: 250 }, (_, i) => audit.record({ type: 'cancel', cluster: 'batch', jobId: String(i), user: 'U0ALICE' }));
    await Promise.all(writes);
    // 250 events over MAX_BATCH (200): two script calls, not 250.
    expect((await scripts()) - before).toBe(2);
    const written = await audit.recent(250, { cluster: 'batch' });
    expect(written.map((e) => ('jobId' in e ? e.jobId : ''))).toEqual(Array.from({ length: 250 }, (_, i) => String(i)));
    // Sent again (a reconnect's resend), a batch adds nothing: each event is in the stream once.
    const entries = [{ writeId: 'batch-a', entry: JSON.stringify({ type: 'cancel', cluster: 'again', jobId: 'a', user: 'U0ALICE', at: 1 }) }, { writeId: 'batch-b', entry: JSON.stringify({ type: 'cancel', cluster: 'again', jobId: 'b', user: 'U0ALICE', at: 2 }) }];
    expect(await appendAuditEntries(connection, entries)).toBe(2);
    expect(await appendAuditEntries(connection, entries)).toBe(0);
    expect((await audit.recent(10, { cluster: 'again' })).map((e) => ('jobId' in e ? e.jobId : ''))).toEqual(['a', 'b']);
  });

  it('a Redis outage loses nothing from the log and does not throw', async () => {
    const down = createRedis('redis://127.0.0.1:1');
    down.on('error', () => undefined);
    const audit = new AuditLog(down, logger);
    await expect(audit.record({ type: 'cancel', cluster: 'prod', jobId: '3', user: 'U0ALICE' })).resolves.toBeUndefined();
    expect(lines.some((l) => l.includes('audit event not written to Redis'))).toBe(true);
    down.disconnect();
  }, 30_000);
});
