import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { parseInventory } from '../../src/config/inventory.ts';
import type { ChatMessage, MessageRef } from '../../src/chat/port.ts';
import type { Runbook } from '../../src/engine/define.ts';
import { defineRunbook } from '../../src/engine/define.ts';
import type { JobData } from '../../src/engine/job-data.ts';
import { createEngineWorker } from '../../src/engine/worker.ts';
import { createRedis } from '../../src/queue/connection.ts';
import { JobQueue } from '../../src/queue/job-queue.ts';
import { keys } from '../../src/queue/keys.ts';
import { RecordingChat } from '../support/recording-chat.ts';
import { useRedis } from '../support/redis.ts';

const inventory = parseInventory(
  `
clusters:
  a:
    channel: C0AAAAAAAAA
    ssh: { user: ubuntu, privateKeyPath: /nonexistent, knownHostsPath: /nonexistent }
    nodes: [{ name: n1, host: 127.0.0.1, role: control-plane }]
    policy: { approvalTtl: 2s }
  b:
    channel: C0BBBBBBBBB
    ssh: { user: ubuntu, privateKeyPath: /nonexistent, knownHostsPath: /nonexistent }
    nodes: [{ name: n1, host: 127.0.0.1, role: control-plane }]
  c:
    channel: C0CCCCCCCCC
    auditChannel: C0AUDIT0001
    ssh: { user: ubuntu, privateKeyPath: /nonexistent, knownHostsPath: /nonexistent }
    nodes: [{ name: n1, host: 127.0.0.1, role: control-plane }]
rbac: { operators: [alice], approvers: [bob] }
`,
  'engine-test.yml',
);

/** Counts how often each step body really ran, and lets a test hold a step open. */
const runs = new Map<string, number>();
const gates = new Map<string, { release: () => void; promise: Promise<void> }>();
function hold(name: string): void {
  let release = () => undefined as void;
  const promise = new Promise<void>((r) => (release = r));
  gates.set(name, { release, promise });
}
function count(name: string): void {
  runs.set(name, (runs.get(name) ?? 0) + 1);
}

const testRunbook: Runbook = defineRunbook(
  {
    verb: 'demo',
    usage: 'demo <tag>',
    example: 'demo x',
    summary: 'engine test runbook',
    positional: ['tag'],
    args: z.object({ tag: z.string(), approve: z.boolean().optional(), holdStep: z.boolean().optional() }),
    mutating: true,
    plan: () => [{ title: 'one', commands: [] }],
  },
  async (run, { tag, approve, holdStep }) => {
    await run.step('first', async () => {
      count(`${tag}:first`);
      return 1;
    });
    if (approve) await run.approval({ title: `go ahead ${tag}`, what: 'continue the test' });
    await run.step('second', async () => {
      count(`${tag}:second`);
      // Only the first run waits: after a crash the re-run goes straight through.
      if (holdStep && runs.get(`${tag}:second`) === 1) await (gates.get(tag)?.promise ?? Promise.resolve());
      return 'two';
    });
    await run.step('third', async () => {
      count(`${tag}:third`);
    });
  },
  {
    describeState: async (_run, { tag }) => {
      count(`${tag}:describe`);
      return 'as it was';
    },
  },
);

/** A chat whose posts to one channel fail (Slack down for the audit channel, say). */
class FailingChannelChat extends RecordingChat {
  constructor(private readonly failing: string) {
    super();
  }
  override async post(channel: string, message: ChatMessage, threadTs?: string): Promise<MessageRef> {
    if (channel === this.failing) throw new Error(`An API error occurred: channel_not_found (${channel})`);
    return super.post(channel, message, threadTs);
  }
}

/** A step that fails once; the runbook asks whether to retry it (a choice gate). */
const flakyRunbook: Runbook = defineRunbook(
  {
    verb: 'flaky',
    usage: 'flaky <tag>',
    example: 'flaky x',
    summary: 'engine test runbook with a retry choice',
    positional: ['tag'],
    args: z.object({ tag: z.string() }),
    mutating: true,
    plan: () => [],
  },
  async (run, { tag }) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await run.step(`flaky attempt ${attempt}`, async () => {
          count(`${tag}:attempt${attempt}`);
          if (attempt === 1) throw new Error('boom');
          return attempt;
        });
        break;
      } catch (err) {
        const choice = await run.choice({
          title: `attempt ${attempt} failed`,
          what: 'retry or stop?',
          options: [{ id: 'retry', label: 'Retry the step' }, { id: 'stop', label: 'Stop' }],
          onExpiry: 'stop',
        });
        if (choice === 'stop') throw err;
      }
    }
    await run.step('after the retry', async () => {
      count(`${tag}:after`);
    });
  },
);

/** Forty short steps (a long rollout's checkpoints), each returning a result of some size. */
const MANY_STEPS = 40;
const manyRunbook: Runbook = defineRunbook(
  {
    verb: 'many',
    usage: 'many <tag>',
    example: 'many x',
    summary: 'engine test runbook with many steps',
    positional: ['tag'],
    args: z.object({ tag: z.string() }),
    mutating: true,
    plan: () => [],
  },
  async (run) => {
    for (let i = 1; i <= MANY_STEPS; i++) await run.step(`step number ${i} of the long rollout`, async () => ({ node: `node-${i}`, note: 'x'.repeat(80) }));
  },
);

describe('engine: durable steps, approvals, cancel, cluster hold', () => {
  const redisServer = useRedis();
  let redis: Redis;
  let queue: JobQueue;
  let chat: RecordingChat;
  let audit: AuditLog;
  const workers: Worker<JobData>[] = [];
  const logger = pino({ level: 'silent' });

  const startWorker = (lockMs = 1_000, maxStalledCount = 5) => {
    const worker = createEngineWorker(
      {
        redis, chat, audit, logger, backupDir: '/tmp', inventory, runbooks: new Map([['demo', testRunbook], ['flaky', flakyRunbook], ['many', manyRunbook]]),
        connection: createRedis(redisServer.url, { blocking: true }),
      },
      { lockDurationMs: lockMs, stalledIntervalMs: 300, maxStalledCount },
    );
    workers.push(worker);
    return worker;
  };

  const request = (cluster: string, tag: string, extra: Record<string, boolean> = {}) => ({
    verb: 'demo', cluster, args: { tag, ...extra }, text: `demo ${tag}`, user: 'alice', channel: `C0${cluster.toUpperCase().repeat(9)}`, requestedAt: Date.now(),
  });

  const stateOf = async (jobId: string) => (await queue.get(jobId))?.data.state;
  const waitState = async (jobId: string, state: string, timeoutMs = 20_000) => {
    const until = Date.now() + timeoutMs;
    while ((await stateOf(jobId)) !== state) {
      if (Date.now() > until) throw new Error(`job ${jobId} stayed ${await stateOf(jobId)}, wanted ${state}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  beforeAll(() => {
    redis = createRedis(redisServer.url);
    queue = new JobQueue(createRedis(redisServer.url, { blocking: true }));
    audit = new AuditLog(redis, logger);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close(true)));
    await queue.queue.obliterate({ force: true });
    await redis.flushall();
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
  });

  it('runs every step once and reports success in the parent message', async () => {
    chat = new RecordingChat();
    startWorker();
    const queued = await queue.enqueue(request('a', 'ok'), true);
    expect(queued.ok).toBe(true);
    const jobId = queued.ok ? queued.jobId : '';
    await waitState(jobId, 'succeeded');
    expect([runs.get('ok:first'), runs.get('ok:second'), runs.get('ok:third')]).toEqual([1, 1, 1]);
    // The job's data says it ended before its parent message does (the update is queued last):
    // wait for the message itself.
    const parent = await chat.waitFor(() => chat.parents().find((m) => m.message.text.startsWith(`job ${jobId} `) && m.message.text.includes('succeeded')));
    expect(chat.parents()).toHaveLength(1);
    const steps = chat.thread(parent.ts).map((m) => m.message.text);
    expect(steps.some((t) => t.startsWith('✅ first'))).toBe(true);
    expect(steps.some((t) => t.startsWith('✅ third'))).toBe(true);
  });

  it('a failing audit-channel post changes nothing: still succeeded, no state read, the hold released after it', async () => {
    chat = new FailingChannelChat('C0AUDIT0001');
    startWorker();
    const queued = await queue.enqueue(request('c', 'au'), true);
    const jobId = queued.ok ? queued.jobId : '';
    const parent = await chat.waitFor(() => chat.parents().find((m) => m.message.text === `job ${jobId} · demo on c · succeeded`));
    expect(await stateOf(jobId)).toBe('succeeded');
    await expect.poll(async () => (await queue.get(jobId))?.getState()).toBe('completed');
    expect(await queue.holder('c')).toBeUndefined();
    expect(runs.get('au:describe')).toBeUndefined();
    expect(chat.thread(parent.ts).map((m) => m.message.text).join('\n')).not.toMatch(/failed|channel_not_found/);
  });

  it('holds the cluster: a second mutating job is refused naming the first; another cluster is free', async () => {
    chat = new RecordingChat();
    const first = await queue.enqueue(request('a', 'h1', { approve: true }), true);
    const second = await queue.enqueue(request('a', 'h2'), true);
    const other = await queue.enqueue(request('b', 'h3'), true);
    expect(first.ok).toBe(true);
    expect(other.ok).toBe(true);
    expect(second.ok).toBe(false);
    if (!second.ok && first.ok) {
      expect(second.holder.jobId).toBe(first.jobId);
      expect(second.holder.verb).toBe('demo');
    }
  });

  it('parks at an approval without a worker slot and resumes on the decision, replaying finished steps', async () => {
    chat = new RecordingChat();
    startWorker();
    const queued = await queue.enqueue(request('a', 'ap', { approve: true }), true);
    const jobId = queued.ok ? queued.jobId : '';
    await waitState(jobId, 'awaiting approval');
    const job = await queue.get(jobId);
    await expect.poll(async () => (await queue.get(jobId))?.getState()).toBe('delayed');
    expect(job?.data.gates.g2?.title).toBe('go ahead ap');
    // The hold survives the pause.
    expect((await queue.enqueue(request('a', 'other'), true)).ok).toBe(false);
    // What a click does: first decision wins in its own key, then wake the job.
    await redis.set(keys.decision(jobId, 'g2'), JSON.stringify({ decision: 'approved', by: 'bob', at: Date.now() }), 'NX');
    await (await queue.get(jobId))!.promote();
    await waitState(jobId, 'succeeded');
    expect(runs.get('ap:first')).toBe(1);
    expect(runs.get('ap:third')).toBe(1);
    // The hold ended with the job.
    // The job's data says it ended first; the hold goes after its final messages.
    await expect.poll(() => queue.holder('a')).toBeUndefined();
  });

  it("checkpoints only what changed: each step is a field of the job's hash, so no write grows with the steps before it", async () => {
    chat = new RecordingChat();
    // Every job-data write the worker sends (the write_if_held script: its argv after the lock token).
    const writes: string[][] = [];
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = (command, stream) => {
      const args = command.args.map(String);
      if (command.name === 'evalsha' && args[2]?.endsWith(':lock')) writes.push(args.slice(3 + Number(args[1])));
      return send(command, stream);
    };
    try {
      startWorker();
      const queued = await queue.enqueue({ ...request('a', 'many'), verb: 'many' }, true);
      const jobId = queued.ok ? queued.jobId : '';
      await waitState(jobId, 'succeeded');
      const job = (await queue.get(jobId))!;
      expect(Object.values(job.data.steps).map((st) => st.title)).toEqual(Array.from({ length: MANY_STEPS }, (_, i) => `step number ${i + 1} of the long rollout`));
      // As stored: `data` holds no step, each step its own field.
      const hash = await redis.hgetall(keys.bullJob(jobId));
      expect((JSON.parse(hash.data ?? '{}') as JobData).steps).toEqual({});
      expect(Object.keys(hash).filter((f) => f.startsWith('mk8s:step:'))).toHaveLength(MANY_STEPS);
      // One write per boundary, none carrying more than the steps it changed (at most two: the last's end, the next's start).
      expect(writes.length).toBeGreaterThanOrEqual(MANY_STEPS);
      const largest = Math.max(...writes.map((w) => w.join('').length));
      expect(largest).toBeLessThan(2_000);
      const last = writes.at(-1)!.join('');
      expect(last).not.toContain('step number 1 of');
    } finally {
      redis.sendCommand = send;
    }
  });

  it('resumes a job checkpointed with its steps inside its data (an older version): finished steps are not run again', async () => {
    chat = new RecordingChat();
    startWorker();
    const queued = await queue.enqueue(request('a', 'old', { approve: true }), true);
    const jobId = queued.ok ? queued.jobId : '';
    await waitState(jobId, 'awaiting approval');
    await expect.poll(async () => (await queue.get(jobId))?.getState()).toBe('delayed');
    // Rewritten as the older layout had it: the step records in `data`, no step fields.
    const key = keys.bullJob(jobId);
    const parked = (await queue.get(jobId))!;
    expect(Object.values(parked.data.steps).map((st) => st.title)).toEqual(['first']);
    const fields = Object.keys(await redis.hgetall(key)).filter((f) => f.startsWith('mk8s:step:'));
    expect(fields).toEqual(['mk8s:step:s1']);
    await redis.hdel(key, ...fields);
    const old: Partial<JobData> = { ...parked.data };
    delete old.stepCount;
    await redis.hset(key, 'data', JSON.stringify(old));
    await redis.set(keys.decision(jobId, 'g2'), JSON.stringify({ decision: 'approved', by: 'bob', at: Date.now() }), 'NX');
    await (await queue.get(jobId))!.promote();
    await waitState(jobId, 'succeeded');
    expect([runs.get('old:first'), runs.get('old:second'), runs.get('old:third')]).toEqual([1, 1, 1]);
    // Stored the new way from then on, none lost.
    const done = (await queue.get(jobId))!;
    expect(Object.values(done.data.steps).map((st) => `${st.title} ${st.status}`)).toEqual(['first done', 'second done', 'third done']);
    expect(Object.keys(await redis.hgetall(key)).filter((f) => f.startsWith('mk8s:step:'))).toHaveLength(3);
  });

  it('expires an approval nobody answers and runs nothing after it', async () => {
    chat = new RecordingChat();
    startWorker();
    const queued = await queue.enqueue(request('a', 'ex', { approve: true }), true);
    const jobId = queued.ok ? queued.jobId : '';
    await waitState(jobId, 'expired', 15_000);
    expect(runs.get('ex:second')).toBeUndefined();
    // The final message is posted after the job's data says it ended: wait for it.
    const parent = chat.parents()[0]!;
    const final = await chat.waitFor(() => chat.thread(parent.ts).find((m) => m.message.text.includes('expired with no decision')));
    expect(final.message.text).toContain('"go ahead ex" expired with no decision');
    // The job's data says it ended first; the hold goes after its final messages.
    await expect.poll(() => queue.holder('a')).toBeUndefined();
  });

  it('stops a cancelled job at the next step boundary, never mid-step', async () => {
    chat = new RecordingChat();
    startWorker();
    hold('cx');
    const queued = await queue.enqueue(request('a', 'cx', { holdStep: true }), true);
    const jobId = queued.ok ? queued.jobId : '';
    await expect.poll(() => runs.get('cx:second'), { timeout: 10_000 }).toBe(1);
    await redis.set(keys.cancel(jobId), 'alice');
    gates.get('cx')!.release();
    await waitState(jobId, 'cancelled');
    expect(runs.get('cx:second')).toBe(1); // the step in flight finished
    expect(runs.get('cx:third')).toBeUndefined(); // the next one never started
  });

  it('offers a choice after a failed step; Retry runs it again and the failure is not re-run on replay', async () => {
    chat = new RecordingChat();
    startWorker();
    const queued = await queue.enqueue({ ...request('a', 'fl'), verb: 'flaky' }, true);
    const jobId = queued.ok ? queued.jobId : '';
    await waitState(jobId, 'awaiting approval');
    // "awaiting approval" is written with the gate, before its message is posted and the job
    // parked: wait for both (reading at once is the race that made this test flaky under load).
    await expect.poll(async () => (await queue.get(jobId))?.getState(), { timeout: 10_000 }).toBe('delayed');
    const gate = (await queue.get(jobId))!.data.gates.g2!;
    expect(gate.msgTs).toBeDefined();
    expect(gate.nonce).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(gate.kind).toBe('choice');
    expect(gate.options?.map((o) => o.id)).toEqual(['retry', 'stop']);
    const buttons = chat.messages.find((m) => m.ts === gate.msgTs)?.message.buttons ?? [];
    expect(buttons.map((b) => [b.label, b.value])).toEqual([
      ['Retry the step', `${jobId}:g2:${gate.nonce}:retry`],
      ['Stop', `${jobId}:g2:${gate.nonce}:stop`],
    ]);
    await redis.set(keys.decision(jobId, 'g2'), JSON.stringify({ decision: 'chosen', choice: 'retry', by: 'bob', at: Date.now() }), 'NX');
    await (await queue.get(jobId))!.promote();
    await waitState(jobId, 'succeeded');
    expect(runs.get('fl:attempt1')).toBe(1); // replayed from its record, not run again
    expect(runs.get('fl:attempt2')).toBe(1);
    expect(runs.get('fl:after')).toBe(1);
  });

  it('resumes after a worker crash: finished steps are not run again, the step in flight is', async () => {
    chat = new RecordingChat();
    const crashing = startWorker(800);
    hold('cr');
    const queued = await queue.enqueue(request('a', 'cr', { holdStep: true }), true);
    const jobId = queued.ok ? queued.jobId : '';
    await expect.poll(() => runs.get('cr:second'), { timeout: 10_000 }).toBe(1);
    // A crash: the worker stops renewing its lock and never finishes the step
    // (its gate is never released, so that processor stays stuck like a dead one).
    await crashing.close(true);
    startWorker(800);
    await waitState(jobId, 'succeeded', 30_000);
    expect(runs.get('cr:first')).toBe(1);
    expect(runs.get('cr:second')).toBe(2);
    expect(runs.get('cr:third')).toBe(1);
  });

  it('releases the hold and reports the failure when crashes exhaust the allowance (no runbook code runs)', async () => {
    chat = new RecordingChat();
    const crashing = startWorker(800, 0);
    hold('ex0');
    const queued = await queue.enqueue(request('a', 'ex0', { holdStep: true }), true);
    const jobId = queued.ok ? queued.jobId : '';
    await expect.poll(() => runs.get('ex0:second'), { timeout: 10_000 }).toBe(1);
    await crashing.close(true);
    startWorker(800, 0);
    await waitState(jobId, 'failed', 30_000);
    expect(runs.get('ex0:third')).toBeUndefined();
    // BullMQ drops the hold when it fails the job, around the time the state is written.
    await expect.poll(() => queue.holder('a')).toBeUndefined();
    // The job's state is written first, then the chat is told: wait for the messages.
    const parent = await chat.waitFor(() => chat.parents().find((m) => m.message.text.startsWith(`job ${jobId} `) && m.message.text.includes('failed')));
    const reason = await chat.waitFor(() => chat.thread(parent.ts).find((m) => m.message.text.includes('stalled more than allowable limit')));
    expect(reason.message.text).toContain(`job ${jobId} failed`);
  });
});
