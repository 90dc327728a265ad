import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { BACKUP_FILE, pruneBackups, writeManifest } from '../store/backup-store.ts';

export interface BackupRecord {
  node: string;
  remotePath: string;
  localPath: string;
  sha256: string;
  bytes: number;
  /** The manifest written next to the tarball. */
  manifestPath: string;
  /** When it was taken (ISO 8601). */
  time: string;
  /** The tarball was removed from the node after the verified fetch. */
  remoteRemoved: boolean;
  /** Older backups of the cluster deleted to keep the newest `backups.keep`. */
  pruned: number;
  [key: string]: string | number | boolean;
}

/**
 * Tars the dqlite backend on a control-plane node, fetches it over SFTP into
 * `<backupDir>/<cluster>/<node>/`, checks the sha256 and size on both ends, writes its manifest,
 * removes the tarball from the node, then keeps only the cluster's newest `backups.keep`.
 */
export async function backupDatastore(run: RunContext, node: string): Promise<BackupRecord> {
  const ops = run.node(node);
  const remote = await ops.backupDatastore();
  const dir = resolve(run.backupDir, run.cluster.name, node);
  await mkdir(dir, { recursive: true });
  const localPath = join(dir, basename(remote.remotePath));
  const copy = await ops.fetchChecked(remote.remotePath, localPath, remote);
  if (!copy.ok) {
    throw new RunbookFailure(
      `Backup checksum mismatch: ${node} says sha256 ${remote.sha256} (${remote.bytes} bytes), the copy fetched here is ${copy.sha256} (${copy.bytes} bytes). The copy was discarded; the tarball is still on ${node} at ${remote.remotePath}. Nothing on the cluster was changed.`,
    );
  }
  const time = new Date().toISOString();
  const manifestPath = await writeManifest(localPath, {
    cluster: run.cluster.name, node, file: basename(localPath), sha256: remote.sha256, bytes: remote.bytes, job: run.jobId, time, remotePath: remote.remotePath,
  });

  // The copy here is verified: the node does not need to keep it (it would fill its disk).
  let remoteRemoved = false;
  if (BACKUP_FILE.test(basename(remote.remotePath))) {
    try {
      await ops.removeFile(remote.remotePath);
      remoteRemoved = true;
    } catch (err) {
      await run.say(`⚠️ The backup was fetched and verified, but removing ${remote.remotePath} from ${node} failed: ${errorText(err)}`);
    }
  }
  const pruned = await pruneBackups(run.backupDir, run.cluster.name, run.cluster.backups.keep);
  return { node, remotePath: remote.remotePath, localPath, sha256: remote.sha256, bytes: remote.bytes, manifestPath, time, remoteRemoved, pruned: pruned.length };
}

/** The backup step as a plan line. */
export function backupPlanStep(node: string | undefined, keep: number): PlanStep {
  return {
    title: 'back up the datastore',
    ...(node ? { node } : {}),
    commands: [
      'sudo tar -czf /var/snap/microk8s/common/mk8s-backup-<time>.tar.gz -C /var/snap/microk8s/current/var/kubernetes backend',
      'sudo sha256sum <backup>; sudo stat -c %s <backup>',
      '(fetch over SFTP into MK8S_BACKUP_DIR/<cluster>/<node>/, compare sha256 and size, write <backup>.json)',
      'sudo rm -f <backup>',
      `(keep the newest ${keep} backups of the cluster)`,
    ],
  };
}

/** The thread line of a finished backup step. */
export function describeBackup(b: BackupRecord): string {
  const extra = [b.remoteRemoved ? 'removed from the node' : 'left on the node', b.pruned > 0 ? `${b.pruned} older backup(s) pruned` : ''].filter(Boolean).join('; ');
  return `sha256 ${b.sha256} · ${b.bytes} bytes · kept at ${b.localPath}${extra ? ` · ${extra}` : ''}`;
}
