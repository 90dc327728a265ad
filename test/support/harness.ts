/**
 * The whole bot, for integration and end-to-end tests: a private redis-server,
 * simulated clusters over real SSH, a fake Slack, and the app built by
 * startApp() in Slack HTTP mode. Tests talk to it only as Slack would: signed
 * requests to /slack/events, and what the fake Web API recorded.
 *
 *   const h = await startHarness();
 *   const { jobId } = await h.command('U0ALICE', 'upgrade k8s-1 1.23/stable');
 *   await h.waitState(jobId!, 'awaiting approval');
 *   await h.click('U0BOB', h.gateButton(jobId!, 'Approve'));
 *   await h.waitState(jobId!, 'succeeded');
 *   await h.stop();
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { parse, stringify } from 'yaml';
import { startApp, type App } from '../../src/app.ts';
import { parseEnv } from '../../src/config/env.ts';
import { parseInventory } from '../../src/config/inventory.ts';
import { createLogger } from '../../src/logging.ts';
import type { Clock } from '../../src/schedule/clock.ts';
import { startSimCluster, type SimCluster, type SimLatency, type SimNodeSpec } from '../../src/sim/index.ts';
import { unescapeMrkdwn } from '../../src/util/mrkdwn.ts';
import { startPrivateRedis, type PrivateRedis } from '../../src/util/redis-server.ts';
import { startSimProcess, type SimProcess } from './sim-process.ts';
import { startFakeSlack, type FakeButton, type FakeRealism, type FakeMessage, type FakeSlack } from './fake-slack.ts';
import { blockActionsBody, eventCallbackBody, signedRequest, slashCommandBody } from './slack-signing.ts';

export const SIGNING_SECRET = 'test-signing-secret-8f2c91d4';
export const BOT_TOKEN = 'xoxb-test-bot-token-5e7a1b3c9d';
export const USERS = { alice: 'U0ALICE', bob: 'U0BOB', carol: 'U0CAROL', mallory: 'U0MALLORY' } as const;

export interface HarnessCluster {
  name: string;
  channel: string;
  nodes?: SimNodeSpec[];
  policy?: Record<string, unknown>;
  /** More cluster settings, e.g. `{ auditChannel: 'C0AUDIT0001' }`. */
  extra?: Record<string, unknown>;
  /** A simulated Snap Store Proxy host, in the inventory as the cluster's `snapProxy`. */
  snapProxy?: boolean;
  /** false: an old-style cluster without ha-cluster (see SimClusterOptions.haCluster). */
  haCluster?: boolean;
}

export interface HarnessOptions {
  clusters?: HarnessCluster[];
  latency?: Partial<SimLatency>;
  /** `bot` leaves the worker to another process (the crash test). */
  role?: 'all' | 'bot';
  workerLockMs?: number;
  /** Extra environment for the app (and a child worker). */
  env?: Record<string, string>;
  /**
   * Connect to this Redis instead of a private redis-server (e.g. a Sentinel group the test
   * started: REDIS_SENTINELS, REDIS_URL …); `h.redis` is then not there.
   */
  redisEnv?: Record<string, string>;
  /** The app's clock (maintenance windows, --at, the watch): a FakeClock the test moves. */
  clock?: Clock;
  /** Slack's latency and rate limits on the fake (default: none). */
  slack?: FakeRealism;
  /**
   * How long an ack waits for its precheck before it says "checking…" and follows up
   * (default 10 s here, so tests see the verdict in the ack; production: PRECHECK_ACK_MS).
   */
  precheckAckMs?: number;
  /** The same before the pool has a connection to every node of the cluster (default: precheckAckMs). */
  precheckColdAckMs?: number;
  /**
   * The simulated clusters in a process of their own (benchmarks: the nodes' SSH servers off the
   * bot's event loop): then `sims` is empty and `simProcess` reaches them.
   */
  simProcess?: boolean;
}

export interface Harness {
  slack: FakeSlack;
  redis: PrivateRedis;
  sims: Map<string, SimCluster>;
  /** With HarnessOptions.simProcess: the process that runs the simulated clusters. */
  simProcess?: SimProcess;
  /** The first cluster's simulator (none with HarnessOptions.simProcess). */
  sim: SimCluster;
  app: App;
  dir: string;
  /** Environment that starts another process of this same bot (e.g. a worker). */
  env: Record<string, string>;
  /** Everything the app logged (pino JSON lines). */
  logs(): string;
  /**
   * `text` is the ack's plain text as Slack shows it (mrkdwn entities decoded); `full` adds the
   * text of its blocks (plans, tables); `raw` is `full` as sent, entities and all.
   */
  command(user: string, text: string, channel?: string): Promise<{ status: number; text: string; full: string; raw: string; jobId?: string }>;
  /** Clicks as Slack reports it: from the button's own message and channel unless given. */
  click(user: string, button: FakeButton, messageTs?: string, channel?: string): Promise<number>;
  /** The job's parent message and thread replies as Slack shows them (entities decoded); `slack` has them as sent. */
  parent(jobId: string): FakeMessage | undefined;
  thread(jobId: string): FakeMessage[];
  waitState(jobId: string, state: string, timeoutMs?: number): Promise<FakeMessage>;
  /** The newest button with this label in the job's thread, and the message carrying it. */
  gateButton(jobId: string, label: string): FakeButton & { messageTs: string; channel: string };
  waitButton(jobId: string, label: string, timeoutMs?: number): Promise<FakeButton & { messageTs: string; channel: string }>;
  ephemeralsFor(user: string): string[];
  /** The user opens the App Home tab (an app_home_opened event); returns the HTTP status. */
  homeOpened(user: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clusters = options.clusters ?? [{ name: 'prod', channel: 'C0PROD00001' }];
  const dir = mkdtempSync(join(tmpdir(), 'mk8s-test-'));
  const redis = options.redisEnv ? undefined : await startPrivateRedis();
  const slack = await startFakeSlack(options.slack);
  const sims = new Map<string, SimCluster>();
  const doc: { clusters: Record<string, unknown>; rbac: unknown } = {
    clusters: {},
    rbac: { operators: [USERS.alice, USERS.mallory], approvers: [USERS.bob, USERS.carol, USERS.alice], viewers: ['*'] },
  };
  const latency = { defaultMs: 0, drainMs: 20, refreshMs: 40, restartMs: 60, ...options.latency };
  const policyOf = (c: HarnessCluster) => ({ approvalTtl: '5m', drainTimeout: '30s', readyTimeout: '30s', ...c.policy });
  const simProcess = options.simProcess
    ? await startSimProcess({ dir, latency, clusters: clusters.map((c) => ({ name: c.name, channel: c.channel, nodes: c.nodes, snapProxy: c.snapProxy, haCluster: c.haCluster, policy: policyOf(c) })) })
    : undefined;
  for (const c of clusters) {
    let yaml = simProcess?.inventories[c.name];
    if (yaml === undefined) {
      const sim = await startSimCluster({ nodes: c.nodes, snapProxy: c.snapProxy, haCluster: c.haCluster, latency });
      sims.set(c.name, sim);
      const files = await sim.writeClientFiles(join(dir, c.name));
      yaml = sim.inventoryYaml({ clusterName: c.name, channel: c.channel, ...files, policy: policyOf(c) });
    }
    const one = parse(yaml) as { clusters: Record<string, unknown> };
    // The watch is off unless a test turns it on (its SSH reads would show in every command log).
    Object.assign(one.clusters[c.name] as object, { watch: { interval: '0' } }, c.extra ?? {});
    Object.assign(doc.clusters, one.clusters);
  }
  const inventoryPath = join(dir, 'inventory.yml');
  writeFileSync(inventoryPath, stringify(doc));

  const env: Record<string, string> = {
    ...(redis ? { REDIS_URL: redis.url } : options.redisEnv),
    MK8S_INVENTORY: inventoryPath,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.url,
    PORT: '0',
    MK8S_BACKUP_DIR: join(dir, 'backups'),
    LOG_LEVEL: 'debug',
    MK8S_WORKER_LOCK_MS: String(options.workerLockMs ?? 30_000),
    // Tests send many commands fast and change the simulator between reads: no limit, no cache
    // unless a test asks (test/e2e/rate-limit.test.ts).
    MK8S_USER_COMMANDS_PER_MINUTE: '0',
    MK8S_STATUS_CACHE_MS: '0',
    ...options.env,
  };
  const logStream = new PassThrough();
  let logText = '';
  logStream.on('data', (chunk: Buffer) => (logText += chunk.toString()));
  const logger = createLogger(env.LOG_LEVEL ?? 'debug', { destination: logStream, secrets: [BOT_TOKEN, SIGNING_SECRET] });
  const app = await startApp({
    env: parseEnv({ ...env, MK8S_ROLE: options.role ?? 'all' }),
    inventory: parseInventory(stringify(doc), inventoryPath),
    logger,
    slackRetries: 0,
    ...(options.clock ? { clock: options.clock } : {}),
    precheckAckMs: options.precheckAckMs ?? 10_000,
    precheckColdAckMs: options.precheckColdAckMs ?? options.precheckAckMs ?? 10_000,
  });
  const base = `http://127.0.0.1:${app.httpPort}/slack/events`;
  const firstChannel = clusters[0]!.channel;
  let responses = 0;

  /** A message as Slack shows it: mrkdwn entities decoded, read live (chat.update changes it). */
  const shown = (m: FakeMessage): FakeMessage =>
    new Proxy(m, {
      get(target, prop, receiver) {
        if (prop === 'text') return unescapeMrkdwn(target.text);
        if (prop === 'blocks') return JSON.parse(unescapeMrkdwn(JSON.stringify(target.blocks))) as unknown[];
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
  const rawParent = (jobId: string) => slack.messages().find((m) => !m.thread_ts && m.text.startsWith(`job ${jobId} `));
  const parent = (jobId: string) => {
    const p = rawParent(jobId);
    return p ? shown(p) : undefined;
  };
  const thread = (jobId: string) => {
    const p = rawParent(jobId);
    return p ? slack.thread(p.channel, p.ts).map(shown) : [];
  };
  const gateButton = (jobId: string, label: string) => {
    const msgs = thread(jobId).filter((m) => m.buttons.some((b) => b.label === label));
    const msg = msgs[msgs.length - 1];
    const button = msg?.buttons.find((b) => b.label === label);
    if (!msg || !button) throw new Error(`no ${label} button in job ${jobId}'s thread`);
    return { ...button, messageTs: msg.ts, channel: msg.channel };
  };

  const harness: Harness = {
    slack, sims, sim: sims.get(clusters[0]!.name)!, ...(simProcess ? { simProcess } : {}), app, dir, env,
    get redis() {
      if (!redis) throw new Error('this harness runs on the Redis of its redisEnv, not a private one');
      return redis;
    },
    logs: () => logText,
    async command(user, text, channel = firstChannel) {
      const res = await signedRequest(base, slashCommandBody({ user, channel, text, responseUrl: slack.responseUrl(`r${++responses}`) }), SIGNING_SECRET);
      const raw = await res.text();
      let body = raw;
      let full = raw;
      try {
        const parsed = JSON.parse(raw) as { text?: string; blocks?: unknown[] };
        body = parsed.text ?? raw;
        full = `${body}\n${JSON.stringify(parsed.blocks ?? [])}`;
      } catch {
        // an empty ack (the answer follows on response_url)
      }
      const jobId = /\bjob (\d+)\b/.exec(body)?.[1];
      const seen = unescapeMrkdwn(body);
      return { status: res.status, text: seen, full: unescapeMrkdwn(full), raw: full, jobId: seen.startsWith('Queued as job') ? jobId : undefined };
    },
    async click(user, button, messageTs, channelArg) {
      const where = button as FakeButton & { messageTs?: string; channel?: string };
      const ts = messageTs ?? where.messageTs ?? '';
      const channel = channelArg ?? where.channel ?? firstChannel;
      const res = await signedRequest(
        base,
        blockActionsBody({ user, channel, messageTs: ts, actionId: button.actionId, value: button.value, label: button.label, responseUrl: slack.responseUrl(`r${++responses}`) }),
        SIGNING_SECRET,
      );
      await res.text();
      return res.status;
    },
    parent,
    thread,
    async waitState(jobId, state, timeoutMs = 20_000) {
      try {
        return await slack.waitFor(() => {
          const p = parent(jobId);
          return p && p.text.endsWith(` · ${state}`) ? p : undefined;
        }, timeoutMs);
      } catch {
        const p = parent(jobId);
        const steps = thread(jobId).map((m) => m.text).join('\n  ');
        throw new Error(`job ${jobId} did not reach "${state}"; parent: ${p?.text ?? 'none'}\n  ${steps}`);
      }
    },
    gateButton,
    waitButton: (jobId, label, timeoutMs = 20_000) =>
      slack.waitFor(() => {
        try {
          return gateButton(jobId, label);
        } catch {
          return undefined;
        }
      }, timeoutMs),
    ephemeralsFor: (user) => slack.ephemerals().filter((e) => e.user === user).map((e) => e.text),
    async homeOpened(user) {
      const res = await signedRequest(base, eventCallbackBody({ type: 'app_home_opened', user, channel: 'D0HOME00001', tab: 'home' }), SIGNING_SECRET);
      await res.text();
      return res.status;
    },
    async stop() {
      await app.stop();
      for (const sim of sims.values()) await sim.stop();
      await simProcess?.stop();
      await slack.stop();
      await redis?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

export function quietLogger() {
  return pino({ level: 'silent' });
}
