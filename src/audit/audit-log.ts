/**
 * src/audit — the audit trail: every request, decision, step, SSH command and result as an event
 * (events.ts) in a capped Redis stream and the log. Written by the bot core and the engine; never
 * holds a secret (the SSH layer masks them before an event is made).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { resendUntilReplicated } from '../queue/connection.ts';
import { keys } from '../queue/keys.ts';
import { redisScript } from '../queue/script.ts';
import { SingleFlight } from '../util/single-flight.ts';
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
/** How long an event's write id is remembered: a write sent again after a reconnect comes within seconds. */
const WRITE_ID_TTL_SECONDS = 3_600;

/**
 * XADD once per write id. ioredis sends a command again when the connection dropped before
 * its reply (a Redis restart, a Sentinel failover); the first copy may have been applied
 * (and replicated) already. The id makes the second copy a no-op: each event is in the
 * stream exactly once.
 */
const xaddOnce = redisScript<string | null>('audit_xadd_once', `
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then return false end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2])`);

/** Appends one stored event to the stream unless the write with this id is there already; true when it was added. */
export async function appendAuditEntry(redis: Redis, writeId: string, entry: string): Promise<boolean> {
  const id = await xaddOnce(redis, [keys.auditStream, keys.auditWrite(writeId)], [String(STREAM_MAX_LEN), entry, String(WRITE_ID_TTL_SECONDS)]);
  return id !== null;
}

/**
 * The audit trail: a Redis stream (durable, shared by every bot and worker
 * process) mirrored into the structured log.
 */
export class AuditLog {
  private readonly reads = new SingleFlight<StoredAuditEvent[]>();

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  async record(event: AuditEvent): Promise<void> {
    const at = Date.now();
    this.logger.info({ audit: event }, `audit ${event.type}`);
    const writeId = randomUUID();
    const entry = JSON.stringify({ ...event, at });
    const append = () => appendAuditEntry(this.redis, writeId, entry);
    try {
      await append();
    } catch (err) {
      // The log line above still holds the event; a Redis outage must not stop a runbook mid-step.
      const again = resendUntilReplicated(this.redis, append);
      this.logger.error({ err }, again ? 'audit event not written to Redis yet (sent again when it is back)' : 'audit event not written to Redis');
      return;
    }
    // Through Sentinel: sent again after a failover until a replica has it (the write id keeps it single).
    resendUntilReplicated(this.redis, append);
  }

  /** The newest `count` events matching `filter`, oldest first (concurrent identical reads share one). */
  recent(count: number, filter?: AuditFilter): Promise<StoredAuditEvent[]> {
    const key = [count, filter?.cluster ?? '', filter?.jobId ?? '', [...(filter?.types ?? [])].join(',')].join('\u0000');
    return this.reads.get(key, () => this.read(count, filter));
  }

  private async read(count: number, filter?: AuditFilter): Promise<StoredAuditEvent[]> {
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
