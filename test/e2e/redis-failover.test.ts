/**
 * Redis high availability (issue 13): the bot (this process) and a worker process connect
 * through Sentinel (REDIS_SENTINELS, passwords on the data nodes and on the sentinels). An
 * approved `upgrade-cluster` is in the middle of its second node when the primary is
 * SIGKILLed — or, the second time, when an operator asks for a planned switchover (SENTINEL
 * FAILOVER: the old primary stays up and becomes the new one's replica, and its clients are
 * cut off); the sentinels promote the replica and the rollout goes on to the end on it:
 * nothing lost (the job, its approval, its checkpoints, every audit event exactly once),
 * nothing run twice, no password anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCommandRecord, SimNodeSpec } from '../../src/sim/index.ts';
import { words } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';
import { readJobSteps } from '../../src/engine/job-steps.ts';
import { keys } from '../../src/queue/keys.ts';
import { dumpRedis } from '../support/redis-dump.ts';
import { DATA_PASSWORD, SENTINEL_PASSWORD, startSentinelGroup, type SentinelGroup } from '../support/sentinel.ts';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';

const { alice, bob } = USERS;
const TO = '1.23/stable';
const CHANNEL = 'C0REDISHA01';
const NODES: SimNodeSpec[] = [
  { name: 'k8s-1', failureDomain: 1 },
  { name: 'k8s-2', failureDomain: 2 },
  { name: 'k8s-3', failureDomain: 3 },
];
/** Longer than a failover (about 2–4 s here): the worker keeps its job's lock through it. */
const LOCK_MS = 20_000;
const MUTATING = [/^tar -czf /, /^microk8s kubectl drain /, /^snap refresh microk8s --channel/, /^microk8s kubectl uncordon /];

type Event = Record<string, unknown>;
/** An audit event as a comparable string: its fields sorted, without the stream's own time. */
const canonical = (e: Event): string => {
  const { at: _at, id: _id, ...rest } = e;
  return JSON.stringify(Object.fromEntries(Object.entries(rest).toSorted(([a], [b]) => a.localeCompare(b))));
};
/** The audit events a process logged (pino JSON lines with an `audit` field). */
const loggedEvents = (text: string): Event[] =>
  text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      const parsed = JSON.parse(line) as { audit?: Event };
      return parsed.audit ? [parsed.audit] : [];
    } catch {
      return [];
    }
  });
const counts = (items: string[]): Map<string, number> => {
  const out = new Map<string, number>();
  for (const i of items) out.set(i, (out.get(i) ?? 0) + 1);
  return out;
};

const WAYS = [
  { how: 'kill', title: 'the Redis primary dies in the middle of a rollout (Sentinel)' },
  { how: 'switchover', title: 'a planned Sentinel switchover (SENTINEL FAILOVER) in the middle of a rollout' },
] as const;

describe.each(WAYS)('e2e: $title', ({ how }) => {
  let group: SentinelGroup;
  let h: Harness;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    group = await startSentinelGroup();
    h = await startHarness({ role: 'bot', workerLockMs: LOCK_MS, redisEnv: group.env, clusters: [{ name: 'ha', channel: CHANNEL, nodes: NODES, policy: { readyTimeout: '2s', drainTimeout: '5s' } }] });
  }, 60_000);
  afterAll(async () => {
    if (worker) await stopWorkerProcess(worker);
    await h?.stop();
    await group?.stop();
  });

  it('promotes the replica; the job completes with its approval, each step once and every audit event once', async () => {
    worker = startWorkerProcess(h.env, 'info');
    const w = worker;
    const fail = (err: unknown): never => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- worker ---\n${w.output().slice(-6000)}\n--- redis ---\n${group.logs()}`);
    };
    // The second node's refresh takes a while: the primary dies while it runs.
    h.sim.inject({ node: 'k8s-2', match: 'snap refresh microk8s --channel', kind: 'delay', ms: 1500, times: 1 });
    const { jobId, text: ack } = await h.command(alice, `upgrade-cluster ${TO} --pause-after none`, CHANNEL);
    expect(ack).toMatch(/^Queued as job \d+/);
    const id = jobId!;
    expect(await h.click(bob, await h.waitButton(id, 'Approve', 30_000), undefined, CHANNEL)).toBe(200);
    await h.slack.waitFor(() => h.thread(id).find((m) => m.text.startsWith('⏳ refresh k8s-2')), 30_000).catch(fail);
    // k8s-1 is done (approved, backed up, refreshed, back in service), and the replica has those checkpoints already.
    const promoted = group.replicas[0]!;
    const replica = group.client(promoted.port);
    try {
      const onReplica = readJobSteps(replica, id);
      expect(Object.values(await onReplica).filter((s) => s.status === 'done').map((s) => s.title)).toContain('uncordon k8s-1');
    } finally {
      replica.disconnect();
    }

    const killedAt = Date.now();
    if (how === 'kill') await group.primary.kill();
    else await group.failover();
    await group.waitMaster(promoted.port).catch(fail);
    const promotedAt = Date.now();
    await h.waitState(id, 'succeeded', 45_000).catch(fail);
    const succeededAt = Date.now();

    // The job: completed in BullMQ (on the new master), every step run once.
    const job = (await h.app.queue.get(id))!;
    const after = (title: string) => Object.values(job.data.steps).find((s) => s.title === title);
    const refreshed = after(`refresh k8s-2 to ${TO}`);
    const next = after(`wait for k8s-2 to be Ready on ${TO}`);
    // Figures for the record (never asserted): how long the failover took and what the rollout saw of it.
    console.info(
      `redis failover: replica promoted ${promotedAt - killedAt} ms after ${how === 'kill' ? "the primary's SIGKILL" : 'SENTINEL FAILOVER'}; the step in flight ended ${(refreshed?.endedAt ?? 0) - killedAt} ms after it, the next step started ${(next?.startedAt ?? 0) - killedAt} ms after it, the job succeeded ${succeededAt - killedAt} ms after it`,
    );
    expect(await job.getState()).toBe('completed');
    const steps = Object.values(job.data.steps);
    expect(steps.length).toBeGreaterThan(10);
    expect(steps.filter((s) => s.status !== 'done' || s.runs !== 1).map((s) => `${s.title}: ${s.status} ×${s.runs}`)).toEqual([]);
    // No mutating command reached a node twice (the simulator's own log).
    const sent = h.sim.commandLog.map((c: SimCommandRecord) => `${c.node}: ${words(c)}`);
    for (const pattern of MUTATING) {
      const hits = h.sim.commandLog.filter((c) => pattern.test(words(c)));
      expect([...counts(hits.map((c) => `${c.node}: ${words(c)}`)).values()].every((n) => n === 1), `${pattern}\n${sent.join('\n')}`).toBe(true);
    }
    for (const n of NODES) expect(h.sim.state.node(n.name).version).toBe('v1.23.3');

    // The approval: one gate, asked once, approved by bob, recorded once.
    const gatePosts = h.slack.calls.filter((c) => c.method === 'chat.postMessage' && JSON.stringify(c.args.blocks ?? '').includes('"Approve"'));
    expect(gatePosts).toHaveLength(1);
    expect(h.thread(id).filter((m) => m.text.endsWith('— approved'))).toHaveLength(1);
    const gates = Object.values(job.data.gates);
    expect(gates.map((g) => [g.decision, g.by])).toEqual([['approved', bob]]);

    // Every audit event of the job the two processes logged is in the stream on the new master exactly once
    // (the worker's last lines may reach this process a moment after Slack shows the end).
    await h.slack.waitFor(() => loggedEvents(w.output()).some((e) => e.type === 'job.end' && e.jobId === id) || undefined, 10_000);
    const redis = group.client(promoted.port);
    try {
      const stream = (await redis.xrange('mk8s:audit', '-', '+')).map(([, fields]) => JSON.parse(fields[1]!) as Event);
      const ofJob = (events: Event[]) => events.filter((e) => e.jobId === id).map(canonical);
      const logged = ofJob([...loggedEvents(h.logs()), ...loggedEvents(w.output())]);
      const stored = ofJob(stream);
      expect(logged.filter((e) => e.includes('"type":"decision"'))).toHaveLength(1);
      expect(logged.filter((e) => e.includes('"type":"job.end"'))).toHaveLength(1);
      expect(logged.filter((e) => e.includes('"type":"step.end"'))).toHaveLength(Object.keys(job.data.steps).length);
      expect(counts(stored)).toEqual(counts(logged));
    } finally {
      redis.disconnect();
    }
    if (how === 'switchover') {
      // The old primary, still up, is demoted by the sentinels in their own time (seconds after the
      // promotion, by when the rollout had long moved on to the new master) and then replicates it.
      // (A connection of its own each time: the demotion closes every client of the old primary.)
      const roleOfOld = async () => {
        const old = group.client(group.primary.port);
        old.on('error', () => undefined);
        try {
          const role = (await old.call('ROLE')) as [string, string, number];
          return [role[0], role[2]];
        } catch (err) {
          return [String(err)];
        } finally {
          old.disconnect();
        }
      };
      await expect.poll(roleOfOld, { timeout: 30_000, interval: 250 }).toEqual(['slave', promoted.port]);
    }
    // After a kill the new master has no replica (seen by ROLE, or by a WAIT sent before the failover
    // that timed out on it): the worker says its writes are replicated asynchronously until one is back.
    if (how === 'kill') expect(w.output()).toMatch(/(the Redis master has no replica connected|no Redis replica acknowledged a write within 1000 ms): until one has this process's writes, they are replicated asynchronously/);

    // No password in the logs of either process, in anything sent to Slack, or in Redis.
    const dump = await dumpRedis(`redis://:${DATA_PASSWORD}@127.0.0.1:${promoted.port}`);
    expect(dump.text).toContain(TO);
    const slackSide = JSON.stringify({ calls: h.slack.calls.map((c) => c.args), messages: h.slack.messages(), responses: h.slack.responses });
    for (const [where, text] of [['bot log', h.logs()], ['worker log', w.output()], ['slack', slackSide], ['redis', dump.text]] as const) {
      for (const secret of [DATA_PASSWORD, SENTINEL_PASSWORD]) expect(text.includes(secret), `${where} holds a Redis password`).toBe(false);
    }
  }, 120_000);
});

describe('e2e: an approval given while no Redis replica answers is written again on the next connect', () => {
  let group: SentinelGroup;
  let h: Harness;
  beforeAll(async () => {
    group = await startSentinelGroup();
    h = await startHarness({ redisEnv: group.env, clusters: [{ name: 'ha', channel: CHANNEL, nodes: NODES, policy: { readyTimeout: '5s', drainTimeout: '5s' } }] });
  }, 60_000);
  afterAll(async () => {
    group?.replicas[0]?.resume();
    await h?.stop();
    await group?.stop();
  });

  it('the decision the old master may have thrown away goes again, and the job goes on', async () => {
    const { jobId, text } = await h.command(alice, `upgrade k8s-1 ${TO}`, CHANNEL);
    expect(jobId, text).toBeDefined();
    const id = jobId!;
    const button = await h.waitButton(id, 'Approve', 30_000);
    await expect.poll(async () => (await h.app.queue.get(id))?.getState(), { timeout: 20_000, interval: 25 }).toBe('delayed');
    const primary = group.client(group.primary.port);
    primary.on('error', () => undefined);
    try {
      // No replica answers: the click's replica barrier gives up (the decision is on the primary alone).
      group.replicas[0]!.pause();
      expect(await h.click(bob, button, undefined, CHANNEL)).toBe(200);
      // (The click is acked before it is decided.)
      await expect.poll(async () => (await primary.keys(keys.decision(id, '*'))).length, { timeout: 10_000, interval: 20 }).toBe(1);
      const [key] = await primary.keys(keys.decision(id, '*'));
      const written = await primary.get(key!);
      // What a demoted master resynced from the new one looks like: the decision gone. Then the bot's connection comes back.
      await primary.del(key!);
      await primary.call('CLIENT', 'KILL', 'TYPE', 'normal').catch(() => undefined);
      const again = group.client(group.primary.port);
      again.on('error', () => undefined);
      try {
        await expect.poll(() => again.get(key!), { timeout: 15_000, interval: 50 }).toBe(written);
      } finally {
        again.disconnect();
      }
      expect(JSON.parse(written!)).toMatchObject({ decision: 'approved', by: bob });
    } finally {
      group.replicas[0]!.resume();
      primary.disconnect();
    }
    await h.waitState(id, 'succeeded', 45_000);
  }, 90_000);
});
