/**
 * What `upgrade-cni` backed up: per cluster, the job, the calico-node tags before and after, and
 * each node's backup of cni.yaml (what `upgrade-cni --restore` puts back). One Redis key per
 * cluster (`keys.cniBackup(cluster)`), replaced by the next upgrade or marked by the restore.
 */
import type { Redis } from 'ioredis';
import { keys } from '../queue/keys.ts';

export type CniBackupRecord = {
  job: string;
  at: number;
  /** calico-node tag the backups hold (what --restore goes back to) and what replaced it. */
  from: string;
  to: string;
  /** node → the path of its backup of cni.yaml. */
  backups: Record<string, string>;
  restoredBy?: string;
};

export async function writeCniBackup(redis: Redis, cluster: string, record: CniBackupRecord): Promise<void> {
  await redis.set(keys.cniBackup(cluster), JSON.stringify(record));
}

/** The cluster's record, or undefined when there is none or it cannot be read. */
export async function readCniBackup(redis: Redis, cluster: string): Promise<CniBackupRecord | undefined> {
  const raw = await redis.get(keys.cniBackup(cluster));
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as CniBackupRecord;
  } catch {
    return undefined;
  }
}
