/**
 * src/audit — the audit trail: every request, decision, step, SSH command and result as an event
 * (events.ts) in a capped Redis stream and the log. Written by the bot core and the engine; never
 * holds a secret (the SSH layer masks them before an event is made).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { keys } from '../queue/keys.ts';
import type { AuditEvent, StoredAuditEvent } from './events.ts';

export interface AuditFilter {
  cluster?: string;
  /** Only these event types. */
  types?: ReadonlySet<AuditEvent['type']>;
  /** Only the events of this job. */
  jobId?: string;
}

/** Keeps about this many events in the Redis stream. */
const STREAM_MAX_LEN = 100_000;

/**
 * The audit trail: a Redis stream (durable, shared by every bot and worker
 * process) mirrored into the structured log.
 */
export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  async record(event: AuditEvent): Promise<void> {
    const at = Date.now();
    this.logger.info({ audit: event }, `audit ${event.type}`);
    try {
      await this.redis.xadd(keys.auditStream, 'MAXLEN', '~', String(STREAM_MAX_LEN), '*', 'e', JSON.stringify({ ...event, at }));
    } catch (err) {
      // The log line above still holds the event; a Redis outage must not stop a runbook mid-step.
      this.logger.error({ err }, 'audit event not written to Redis');
    }
  }

  /** The newest `count` events matching `filter`, oldest first. */
  async recent(count: number, filter?: AuditFilter): Promise<StoredAuditEvent[]> {
    const out: StoredAuditEvent[] = [];
    let end = '+';
    // Page backwards until enough events match the filter.
    while (out.length < count) {
      const page = await this.redis.xrevrange(keys.auditStream, end, '-', 'COUNT', 500);
      if (page.length === 0) break;
      for (const [id, fields] of page) {
        const raw = fields[1];
        if (!raw) continue;
        const event = JSON.parse(raw) as StoredAuditEvent;
        if (filter?.cluster && 'cluster' in event && event.cluster !== filter.cluster) continue;
        if (filter?.types && !filter.types.has(event.type)) continue;
        if (filter?.jobId !== undefined && !('jobId' in event && event.jobId === filter.jobId)) continue;
        out.push({ ...event, id });
        if (out.length >= count) break;
      }
      const last = page[page.length - 1];
      if (!last || page.length < 500) break;
      end = `(${last[0]}`;
    }
    return out.toReversed();
  }
}
