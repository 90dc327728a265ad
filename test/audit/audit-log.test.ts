/** src/audit/audit-log.ts on a real Redis: events in order, filtered by cluster, and a Redis outage that never stops a runbook. */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.ts';
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

  it('a Redis outage loses nothing from the log and does not throw', async () => {
    const down = createRedis('redis://127.0.0.1:1');
    down.on('error', () => undefined);
    const audit = new AuditLog(down, logger);
    await expect(audit.record({ type: 'cancel', cluster: 'prod', jobId: '3', user: 'U0ALICE' })).resolves.toBeUndefined();
    expect(lines.some((l) => l.includes('audit event not written to Redis'))).toBe(true);
    down.disconnect();
  }, 30_000);
});
