import { basename, join } from 'node:path';
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { InvalidValueError } from '../errors/user-facing.ts';
import { BACKUP_FILE, privateDir, pruneBackups, writeManifest } from '../store/backup-store.ts';

export type BackupRecord = {
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
};

/**
 * Tars the dqlite backend on a control-plane node (private there from the start: see
 * MicroK8sNode.backupDatastore), fetches it over SFTP into `<backupDir>/<cluster>/<node>/`
 * (0600 in 0700 directories), checks the sha256 and size on both ends, writes its manifest,
 * then keeps only the cluster's newest `backups.keep`. The tarball is removed from the node on
 * every path: after the verified fetch, and after a mismatch or any other failure.
 */
export async function backupDatastore(run: RunContext, node: string): Promise<BackupRecord> {
  const ops = run.node(node);
  const remote = await ops.backupDatastore(run.cluster.ssh.user);
  let fetched: { localPath: string; manifestPath: string; time: string };
  try {
    fetched = await fetchBackup(run, node, remote);
  } catch (err) {
    const left = await removeRemote(run, node, remote.remotePath).then(
      () => `The tarball was removed from ${node}.`,
      (rmErr: unknown) => `Removing the tarball ${remote.remotePath} from ${node} failed too (${errorText(rmErr)}): remove it by hand, it holds the cluster's Secrets.`,
    );
    if (err instanceof RunbookFailure) throw new RunbookFailure(`${err.message} ${left}`, err.offers);
    throw new RunbookFailure(`The backup of ${node} could not be fetched: ${errorText(err)}. ${left} Nothing on the cluster was changed.`);
  }

  // The copy here is verified: the node does not keep it (it would fill its disk, and it holds every Secret).
  let remoteRemoved = false;
  try {
    await removeRemote(run, node, remote.remotePath);
    remoteRemoved = true;
  } catch (err) {
    await run.say(`⚠️ The backup was fetched and verified, but removing ${remote.remotePath} from ${node} failed: ${errorText(err)}. Remove it by hand: it holds the cluster's Secrets.`);
  }
  const { localPath, manifestPath, time } = fetched;
  const pruned = await pruneBackups(run.backupDir, run.cluster.name, run.cluster.backups.keep);
  return { node, remotePath: remote.remotePath, localPath, sha256: remote.sha256, bytes: remote.bytes, manifestPath, time, remoteRemoved, pruned: pruned.length };
}

/** `rm -f` of a tarball this bot made (nothing else is ever removed by this step). */
async function removeRemote(run: RunContext, node: string, remotePath: string): Promise<void> {
  if (!BACKUP_FILE.test(basename(remotePath))) throw new InvalidValueError(`${remotePath.slice(0, 120)} is not a backup tarball of this bot; not removed`);
  await run.node(node).removeFile(remotePath);
}

/** The SFTP fetch into the private backup directory, checked against the node's sha256 and size, and its manifest. */
async function fetchBackup(run: RunContext, node: string, remote: { remotePath: string; sha256: string; bytes: number }): Promise<{ localPath: string; manifestPath: string; time: string }> {
  const dir = await privateDir(run.backupDir, run.cluster.name, node);
  const localPath = join(dir, basename(remote.remotePath));
  const copy = await run.node(node).fetchChecked(remote.remotePath, localPath, remote);
  if (!copy.ok) {
    throw new RunbookFailure(
      `Backup checksum mismatch: ${node} says sha256 ${remote.sha256} (${remote.bytes} bytes), the copy fetched here is ${copy.sha256} (${copy.bytes} bytes). The copy was discarded. Nothing on the cluster was changed.`,
    );
  }
  const time = new Date().toISOString();
  const manifestPath = await writeManifest(localPath, {
    cluster: run.cluster.name, node, file: basename(localPath), sha256: remote.sha256, bytes: remote.bytes, job: run.jobId, time, remotePath: remote.remotePath,
  });
  return { localPath, manifestPath, time };
}

/** The backup step as a plan line. */
export function backupPlanStep(node: string | undefined, keep: number): PlanStep {
  return {
    title: 'back up the datastore',
    ...(node ? { node } : {}),
    commands: [
      'sudo install -m 0600 -o <ssh user> /dev/null /var/snap/microk8s/common/mk8s-backup-<time>.tar.gz (private from the start)',
      'sudo tar -czf /var/snap/microk8s/common/mk8s-backup-<time>.tar.gz -C /var/snap/microk8s/current/var/kubernetes backend',
      'sudo sha256sum <backup>; sudo stat -c %s <backup>',
      '(fetch over SFTP into MK8S_BACKUP_DIR/<cluster>/<node>/ (0600, directories 0700), compare sha256 and size, write <backup>.json)',
      'sudo rm -f <backup> (also when the fetch or the check fails)',
      `(keep the newest ${keep} backups of the cluster)`,
    ],
  };
}

/** The thread line of a finished backup step. */
export function describeBackup(b: BackupRecord): string {
  const extra = [b.remoteRemoved ? 'removed from the node' : 'left on the node', b.pruned > 0 ? `${b.pruned} older backup(s) pruned` : ''].filter(Boolean).join('; ');
  return `sha256 ${b.sha256} · ${b.bytes} bytes · kept at ${b.localPath}${extra ? ` · ${extra}` : ''}`;
}
