/**
 * The bot's record of each node (src/store/node-records.ts): one Redis hash per cluster, read
 * back as written, an unreadable record taken as none; the drift a node shows against its record.
 */
import { describe, expect, it } from 'vitest';
import { keys } from '../../src/queue/keys.ts';
import { driftOf, holdInForce, readNodeRecord, readNodeRecords, writeNodeRecord, type NodeRecord } from '../../src/store/node-records.ts';
import { useRedisClient } from '../support/redis.ts';

const record: NodeRecord = { version: 'v1.23.3', revision: '2948', channel: '1.23/stable', held: true, holdUntil: '2030-01-01T00:00:00Z', byJob: '4', verb: 'hold', at: 0 };

describe('node records in Redis', () => {
  const db = useRedisClient();

  it('writes one field per node in the cluster\'s hash and reads it back, per cluster', async () => {
    await writeNodeRecord(db.redis, 'prod', 'k8s-1', record);
    await writeNodeRecord(db.redis, 'prod', 'k8s-1', { ...record, byJob: '5' }); // replaces, does not add
    await writeNodeRecord(db.redis, 'staging', 'k8s-1', { ...record, byJob: '9' });
    expect(await db.redis.hkeys(keys.nodeRecords('prod'))).toEqual(['k8s-1']);
    expect(await readNodeRecord(db.redis, 'prod', 'k8s-1')).toEqual({ ...record, byJob: '5' });
    expect((await readNodeRecord(db.redis, 'staging', 'k8s-1'))?.byJob).toBe('9');
    expect(await readNodeRecord(db.redis, 'prod', 'k8s-2')).toBeUndefined();
    expect(await readNodeRecord(db.redis, 'elsewhere', 'k8s-1')).toBeUndefined();
  });

  it('reads every record of a cluster, skipping one it cannot parse', async () => {
    await db.redis.hset(keys.nodeRecords('prod'), 'k8s-2', '{not json');
    const all = await readNodeRecords(db.redis, 'prod');
    expect([...all.keys()]).toEqual(['k8s-1']);
    expect(all.get('k8s-1')?.revision).toBe('2948');
    expect(await readNodeRecord(db.redis, 'prod', 'k8s-2')).toBeUndefined();
    expect((await readNodeRecords(db.redis, 'elsewhere')).size).toBe(0);
  });
});

describe('driftOf', () => {
  const now = Date.parse('2029-06-01T00:00:00Z');

  it('is empty without a record, or when the node is as recorded', () => {
    expect(driftOf(undefined, { ...record }, now)).toEqual([]);
    expect(driftOf(record, { version: 'v1.23.3', revision: '2948', channel: '1.23/stable', held: true, holdUntil: '2030-01-01T00:00:00Z' }, now)).toEqual([]);
  });

  it('names a changed revision, channel, and a hold that is gone while it should still be in force', () => {
    expect(driftOf(record, { version: 'v1.24.0', revision: '3272', channel: '1.24/stable', held: false }, now)).toEqual([
      'revision 2948 → 3272 (v1.24.0)',
      'channel 1.23/stable → 1.24/stable',
      'hold gone (set until 2030-01-01T00:00:00Z)',
    ]);
    expect(driftOf({ ...record, holdUntil: 'forever' }, { ...record, held: false }, now)).toEqual(['hold gone (set forever)']);
  });

  it('a timed hold that ran out ended as set: not drift', () => {
    expect(driftOf(record, { version: 'v1.23.3', revision: '2948', channel: '1.23/stable', held: false }, Date.parse('2031-01-01T00:00:00Z'))).toEqual([]);
    expect(holdInForce('2030-01-01T00:00:00Z', now)).toBe(true);
    expect(holdInForce('2030-01-01T00:00:00Z', Date.parse('2031-01-01T00:00:00Z'))).toBe(false);
    expect(holdInForce('forever', now)).toBe(true);
    expect(holdInForce(undefined, now)).toBe(true);
    expect(holdInForce('some snapd text', now)).toBe(true);
  });
});
