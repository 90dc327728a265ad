import type { Readable, Writable } from 'node:stream';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { runbookMap } from '../jobs/index.ts';
import { AuditLog } from './audit/audit-log.ts';
import { cachedMembers } from './auth/rbac.ts';
import { Bot } from './bot/core.ts';
import { RateLimiter } from './bot/rate-limit.ts';
import { StatusCache } from './bot/status-cache.ts';
import { createConsoleChat } from './chat/console/repl.ts';
import type { ChatPort } from './chat/port.ts';
import { createSlackChat } from './chat/slack/app.ts';
import { createSlackPort } from './chat/slack/port.ts';
import { builtinVerbs } from './commands/builtin-verbs.ts';
import { opsReadVerbs } from './commands/ops-verbs.ts';
import { addonReadVerbs } from './commands/addon-verbs.ts';
import { createRegistry } from './commands/registry.ts';
import { chatMode, type Env } from './config/env.ts';
import type { Inventory } from './config/inventory.ts';
import type { JobData } from './engine/job-data.ts';
import { outboxesDelivered } from './engine/outbox.ts';
import { createEngineWorker, type WorkerOptions } from './engine/worker.ts';
import { logTo, setInternalErrorLog } from './errors/boundary.ts';
import { startHealthServer } from './http/health-server.ts';
import { createMetrics } from './metrics.ts';
import { createRedis, describeRedisTarget, redisTarget } from './queue/connection.ts';
import { JobQueue } from './queue/job-queue.ts';
import { systemClock, type Clock } from './schedule/clock.ts';
import { wakeDueOnClockChange } from './engine/wake-due.ts';
import { startWatch, type WatchService } from './watch/scheduler.ts';
import { startHomeRefresher } from './bot/home-refresh.ts';
import { SshPool } from './ssh/pool.ts';

export interface AppOptions {
  env: Env;
  inventory: Inventory;
  logger: Logger;
  /** Console chat streams (default stdin/stdout) and the acting user. */
  console?: { input?: Readable; output?: Writable; user?: string; channel?: string };
  worker?: WorkerOptions;
  /** Slack WebClient retries (tests: 0). */
  slackRetries?: number;
  precheckTimeoutMs?: number;
  /** The bot's clock (maintenance windows, --at, the watch); tests pass a fake one. Default: the system clock. */
  clock?: Clock;
  /** SSH command timeout of the watch's reads (default 20 s). */
  watchTimeoutMs?: number;
  /** How long a slash command's ack waits for its precheck (default PRECHECK_ACK_MS in src/bot/core.ts). */
  precheckAckMs?: number;
  /** …when a node of the cluster has no warm SSH connection (default PRECHECK_COLD_ACK_MS). */
  precheckColdAckMs?: number;
}

export interface App {
  mode: ReturnType<typeof chatMode>;
  /** The HTTP port actually bound (/slack/events, /healthz, /metrics). */
  httpPort: number;
  chat: ChatPort;
  bot?: Bot;
  worker?: Worker<JobData>;
  /** The watch's queue and worker (worker role). */
  watch?: WatchService;
  queue: JobQueue;
  redis: Redis;
  /** Resolves when the console input ends (console mode); never in Slack mode. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** Waits for `p` (its failure ignored) at most `ms`. */
async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** Builds the app from config, the same way for production, the demo and tests. */
export async function startApp(options: AppOptions): Promise<App> {
  const { env, inventory, logger } = options;
  const clock = options.clock ?? systemClock;
  // Internal errors shown in chat as "internal error (ref …)" are logged here under that ref.
  setInternalErrorLog(logTo(logger));
  const mode = chatMode(env);
  const roles = env.MK8S_ROLE;
  // Every connection through one factory: plain REDIS_URL, or through Sentinel (REDIS_SENTINELS).
  const target = redisTarget(env);
  const warn = (message: string) => logger.warn(message);
  const redis = createRedis(target, { warn });
  const workerConnection = createRedis(target, { blocking: true });
  const queueConnection = createRedis(target, { blocking: true, warn });
  const watchConnection = createRedis(target, { blocking: true });
  // The engine's own: its checkpoints and audit events wait through a failover instead of failing the job.
  const jobRedis = roles === 'bot' ? undefined : createRedis(target, { blocking: true, warn });
  jobRedis?.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error (jobs)'));
  watchConnection.on('error', () => undefined);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  workerConnection.on('error', () => undefined);
  queueConnection.on('error', () => undefined);
  const queue = new JobQueue(queueConnection);
  const audit = new AuditLog(redis, logger);
  const metrics = createMetrics();
  // One warm SSH connection per node for the whole process: jobs, prechecks and status share it.
  const ssh = new SshPool({});
  const runbooks = runbookMap();
  const registry = createRegistry([...builtinVerbs, ...opsReadVerbs, ...addonReadVerbs, ...[...runbooks.values()].map((r) => r.spec)]);

  let worker: Worker<JobData> | undefined;
  let stopping = false;
  const health = async () => {
    let redisOk = false;
    try {
      redisOk = (await redis.ping()) === 'PONG';
    } catch {
      redisOk = false;
    }
    const workerOk = roles === 'bot' || (worker?.isRunning() ?? false);
    return { ok: redisOk && workerOk, detail: { redis: redisOk, worker: roles === 'bot' ? 'not in this process' : workerOk, role: roles, chat: mode } };
  };
  const metricsText = async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() });

  // Chat: Slack (HTTP or Socket Mode), a post-only Slack port for a worker-only process, or the console.
  let chat: ChatPort;
  let attach: ((bot: Bot) => void) | undefined;
  let startChat: () => Promise<number> = async () => 0;
  let stopChat: () => Promise<void> = async () => undefined;
  let done: Promise<void> = new Promise(() => undefined);
  if (mode === 'console') {
    const channel = options.console?.channel ?? Object.values(inventory.clusters)[0]?.channel ?? 'console';
    const consoleChat = createConsoleChat({ input: options.console?.input ?? process.stdin, output: options.console?.output ?? process.stdout, user: options.console?.user ?? 'alice', channel, logger });
    chat = consoleChat.port;
    attach = (bot) => consoleChat.attach(bot);
    let resolveDone: () => void = () => undefined;
    done = new Promise((r) => (resolveDone = r));
    const health$ = { server: undefined as undefined | { port: number; close(): Promise<void> } };
    startChat = async () => {
      health$.server = await startHealthServer({ port: env.PORT, health, metrics: metricsText });
      if (roles !== 'worker') {
        void consoleChat.start().then(resolveDone, (err: unknown) => {
          logger.error({ err }, 'console stopped');
          resolveDone();
        });
      }
      return health$.server.port;
    };
    stopChat = async () => {
      consoleChat.stop();
      await health$.server?.close();
    };
  } else if (roles === 'worker') {
    chat = createSlackPort({ botToken: env.SLACK_BOT_TOKEN ?? '', apiUrl: env.SLACK_API_URL, retries: options.slackRetries, logger });
    const health$ = { server: undefined as undefined | { port: number; close(): Promise<void> } };
    startChat = async () => {
      health$.server = await startHealthServer({ port: env.PORT, health, metrics: metricsText });
      return health$.server.port;
    };
    stopChat = async () => health$.server?.close();
  } else {
    const slack = createSlackChat({
      mode: mode === 'slack-socket' ? 'socket' : 'http',
      botToken: env.SLACK_BOT_TOKEN ?? '',
      signingSecret: env.SLACK_SIGNING_SECRET,
      appToken: env.SLACK_APP_TOKEN,
      apiUrl: env.SLACK_API_URL,
      port: env.PORT,
      health,
      metrics: metricsText,
      logger,
      retries: options.slackRetries,
    });
    chat = slack.port;
    attach = (bot) => slack.attach(bot);
    startChat = async () => (await slack.start()).port;
    stopChat = () => slack.stop();
  }

  const members = cachedMembers((group) => chat.usergroupMembers(group));
  const homeConnection = createRedis(target, { blocking: true });
  homeConnection.on('error', () => undefined);
  const homes = startHomeRefresher({ inventory, redis, queue, members, clock, chat }, homeConnection, logger);
  let bot: Bot | undefined;
  if (roles !== 'worker') {
    bot = new Bot({
      inventory, chat, queue, redis, audit, logger, registry, runbooks, metrics,
      members,
      // The ack waits at most precheckAckMs for it; past that the verdict follows up, so it may take longer.
      precheckTimeoutMs: options.precheckTimeoutMs ?? 10_000,
      ...(options.precheckAckMs !== undefined ? { precheckAckMs: options.precheckAckMs } : {}),
      ...(options.precheckColdAckMs !== undefined ? { precheckColdAckMs: options.precheckColdAckMs } : {}),
      backupDir: env.MK8S_BACKUP_DIR,
      rateLimiter: new RateLimiter(redis, env.MK8S_USER_COMMANDS_PER_MINUTE),
      statusCache: new StatusCache(env.MK8S_STATUS_CACHE_MS),
      clock,
      ssh,
    });
    attach?.(bot);
  }
  let stopWaker = (): void => undefined;
  let watch: WatchService | undefined;
  if (roles !== 'bot') {
    watch = await startWatch({
      redis, chat, audit, logger, clock, connection: watchConnection, inventory,
      knownVerb: (verb) => registry.get(verb) !== undefined,
      onChange: () => homes.poke(),
      ...(options.watchTimeoutMs !== undefined ? { timeoutMs: options.watchTimeoutMs } : {}),
    });
    stopWaker = wakeDueOnClockChange(queue.queue, clock, (err) => logger.warn({ err }, 'could not wake parked jobs after the clock moved'));
    const engineRedis = jobRedis ?? redis;
    const engineAudit = new AuditLog(engineRedis, logger);
    worker = createEngineWorker({ redis: engineRedis, chat, audit: engineAudit, logger, backupDir: env.MK8S_BACKUP_DIR, connection: workerConnection, inventory, runbooks, clock, ssh, stopping: () => stopping }, {
      concurrency: env.MK8S_WORKER_CONCURRENCY,
      lockDurationMs: env.MK8S_WORKER_LOCK_MS,
      stalledIntervalMs: Math.max(250, Math.floor(env.MK8S_WORKER_LOCK_MS / 2)),
      ...options.worker,
    });
  }
  const httpPort = await startChat();
  logger.info({ mode, role: roles, httpPort, redis: describeRedisTarget(target) }, 'mk8s-ops started');

  return {
    mode, httpPort, chat, bot, worker, watch, queue, redis, done,
    stop: async () => {
      // Running jobs finish their current step and go back to the queue (RunContext.handBack).
      stopping = true;
      stopWaker();
      await stopChat();
      // The watch and the Home refresher hold no job: bounded, so a Redis that just came back cannot stall the shutdown.
      await settleWithin(Promise.all([watch?.close(), homes.close()]), 5_000);
      await worker?.close();
      // The threads catch up with what the finished steps posted before the process goes.
      await outboxesDelivered(10_000);
      ssh.closeAll();
      await queue.close();
      redis.disconnect();
      workerConnection.disconnect();
      queueConnection.disconnect();
      watchConnection.disconnect();
      homeConnection.disconnect();
      jobRedis?.disconnect();
    },
  };
}
