/**
 * The checkpoint difference (src/engine/job-steps.ts): only changed steps are sent, a deleted
 * step is removed, a refused write is sent again, and after a reconnect (the connection's epoch,
 * counted on a real Redis connection) everything is sent again, since a new master may lack what
 * the old one took.
 */
import { describe, expect, it } from 'vitest';
import type { JobData } from '../../src/engine/job-data.ts';
import { newJobData } from '../../src/engine/job-data.ts';
import { CheckpointDiff, inRunOrder } from '../../src/engine/job-steps.ts';
import { connectionEpoch, createRedis } from '../../src/queue/connection.ts';
import { useRedis } from '../support/redis.ts';

const job = (): JobData => {
  const data = newJobData('r1', { verb: 'demo', cluster: 'a', args: {}, text: 'demo', user: 'alice', channel: 'C0AAAAAAAAA', requestedAt: 1 });
  data.steps = { s1: { title: 'one', status: 'done', startedAt: 1, endedAt: 2, runs: 1 }, s2: { title: 'two', status: 'running', startedAt: 3, runs: 1 } };
  return data;
};
const fields = (set: string[]) => set.filter((_, i) => i % 2 === 0);

describe('CheckpointDiff', () => {
  it('sends only what changed since the last write on the same connection', () => {
    const diff = new CheckpointDiff();
    const data = job();
    const first = diff.prepare(data, 1);
    expect(fields(first.set)).toEqual(['mk8s:step:s1', 'mk8s:step:s2']);
    expect(JSON.parse(first.data ?? '{}')).toMatchObject({ steps: {}, stepCount: 2 });
    diff.written(first, 1);

    data.steps.s2 = { ...data.steps.s2!, status: 'done', endedAt: 4 };
    data.steps.s3 = { title: 'three', status: 'running', startedAt: 5, runs: 1 };
    const next = diff.prepare(data, 1);
    expect(fields(next.set)).toEqual(['mk8s:step:s2', 'mk8s:step:s3']);
    expect(JSON.parse(next.data ?? '{}')).toMatchObject({ stepCount: 3 });
    diff.written(next, 1);

    delete data.steps.s3;
    const undone = diff.prepare(data, 1);
    expect(undone).toEqual({ data: expect.any(String) as string, set: [], del: ['mk8s:step:s3'] });
    diff.written(undone, 1);
    expect(diff.prepare(data, 1)).toEqual({ set: [], del: [] });
  });

  it('sends a write again that was not recorded as written (failed, or refused for a cancel)', () => {
    const diff = new CheckpointDiff();
    const data = job();
    diff.prepare(data, 1);
    expect(fields(diff.prepare(data, 1).set)).toEqual(['mk8s:step:s1', 'mk8s:step:s2']);
  });

  it('sends everything again after a reconnect, and after steps were read on an older connection', () => {
    const diff = new CheckpointDiff();
    const data = job();
    diff.written(diff.prepare(data, 1), 1);
    const after = diff.prepare(data, 2);
    expect(fields(after.set)).toEqual(['mk8s:step:s1', 'mk8s:step:s2']);
    expect(after.data).toBeDefined();

    const loaded = new CheckpointDiff();
    loaded.stored(data.steps, 3);
    expect(loaded.prepare(data, 3).set).toEqual([]);
    expect(fields(loaded.prepare(data, 4).set)).toEqual(['mk8s:step:s1', 'mk8s:step:s2']);
  });

  it('puts steps back in the order they ran', () => {
    const steps = job().steps;
    const shuffled = { s12: steps.s1!, s2: steps.s2!, s10: steps.s1!, s1: steps.s1! };
    expect(Object.keys(inRunOrder(shuffled))).toEqual(['s1', 's2', 's10', 's12']);
  });
});

describe('connectionEpoch', () => {
  const server = useRedis();

  it('changes when the connection comes back', async () => {
    const redis = createRedis(server.url);
    try {
      await redis.ping();
      const before = connectionEpoch(redis);
      expect(before).toBeGreaterThan(0);
      redis.disconnect(true);
      await redis.ping();
      expect(connectionEpoch(redis)).toBe(before + 1);
    } finally {
      redis.disconnect();
    }
  });
});
