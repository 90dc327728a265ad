import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { MembersLookup } from '../auth/rbac.ts';
import type { ChatPort } from '../chat/port.ts';
import type { Registry } from '../commands/registry.ts';
import type { Inventory } from '../config/inventory.ts';
import type { Runbook } from '../engine/define.ts';
import type { Metrics } from '../metrics.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { StatusCache } from './status-cache.ts';
import type { ClusterStatus } from '../status/cluster-status.ts';
import type { Clock } from '../schedule/clock.ts';
import type { SshPool } from '../ssh/pool.ts';

/** What the bot core needs; src/app.ts builds it from the config. */
export interface BotDeps {
  inventory: Inventory;
  chat: ChatPort;
  queue: JobQueue;
  redis: Redis;
  audit: AuditLog;
  logger: Logger;
  registry: Registry;
  runbooks: ReadonlyMap<string, Runbook>;
  members: MembersLookup;
  metrics: Metrics;
  /** Budget for the whole SSH look a precheck takes before queuing. */
  precheckTimeoutMs: number;
  /**
   * How long the ack waits for a precheck (default PRECHECK_ACK_MS): past it the ack says
   * "checking…" and the verdict (refused, or queued) follows on the command's response_url.
   */
  precheckAckMs?: number;
  /**
   * …when some node of the cluster has no open connection in the pool yet and other commands
   * wait for their acks (default PRECHECK_COLD_ACK_MS: the ack does not wait; the precheck's
   * handshakes warm the pool). See precheckAckBudget in core.ts.
   */
  precheckColdAckMs?: number;
  /** The process's warm SSH pool (prechecks, status); without one each read opens its own. */
  ssh?: SshPool;
  /** MK8S_BACKUP_DIR: where the worker keeps datastore backups (`backups` lists them). */
  backupDir: string;
  /** Per-user command rate limit (Redis-backed). */
  rateLimiter: RateLimiter;
  /** `status` reads per cluster: short cache, single flight. */
  statusCache: StatusCache<ClusterStatus>;
  /** The bot's clock: maintenance windows, `--at`, gate expiry (tests move a fake one). */
  clock: Clock;
}
