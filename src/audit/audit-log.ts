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
 * XADD once per write id, for a batch of events in order. ioredis sends a command again when
 * the connection dropped before its reply (a Redis restart, a Sentinel failover); the first copy
 * may have been applied (and replicated) already. The id makes the second copy a no-op: each
 * event is in the stream exactly once. KEYS: the stream, then one write key per event; ARGV:
 * the stream's cap, the write keys' TTL, then the events. Returns how many were added.
 */
const xaddEachOnce = redisScript<number>('audit_xadd_each_once', `
local added = 0
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[2]) then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i + 1])
    added = added + 1
  end
end
return added`);

export interface AuditEntry {
  writeId: string;
  entry: string;
}

/** Appends stored events to the stream in order, each unless the write with its id is there already; how many were added. */
export function appendAuditEntries(redis: Redis, entries: readonly AuditEntry[]): Promise<number> {
  return xaddEachOnce(
    redis,
    [keys.auditStream, ...entries.map((e) => keys.auditWrite(e.writeId))],
    [String(STREAM_MAX_LEN), String(WRITE_ID_TTL_SECONDS), ...entries.map((e) => e.entry)],
  );
}

/** Appends one stored event to the stream unless the write with this id is there already; true when it was added. */
export async function appendAuditEntry(redis: Redis, writeId: string, entry: string): Promise<boolean> {
  return (await appendAuditEntries(redis, [{ writeId, entry }])) === 1;
}

/** At most this many events in one script call (a runbook's burst of commands, a fleet's steps). */
const MAX_BATCH = 200;

interface Pending extends AuditEntry {
  settled: () => void;
}

/**
 * The audit trail: a Redis stream (durable, shared by every bot and worker
 * process) mirrored into the structured log.
 */
export class AuditLog {
  private readonly reads = new SingleFlight<StoredAuditEvent[]>();
  /** Recorded, not written yet: the next flush (this turn of the event loop) takes them. */
  private pending: Pending[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  /**
   * Records an event: logged at once, and written to the stream with the other events recorded
   * in the same turn of the event loop, in one round trip (setImmediate: a step's command events
   * and its start and end, twenty clusters' steps at once). Resolves once it is written — or,
   * Redis being down, once that is logged (it is sent again when Redis is back, given Sentinel).
   */
  record(event: AuditEvent): Promise<void> {
    const at = Date.now();
    this.logger.info({ audit: event }, `audit ${event.type}`);
    return new Promise<void>((settled) => {
      this.pending.push({ writeId: randomUUID(), entry: JSON.stringify({ ...event, at }), settled });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  /** Writes what is pending, MAX_BATCH at a time, in order (batches on one connection keep their order). */
  private flush(): void {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      void this.write(batch);
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    const append = () => appendAuditEntries(this.redis, batch);
    try {
      await append();
      // Through Sentinel: sent again after a failover until a replica has it (the write ids keep each event single).
      resendUntilReplicated(this.redis, append);
    } catch (err) {
      // The log lines still hold the events; a Redis outage must not stop a runbook mid-step.
      const again = resendUntilReplicated(this.redis, append);
      this.logger.error({ err, events: batch.length }, again ? 'audit event not written to Redis yet (sent again when it is back)' : 'audit event not written to Redis');
    } finally {
      for (const p of batch) p.settled();
    }
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
