import * as z from 'zod';

/** Sentinels one process may be told about (more is a typo, not a deployment). */
const MAX_SENTINELS = 32;
/** `host:port`: a hostname or IPv4 address, or an IPv6 address in brackets, then a port. */
const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)):([0-9]{1,5})$/;
const SENTINELS_ALLOWED = 'a comma-separated list of host:port (e.g. sentinel-1:26379,sentinel-2:26379): a hostname, IPv4 or [IPv6] address, a port 1–65535, no scheme or password';

export interface SentinelAddress {
  host: string;
  port: number;
}

/**
 * REDIS_SENTINELS → the sentinels' addresses. An entry is named by its position, never
 * echoed: a URL pasted here by mistake may carry a password.
 */
const Sentinels = z.string().transform((text, ctx): SentinelAddress[] => {
  const entries = text.split(',').map((e) => e.trim());
  const fail = (message: string): never => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  if (entries.every((e) => e === '')) return fail(`is empty; expected ${SENTINELS_ALLOWED}`);
  if (entries.length > MAX_SENTINELS) return fail(`lists ${entries.length} sentinels; at most ${MAX_SENTINELS} are allowed`);
  const out: SentinelAddress[] = [];
  for (const [i, entry] of entries.entries()) {
    const where = `entry ${i + 1} of ${entries.length}`;
    const m = HOST_PORT.exec(entry);
    if (!m) return fail(`${where} is not host:port; expected ${SENTINELS_ALLOWED}`);
    const port = Number(m[3]);
    if (port < 1 || port > 65535) return fail(`${where} has port ${port}, outside 1–65535`);
    const host = (m[1] ?? m[2]) as string;
    if (out.some((s) => s.host === host && s.port === port)) return fail(`${where} repeats an earlier entry`);
    out.push({ host, port });
  }
  return out;
});

const EnvSchema = z.object({
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'expected redis://host:port').default('redis://127.0.0.1:6379'),
  /** Set → connect through Redis Sentinel; REDIS_URL then gives only the data nodes' user, password and db. */
  REDIS_SENTINELS: Sentinels.optional(),
  /** The master group the sentinels monitor (`sentinel monitor <name> …`). */
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected the master group name of `sentinel monitor` (1–64 letters, digits, dot, dash, underscore)')
    .default('mymaster'),
  /** The sentinels' own password (their `requirepass`); the data nodes' password is in REDIS_URL. */
  REDIS_SENTINEL_PASSWORD: z.string().min(1, 'is empty; leave it unset when the sentinels need no password').optional(),
  MK8S_INVENTORY: z.string().min(1).default('./inventory.yml'),
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  SLACK_APP_TOKEN: z.string().min(1).optional(),
  SLACK_API_URL: z.url().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  MK8S_ROLE: z.enum(['all', 'bot', 'worker']).default('all'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MK8S_BACKUP_DIR: z.string().min(1).default('./backups'),
  /** Advanced: BullMQ lock duration; a crashed worker's job is resumed after about this long. */
  MK8S_WORKER_LOCK_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  MK8S_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
  /** Commands one user may send per minute, across all bot processes (0: no limit). */
  MK8S_USER_COMMANDS_PER_MINUTE: z.coerce.number().int().min(0).max(10_000).default(30),
  /** How long a `status` read of a cluster serves later requests (ms; 0: only requests at the same time share it). */
  MK8S_STATUS_CACHE_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
}).superRefine((env, ctx) => {
  if (env.REDIS_SENTINELS && env.REDIS_URL.startsWith('rediss://')) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'rediss:// (TLS) is not supported together with REDIS_SENTINELS; use redis:// (the URL then gives only the user, password and db)' });
  }
  if (env.REDIS_SENTINELS && redisUrlParts(env.REDIS_URL) === undefined) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'with REDIS_SENTINELS, expected redis://[user:password@]host[:port][/db] (db 0–9999; the host and port are not used, the sentinels name the master)' });
  }
  if (env.REDIS_SENTINEL_PASSWORD !== undefined && !env.REDIS_SENTINELS) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINEL_PASSWORD'], message: 'is set but REDIS_SENTINELS is not; set REDIS_SENTINELS too, or unset it' });
  }
});

export type Env = z.infer<typeof EnvSchema>;

/** REDIS_URL's credentials and database (percent-decoded), or undefined when it does not parse. */
export function redisUrlParts(url: string): { username?: string; password?: string; db: number } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const db = /^\/?([0-9]{0,4})$/.exec(parsed.pathname);
  if (!db || parsed.search || parsed.hash) return undefined;
  try {
    const username = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    return { ...(username ? { username } : {}), ...(password ? { password } : {}), db: Number(db[1] || 0) };
  } catch {
    return undefined;
  }
}

/** Every variable the environment contract knows (deployment files are checked against it). */
export const ENV_NAMES: readonly string[] = Object.keys(EnvSchema.shape);
export type ChatMode = 'slack-http' | 'slack-socket' | 'console';

export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = EnvSchema.safeParse(source);
  if (!result.success) {
    // Name the variable and what is allowed; never echo the value (it may be a secret).
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid environment\n${lines.join('\n')}`);
  }
  return result.data;
}

export function chatMode(env: Env): ChatMode {
  if (env.SLACK_APP_TOKEN) return 'slack-socket';
  if (env.SLACK_BOT_TOKEN || env.SLACK_SIGNING_SECRET) return 'slack-http';
  return 'console';
}
