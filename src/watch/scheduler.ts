/**
 * The watch runs as BullMQ job schedulers on its own queue, one per cluster
 * (`watch-<cluster>`, every `watch.interval`): BullMQ makes one job per interval, and
 * whichever worker process takes it runs the check, so it runs once per interval
 * however many workers there are. Its own queue and worker: a check never waits
 * behind a job of the cluster, and never takes the cluster hold.
 */
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { clusterConfig, type Inventory } from '../config/inventory.ts';
import { PREFIX, WATCH_QUEUE_NAME } from '../queue/keys.ts';
import { runWatchCheck, type WatchDeps } from './check.ts';

export interface WatchJobData {
  cluster: string;
}

const schedulerId = (cluster: string) => `watch-${cluster}`;

/** Creates, changes or removes each cluster's scheduler to match the inventory (idempotent; every worker may call it). */
export async function syncWatchSchedulers(queue: Queue<WatchJobData>, inventory: Inventory): Promise<void> {
  const wanted = new Set<string>();
  for (const [name, cluster] of Object.entries(inventory.clusters)) {
    if (cluster.watch.interval <= 0) continue;
    wanted.add(schedulerId(name));
    await queue.upsertJobScheduler(schedulerId(name), { every: cluster.watch.interval }, {
      name: 'watch',
      data: { cluster: name },
      opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    });
  }
  for (const s of await queue.getJobSchedulers(0, 1000)) {
    if (s.key && !wanted.has(s.key)) await queue.removeJobScheduler(s.key);
  }
}

export interface WatchService {
  queue: Queue<WatchJobData>;
  worker: Worker<WatchJobData>;
  close(): Promise<void>;
}

export async function startWatch(deps: WatchDeps & { connection: Redis; inventory: Inventory }): Promise<WatchService> {
  const queue = new Queue<WatchJobData>(WATCH_QUEUE_NAME, { connection: deps.connection, prefix: PREFIX });
  queue.on('error', () => undefined);
  await syncWatchSchedulers(queue, deps.inventory);
  const worker = new Worker<WatchJobData>(
    WATCH_QUEUE_NAME,
    async (job) => {
      const cluster = clusterConfig(deps.inventory, job.data.cluster);
      if (!cluster) return; // removed from the inventory; syncWatchSchedulers drops its scheduler
      await runWatchCheck(deps, cluster, String(job.id));
    },
    { connection: deps.connection, prefix: PREFIX, concurrency: 4 },
  );
  worker.on('error', (err) => deps.logger.warn({ err }, 'watch worker error'));
  worker.on('failed', (job, err) => deps.logger.warn({ err, cluster: job?.data.cluster }, 'watch check failed'));
  return {
    queue, worker,
    close: async () => {
      // force: a check in flight is only reads; its lock expires and the next interval runs anyway
      await worker.close(true);
      await queue.close();
    },
  };
}
