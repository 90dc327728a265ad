import type { Redis } from 'ioredis';
import { replicated } from '../queue/connection.ts';
import { keys } from '../queue/keys.ts';
import { redisScript } from '../queue/script.ts';
import type { RemoteShell } from '../ssh/types.ts';
import type { CheckpointWrite } from './job-steps.ts';

/**
 * This activation no longer holds the job's BullMQ lock (its renewal failed, or another
 * worker took the job after the lock expired: a paused process, a Redis blip). The job
 * belongs to the new holder: this activation sends nothing more and writes nothing more.
 */
export class LockLostError extends Error {
  override name = 'LockLostError';
}

/**
 * Compare-and-write of the job's data: BullMQ's updateData checks no lock (any process
 * may write any job), so a worker that lost its lock could overwrite the new holder's
 * checkpoints. 1 written, 0 the lock is not ours, -1 the job is gone. What is written is a
 * checkpoint's difference (job-steps.ts): `data` unless unchanged (''), then the count of step
 * fields to set, those fields and values, and the step fields to delete.
 */
const writeIfHeld = redisScript<[number, (number | string)?]>('write_if_held', `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {-1} end
if KEYS[3] then
  local by = redis.call('GET', KEYS[3])
  if by then return {2, by} end
end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], 'data', ARGV[2]) end
local sets = tonumber(ARGV[3])
for i = 4, 3 + sets * 2, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for i = 4 + sets * 2, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end
return {1, redis.call('PTTL', KEYS[1])}`);

/** The lock's owner and its remaining time, read in one round trip. */
const readLock = redisScript<[string | null, number]>('read_lock', `return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) }`);

/**
 * The lock of one activation of a job: BullMQ's token for it, and the abort signal the
 * worker fires when the lock could not be renewed. Checked at every step boundary and
 * before every remote command, so a job that lost its lock stops without touching a node.
 */
export class JobLock {
  private lost = false;
  /**
   * Until when (this process's clock) the lock is surely ours: read time + its TTL then. No
   * one can take a lock before it expires, so until then no round trip is needed; after it, a
   * reply read late (this process was paused while it arrived) is not trusted.
   */
  private validUntil = 0;

  constructor(
    private readonly redis: Redis,
    private readonly jobId: string,
    private readonly token: string | undefined,
    private readonly signal?: AbortSignal,
  ) {}

  /** Known lost (signal fired, or a check failed); no Redis round trip. */
  get isLost(): boolean {
    return this.lost || this.signal?.aborted === true;
  }

  /** Marks the lock lost and throws LockLostError. */
  fail(): never {
    this.lost = true;
    throw new LockLostError(`job ${this.jobId}: this worker no longer holds the job's lock; it stops here and leaves the job to its new holder`);
  }

  /** Throws LockLostError unless this activation surely holds the lock now. */
  async assertHeld(): Promise<void> {
    if (this.isLost) this.fail();
    if (this.token === undefined) return; // not run by a worker (no lock to hold)
    if (Date.now() < this.validUntil) return;
    const sentAt = Date.now();
    const [owner, pttl] = await readLock(this.redis, [keys.bullLock(this.jobId)], []);
    if (owner !== this.token || pttl <= 0) this.fail();
    this.validUntil = sentAt + pttl;
    // The answer came back after the lock's TTL had run out: this process was paused (or
    // starved) meanwhile, and another worker may hold the job now. Ask again.
    if (Date.now() >= this.validUntil) return this.assertHeld();
  }

  /**
   * Writes a checkpoint (the job data's changes: job-steps.ts), only while the lock is ours — and, given `unlessCancelled` (the
   * job's cancel key), only if nobody asked to cancel it: then nothing is written and the
   * canceller is returned. One round trip (which also renews what the lock checks trust), and it
   * returns once a replica has the write (through Sentinel; with it the audit events issued
   * before on this connection): what runs next may rely on the checkpoint surviving a failover.
   */
  async writeData(write: CheckpointWrite, options: { unlessCancelled?: string } = {}): Promise<{ cancelledBy?: string }> {
    if (this.isLost) this.fail();
    if (this.token === undefined) throw new Error(`job ${this.jobId}: cannot write job data without the job's lock token`);
    const keyList = [keys.bullLock(this.jobId), keys.bullJob(this.jobId), ...(options.unlessCancelled ? [options.unlessCancelled] : [])];
    const sentAt = Date.now();
    const [written, extra] = await writeIfHeld(this.redis, keyList, [this.token, write.data ?? '', String(write.set.length / 2), ...write.set, ...write.del]);
    if (written === 0) this.fail();
    if (written === 2) return { cancelledBy: String(extra) };
    if (written !== 1) throw new Error(`job ${this.jobId} no longer exists in the queue`);
    await replicated(this.redis);
    // The lock was ours when the script ran (after sentAt), with this much of it left.
    if (typeof extra === 'number' && extra > 0) this.validUntil = Math.max(this.validUntil, sentAt + extra);
    return {};
  }
}

/**
 * A shell that sends a command, upload or download only while the job's lock is held, and only
 * once `before` resolved (the run's checkpoint left for later is written: run-core.ts flush).
 */
export function lockedShell(shell: RemoteShell, lock: JobLock, before: () => Promise<void> = () => Promise.resolve()): RemoteShell {
  const ready = async () => {
    await before();
    await lock.assertHeld();
  };
  return {
    node: shell.node,
    async exec(argv, options) {
      await ready();
      return shell.exec(argv, options);
    },
    async download(remotePath, localPath) {
      await ready();
      return shell.download(remotePath, localPath);
    },
    async upload(data, remotePath, options) {
      await ready();
      return shell.upload(data, remotePath, options);
    },
    close: () => shell.close(),
  };
}
