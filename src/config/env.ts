import * as z from 'zod';

const EnvSchema = z.object({
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'expected redis://host:port').default('redis://127.0.0.1:6379'),
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
});

export type Env = z.infer<typeof EnvSchema>;

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
