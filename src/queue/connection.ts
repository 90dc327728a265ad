import { Redis, type RedisOptions } from 'ioredis';
import { redisUrlParts, type Env, type SentinelAddress } from '../config/env.ts';
import { followSwitchovers } from './switchover.ts';

/**
 * Where Redis is: REDIS_URL alone, or (REDIS_SENTINELS set) the sentinels that name the
 * current master of `sentinelName`, with REDIS_URL giving only the data nodes' user,
 * password and db.
 */
export interface RedisTarget {
  url: string;
  sentinels?: readonly SentinelAddress[];
  sentinelName?: string;
  sentinelPassword?: string;
}

export function redisTarget(env: Pick<Env, 'REDIS_URL' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME' | 'REDIS_SENTINEL_PASSWORD'>): RedisTarget {
  if (!env.REDIS_SENTINELS) return { url: env.REDIS_URL };
  return {
    url: env.REDIS_URL,
    sentinels: env.REDIS_SENTINELS,
    sentinelName: env.REDIS_SENTINEL_NAME,
    ...(env.REDIS_SENTINEL_PASSWORD !== undefined ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
  };
}

/** The target for people (startup lines, the demo): never a password. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.sentinels) return `Sentinel master "${target.sentinelName}" via ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  try {
    const u = new URL(target.url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return 'Redis (REDIS_URL)';
  }
}

/** How long a durable write waits for a replica's acknowledgement (WAIT), and how long to stop asking once none came. */
const REPLICA_WAIT_MS = 1_000;
const DEGRADED_RETRY_MS = 30_000;

/** Idempotent writes kept for sending again until a replica has them (an audit stream's worth of a busy minute). */
const MAX_UNCONFIRMED = 10_000;
/** While no replica answers: how long a write stays listed (longer than a switchover leaves the old master taking writes). */
const DEGRADED_KEEP_MS = 60_000;

interface ReplicaBarrier {
  warn?: (message: string) => void;
  /** Idempotent writes a replica may not have yet, oldest first; sent again after every reconnect. */
  unconfirmed: { seq: number; at: number; resend: () => Promise<unknown> }[];
  seq: number;
  /** No replica acknowledged lately: until then, writes are not waited for (they are asynchronous). */
  degradedUntil: number;
  /** The master this connection reached (since its last connect) was seen to have a replica. */
  replicaSeen: boolean;
  /** The WAIT not sent yet, shared by every caller who asks before it goes out. */
  next?: Promise<boolean>;
  /** The WAIT in flight (one at a time: a WAIT blocks its connection). */
  last: Promise<unknown>;
}
const barriers = new WeakMap<Redis, ReplicaBarrier>();
/** How many times each connection became ready (connectionEpoch). */
const epochs = new WeakMap<Redis, number>();

/**
 * Changes whenever the connection (re)connects: to a restarted server, or to a new master after
 * a failover, which may lack writes the old one took. A writer that sends only changes since
 * its last write (job-steps.ts) writes everything again after a change.
 */
export function connectionEpoch(redis: Redis): number {
  return epochs.get(redis) ?? 0;
}

export interface CreateRedisOptions {
  /**
   * Commands wait through a reconnect or a Sentinel failover however long it takes
   * (maxRetriesPerRequest: null): BullMQ's connections, which it requires, and the
   * engine's, whose checkpoints must not fail a job because Redis moved. Without it a
   * command fails after 3 reconnect attempts (chat answers, health checks).
   */
  blocking?: boolean;
  /** Where the connection says that no replica acknowledges its writes (Sentinel only). */
  warn?: (message: string) => void;
}

/**
 * Every ioredis connection the app makes: a plain one to REDIS_URL, or one through
 * Sentinel. Through Sentinel, ioredis asks the sentinels for the master on every
 * (re)connect and checks the server's role before using it (a replica is refused: the next
 * sentinel is asked); a dead master drops the connection; on a planned switchover the
 * sentinels' +switch-master reconnects the client (switchover.ts), as the old master only
 * closes its clients when the sentinels demote it, seconds later; a READONLY reply (a master
 * demoted under us) reconnects and sends the command again to the new master.
 */
export function createRedis(target: RedisTarget | string, options: CreateRedisOptions = {}): Redis {
  const t: RedisTarget = typeof target === 'string' ? { url: target } : target;
  const common: RedisOptions = {
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableReadyCheck: true,
    // Reconnect with a capped backoff; Redis restarts must not kill the bot.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
  let redis: Redis;
  if (!t.sentinels) {
    redis = new Redis(t.url, common);
  } else {
    const parts = redisUrlParts(t.url);
    if (!parts) throw new Error('REDIS_URL: expected redis://[user:password@]host[:port][/db] with REDIS_SENTINELS');
    redis = new Redis({
      ...common,
      sentinels: t.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: t.sentinelName ?? 'mymaster',
      ...(t.sentinelPassword !== undefined ? { sentinelPassword: t.sentinelPassword } : {}),
      ...(parts.username !== undefined ? { username: parts.username } : {}),
      ...(parts.password !== undefined ? { password: parts.password } : {}),
      db: parts.db,
      // Each attempt asks a sentinel first, so it is cheap: retried often, the new master is reached soon after its promotion.
      retryStrategy: (times) => Math.min(times * 100, 500),
      // No failoverDetector (redis/ioredis#1683): switchover.ts follows +switch-master instead.
      // Sentinel asked again soon after a failed round: a failover takes seconds, not minutes.
      sentinelRetryStrategy: (times) => Math.min(times * 100, 1_000),
      reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    });
  }
  const barrier: ReplicaBarrier = { ...(options.warn ? { warn: options.warn } : {}), unconfirmed: [], seq: 0, degradedUntil: 0, replicaSeen: false, last: Promise.resolve() };
  barriers.set(redis, barrier);
  redis.on('ready', () => epochs.set(redis, connectionEpoch(redis) + 1));
  if (t.sentinels) {
    followSwitchovers(redis, t);
    // Connected (again: to a new master, after a failover): what the old one may have taken with it goes again.
    redis.on('ready', () => {
      barrier.replicaSeen = false;
      dropStale(barrier, Date.now());
      for (const u of barrier.unconfirmed) void u.resend().catch(() => undefined);
    });
  }
  return redis;
}

/**
 * A durability barrier: resolves once at least one replica has every write this connection
 * made before the call (Redis WAIT), so a Sentinel failover (which promotes the replica
 * furthest ahead) cannot lose them. Used before acting on a write: the next SSH command after
 * a checkpoint, "approved" after a decision, "Queued as job N" after an enqueue.
 *
 * Without Sentinel there is no replica to wait for: true at once. When the master has no
 * replica, or none answers within REPLICA_WAIT_MS (one is far behind), it says so once and stops
 * waiting for DEGRADED_RETRY_MS, so a lost replica slows nothing down: until one is back,
 * writes are replicated asynchronously and a failover may lose the last of them. False then,
 * and when the WAIT itself failed (a dropped connection); it never throws.
 */
export async function replicated(redis: Redis): Promise<boolean> {
  const barrier = barriers.get(redis);
  if (!barrier || !redis.options.sentinels) return true;
  if (Date.now() < barrier.degradedUntil) return false;
  if (barrier.next) return barrier.next;
  const next: Promise<boolean> = barrier.last
    .catch(() => undefined)
    .then(async () => {
      if (barrier.next === next) barrier.next = undefined;
      if (Date.now() < barrier.degradedUntil) return false;
      // Everything remembered so far was acknowledged before this WAIT goes out, so it covers them.
      const upTo = barrier.seq;
      let acked: number;
      try {
        // A master without any replica (a failover just took the only one) is known at once, not after a WAIT timeout.
        if (!barrier.replicaSeen) {
          const role = (await redis.call('ROLE')) as [string, number, unknown[] | undefined];
          if (!Array.isArray(role[2]) || role[2].length === 0) return degrade(barrier, 'the Redis master has no replica connected');
          barrier.replicaSeen = true;
        }
        acked = Number(await redis.call('WAIT', 1, REPLICA_WAIT_MS));
      } catch {
        // The connection went (it comes back on its own) or met a demoted master: not known to be replicated.
        return false;
      }
      if (acked >= 1) {
        barrier.unconfirmed = barrier.unconfirmed.filter((u) => u.seq > upTo);
        return true;
      }
      return degrade(barrier, `no Redis replica acknowledged a write within ${REPLICA_WAIT_MS} ms`);
    });
  barrier.next = next;
  barrier.last = next;
  return next;
}

/**
 * No replica to confirm against: the writes are as safe as the master now. The idempotent ones
 * stay listed (the last DEGRADED_KEEP_MS of them) and go again on the next connect: a master
 * that lost its replica because the replica was just promoted (a switchover) loses them too.
 */
function degrade(barrier: ReplicaBarrier, why: string): false {
  barrier.replicaSeen = false;
  barrier.degradedUntil = Date.now() + DEGRADED_RETRY_MS;
  barrier.warn?.(`${why}: until one has this process's writes, they are replicated asynchronously and a failover may lose the last of them (asking again in ${DEGRADED_RETRY_MS / 1000} s)`);
  return false;
}

/**
 * For an idempotent write (an audit event with its write id): until a replica is known to
 * have it, it is sent again whenever the connection comes back, so a write the old master
 * acknowledged but never passed on is not lost in a failover. Asks for the confirmation
 * (replicated) without waiting for it, unless no replica answers at the moment (then the
 * write waits for the next connect, or for a replica to confirm a later one). False when
 * nothing will be sent again (no Sentinel).
 */
export function resendUntilReplicated(redis: Redis, resend: () => Promise<unknown>): boolean {
  const barrier = barriers.get(redis);
  if (!barrier || !redis.options.sentinels) return false;
  const now = Date.now();
  barrier.unconfirmed.push({ seq: ++barrier.seq, at: now, resend });
  if (barrier.unconfirmed.length > MAX_UNCONFIRMED) barrier.unconfirmed.shift();
  if (now >= barrier.degradedUntil) void replicated(redis).catch(() => false);
  else dropStale(barrier, now);
  return true;
}

/**
 * Unconfirmed for longer than DEGRADED_KEEP_MS means no replica answered meanwhile: such writes
 * are not sent again (an audit write id is kept an hour; an older one would be a second copy).
 */
function dropStale(barrier: ReplicaBarrier, now: number): void {
  const keepFrom = barrier.unconfirmed.findIndex((u) => u.at >= now - DEGRADED_KEEP_MS);
  barrier.unconfirmed.splice(0, keepFrom < 0 ? barrier.unconfirmed.length : keepFrom);
}
