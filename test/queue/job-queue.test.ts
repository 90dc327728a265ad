/** src/queue/job-queue.ts on a real Redis: the cluster hold, who holds it, and the chat state of a job. */
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRequest } from '../../src/engine/runbook.ts';
import { createRedis } from '../../src/queue/connection.ts';
import { JobQueue } from '../../src/queue/job-queue.ts';
import { PREFIX, QUEUE_NAME } from '../../src/queue/keys.ts';
import { useRedis } from '../support/redis.ts';

function request(verb: string, cluster: string, user = 'U0ALICE'): JobRequest {
  return { verb, cluster, args: {}, text: `${verb} k8s-1`, user, channel: 'C0PROD00001', requestedAt: Date.now() };
}

describe('JobQueue', () => {
  const redis = useRedis();
  let connection: Redis;
  let queue: JobQueue;

  beforeAll(() => {
    connection = createRedis(redis.url);
    queue = new JobQueue(connection);
  });
  afterAll(async () => {
    await queue.close();
    connection.disconnect();
  });

  it('takes the cluster hold for a mutating job and refuses the next one, naming the holder', async () => {
    const first = await queue.enqueue(request('upgrade', 'prod'), true);
    expect(first.ok).toBe(true);
    const second = await queue.enqueue(request('drain', 'prod', 'U0BOB'), true);
    expect(second).toEqual({ ok: false, holder: { jobId: first.ok ? first.jobId : '', verb: 'upgrade', state: 'queued', user: 'U0ALICE', text: 'upgrade k8s-1' } });
    expect(await queue.holder('prod')).toEqual({ jobId: first.ok ? first.jobId : '', verb: 'upgrade', state: 'queued', user: 'U0ALICE', text: 'upgrade k8s-1' });
  });

  it('holds one cluster at a time: another cluster and a read-only job are not held', async () => {
    expect((await queue.enqueue(request('upgrade', 'staging'), true)).ok).toBe(true);
    expect((await queue.enqueue(request('inspect', 'prod'), false)).ok).toBe(true);
    expect(await queue.holder('lab')).toBeUndefined();
  });

  it('lists the jobs of a cluster, newest first, with their chat state', async () => {
    const jobs = await queue.list(10, 'prod');
    expect(jobs.map((j) => j.verb)).toEqual(['inspect', 'upgrade']);
    expect(jobs.every((j) => j.cluster === 'prod' && j.state === 'queued')).toBe(true);
    const job = await queue.get(jobs[1]!.jobId);
    expect(job?.data.request.verb).toBe('upgrade');
    expect(await queue.get('999999')).toBeUndefined();
  });

  it('shows a job BullMQ failed (its processor died) as failed, and its hold is gone', async () => {
    const blocking = createRedis(redis.url, { blocking: true });
    const worker = new Worker(QUEUE_NAME, async () => {
      throw new Error('the process died mid-job');
    }, { connection: blocking, prefix: PREFIX });
    try {
      await until(async () => (await queue.list(10, 'prod')).every((j) => j.state === 'failed'));
      const jobs = await queue.list(10, 'prod');
      expect(jobs.map((j) => [j.verb, j.state])).toEqual([['inspect', 'failed'], ['upgrade', 'failed']]);
      // the job's own record never said so: chat shows BullMQ's verdict
      expect((await queue.get(jobs[1]!.jobId))?.data.state).toBe('queued');
      expect(await queue.holder('prod')).toBeUndefined();
    } finally {
      await worker.close();
      blocking.disconnect();
    }
  });
});

/** Polls fn (every 10 ms) until it resolves true; fails the test after 10 s. */
async function until(fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}
