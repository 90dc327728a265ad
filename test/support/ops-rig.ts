/**
 * A real run context for unit tests of the step helpers in src/ops: a private redis-server, a
 * simulated cluster over real SSH (src/sim), and the engine's own worker (BullMQ) with a
 * RecordingChat, running one runbook whose body is the test's. Nothing of our own is mocked: a
 * helper gets the RunContext a runbook gets, its commands go over SSH to the simulator, its steps
 * are checkpointed in the job's data, its gates park the job.
 *
 *   const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }] });
 *   it('…', async () => {
 *     const m = await rig.run((run) => readMembership(run, 'k8s-1'));
 *     expect(rig.commands('k8s-1')).toContain('microk8s status --format yaml');
 *   });
 *
 * `run(body)` queues a job, lets the worker run `body(run)` as the runbook's body and resolves with
 * what the body returned, or rejects with exactly what it threw. A gate the body opens is
 * answered by `decide` (approve, reject or pick an option); without one, the job is told nobody
 * answered (the run rejects saying which gate). Inside `describe`, once per file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll } from 'vitest';
import * as z from 'zod';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { clusterConfig, parseInventory, type ClusterConfig, type Inventory } from '../../src/config/inventory.ts';
import type { RunContext } from '../../src/engine/context.ts';
import { defineRunbook } from '../../src/engine/define.ts';
import { FINAL_STATES, type GateRecord, type JobData } from '../../src/engine/job-data.ts';
import type { PlanStep } from '../../src/engine/runbook.ts';
import { createEngineWorker } from '../../src/engine/worker.ts';
import { createRedis } from '../../src/queue/connection.ts';
import { JobQueue } from '../../src/queue/job-queue.ts';
import { keys } from '../../src/queue/keys.ts';
import { startSimCluster, type SimCluster, type SimClusterOptions } from '../../src/sim/index.ts';
import { SshPool } from '../../src/ssh/pool.ts';
import { startPrivateRedis, type PrivateRedis } from '../../src/util/redis-server.ts';
import { RecordingChat } from './recording-chat.ts';

export const RIG_CLUSTER = 'rig';
const CHANNEL = 'C0RIG000001';

/** How a test answers a gate: approve, reject, or pick one of a choice's options. */
export type GateAnswer = 'approved' | 'rejected' | { choice: string };

export interface OpsRigOptions extends Pick<SimClusterOptions, 'nodes' | 'haCluster' | 'snapProxy' | 'workloads'> {
  /** Cluster policy (inventory `policy`); default: no plan gate, short timeouts. */
  policy?: Record<string, unknown>;
  /** More cluster settings (inventory keys). */
  extra?: Record<string, unknown>;
}

export interface RunOptions {
  /** Answers each gate the body opens, in order (its record as the engine wrote it). */
  decide?: (gate: GateRecord, id: string) => GateAnswer;
  /** The plan the job declares (what `run.approvePlan` shows). */
  plan?: PlanStep[];
}

export interface OpsRig {
  readonly sim: SimCluster;
  readonly cluster: ClusterConfig;
  readonly redis: Redis;
  readonly chat: RecordingChat;
  readonly backupDir: string;
  /** Runs `body(run)` as a job's runbook body: its return value, or a rejection with what it threw. */
  run<T>(body: (run: RunContext) => Promise<T>, options?: RunOptions): Promise<T>;
  /** The job id of the last run. */
  readonly jobId: string;
  /** The gates the last run opened, in order, as recorded in its job's data. */
  gates(): GateRecord[];
  /** The step titles the last run finished, in order. */
  doneSteps(): string[];
  /** The last run's job data as the engine left it (its steps, gates, rollback info, summary). */
  data(): JobData;
  /**
   * The commands the simulator ran during the last run (words joined by spaces, no sudo), on
   * `node` when given. SFTP writes show as `sftp put <path>`.
   */
  commands(node?: string): string[];
  /** The texts posted in the last run's thread so far. */
  thread(): string[];
  /** The last run's thread line that starts with `prefix` (a step's line: `✅ <title> — <what it did> · <time>`), once posted. */
  line(prefix: string): Promise<string>;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export function useOpsRig(options: OpsRigOptions = {}): OpsRig {
  let server: PrivateRedis | undefined;
  let sim: SimCluster | undefined;
  let redis: Redis | undefined;
  let queue: JobQueue | undefined;
  let worker: Worker<JobData> | undefined;
  let pool: SshPool | undefined;
  const connections: Redis[] = [];
  let dir = '';
  let inventory: Inventory | undefined;
  const chat = new RecordingChat();
  const bodies = new Map<string, (run: RunContext) => Promise<unknown>>();
  const plans = new Map<string, PlanStep[]>();
  const outcomes = new Map<string, Outcome>();
  let last = { jobId: '', from: 0, to: 0, data: undefined as JobData | undefined };
  let seq = 0;

  const probe = defineRunbook(
    {
      verb: 'probe',
      usage: 'probe <tag>',
      example: 'probe x',
      summary: 'runs a test body in a real run context',
      positional: ['tag'],
      args: z.object({ tag: z.string() }),
      mutating: true,
      plan: ({ tag }) => plans.get(tag) ?? [],
    },
    async (run, { tag }) => {
      const body = bodies.get(tag);
      if (!body) throw new Error(`no body for ${tag}`);
      try {
        const value = await body(run);
        outcomes.set(tag, { ok: true, value });
      } catch (error) {
        outcomes.set(tag, { ok: false, error }); // a parked gate too: the job's next activation overwrites it
        throw error;
      }
    },
  );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mk8s-rig-'));
    server = await startPrivateRedis();
    sim = await startSimCluster({ ...options, latency: { defaultMs: 0, drainMs: 10, refreshMs: 20, restartMs: 30 } });
    const files = await sim.writeClientFiles(join(dir, 'ssh'));
    const doc = parse(
      sim.inventoryYaml({
        clusterName: RIG_CLUSTER,
        channel: CHANNEL,
        ...files,
        rbac: { operators: ['alice'], approvers: ['bob'] },
        policy: { approvePlan: false, twoPerson: false, approvalTtl: '5m', drainTimeout: '20s', readyTimeout: '20s', ...options.policy },
      }),
    ) as { clusters: Record<string, Record<string, unknown>> };
    Object.assign(doc.clusters[RIG_CLUSTER]!, { watch: { interval: '0' } }, options.extra ?? {});
    inventory = parseInventory(stringify(doc), join(dir, 'inventory.yml'));
    redis = createRedis(server.url);
    const conn = (blocking: boolean) => {
      const c = createRedis(server!.url, blocking ? { blocking: true } : {});
      connections.push(c);
      return c;
    };
    queue = new JobQueue(conn(true));
    pool = new SshPool({});
    const logger = pino({ level: 'silent' });
    worker = createEngineWorker(
      {
        redis, chat, audit: new AuditLog(redis, logger), logger, backupDir: join(dir, 'backups'), ssh: pool, inventory,
        runbooks: new Map([['probe', probe]]), connection: conn(true),
      },
      { lockDurationMs: 30_000 },
    );
  });
  afterEach(() => {
    sim?.clearFaults();
  });
  afterAll(async () => {
    await worker?.close(true);
    await queue?.close();
    pool?.closeAll();
    redis?.disconnect();
    for (const c of connections) c.disconnect();
    await sim?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`ops rig: ${what} not started (use the rig inside describe, after beforeAll)`);
    return v;
  };

  async function settle(jobId: string, decide: RunOptions['decide']): Promise<JobData> {
    const q = need(queue, 'queue');
    const answered = new Set<string>();
    for (;;) {
      const job = await q.get(jobId);
      const data = job?.data;
      if (job && data && FINAL_STATES.has(data.state)) {
        // the job's data says it ended before BullMQ has moved it: wait for that too, so the hold is free
        const state = await job.getState();
        if (state === 'completed' || state === 'failed') return data;
      } else if (job && data?.state === 'awaiting approval' && (await job.getState()) === 'delayed') {
        const open = Object.entries(data.gates).find(([id, g]) => g.decision === undefined && !answered.has(id));
        if (open) {
          const [id, gate] = open;
          answered.add(id);
          const answer = decide?.(gate, id);
          const decision = answer === undefined
            ? { decision: 'expired', by: 'expiry', at: Date.now() }
            : typeof answer === 'string' ? { decision: answer, by: 'bob', at: Date.now() } : { decision: 'chosen', choice: answer.choice, by: 'bob', at: Date.now() };
          await need(redis, 'redis').set(keys.decision(jobId, id), JSON.stringify(decision), 'NX');
          await job.promote();
        }
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  }

  const rig: OpsRig = {
    get sim() { return need(sim, 'simulator'); },
    get cluster() { return need(clusterConfig(need(inventory, 'inventory'), RIG_CLUSTER), 'cluster'); },
    get redis() { return need(redis, 'redis'); },
    chat,
    get backupDir() { return join(dir, 'backups'); },
    get jobId() { return last.jobId; },
    async run<T>(body: (run: RunContext) => Promise<T>, runOptions: RunOptions = {}): Promise<T> {
      const tag = `t${++seq}`;
      bodies.set(tag, body);
      if (runOptions.plan) plans.set(tag, runOptions.plan);
      const log = need(sim, 'simulator').commandLog;
      const from = log.length;
      const queued = await need(queue, 'queue').enqueue(
        { verb: 'probe', cluster: RIG_CLUSTER, args: { tag }, text: `probe ${tag}`, user: 'alice', channel: CHANNEL, requestedAt: Date.now() },
        true,
      );
      if (!queued.ok) throw new Error(`ops rig: the cluster is held by job ${queued.holder.jobId}`);
      last = { jobId: queued.jobId, from, to: from, data: undefined };
      const data = await settle(queued.jobId, runOptions.decide);
      last = { jobId: queued.jobId, from, to: log.length, data };
      const outcome = outcomes.get(tag);
      if (!outcome) throw new Error(`ops rig: job ${queued.jobId} ended ${data.state} without running its body (${data.summary ?? ''})`);
      if (!outcome.ok) throw outcome.error;
      return outcome.value as T;
    },
    gates: () => Object.values(last.data?.gates ?? {}),
    data: () => need(last.data, 'a finished run'),
    doneSteps: () => Object.values(last.data?.steps ?? {}).filter((s) => s.status === 'done').map((s) => s.title),
    commands(node) {
      return need(sim, 'simulator')
        .commandLog.slice(last.from, last.to)
        .filter((c) => node === undefined || c.node === node)
        .map((c) => (c.argv.length > 0 ? c.argv.join(' ') : c.command));
    },
    thread() {
      const parent = chat.parents().find((m) => m.message.text.startsWith(`job ${last.jobId} `));
      return parent ? chat.thread(parent.ts).map((m) => m.message.text) : [];
    },
    line(prefix) {
      return chat.waitFor(() => rig.thread().find((t) => t.startsWith(prefix)));
    },
  };
  return rig;
}
