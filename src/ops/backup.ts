import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { RunContext } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';

export interface BackupRecord {
  node: string;
  remotePath: string;
  localPath: string;
  sha256: string;
  bytes: number;
  [key: string]: string | number;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('error', fail)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => ok(hash.digest('hex')));
  });
}

/**
 * Tars the dqlite backend on a control-plane node, fetches it over SFTP into
 * the backup directory and checks the sha256 on both ends.
 */
export async function backupDatastore(run: RunContext, node: string): Promise<BackupRecord> {
  const ops = run.node(node);
  const remote = await ops.backupDatastore();
  const dir = resolve(run.backupDir, run.cluster.name, node);
  await mkdir(dir, { recursive: true });
  const localPath = join(dir, basename(remote.remotePath));
  await ops.shell.download(remote.remotePath, localPath);
  const local = await sha256File(localPath);
  if (local !== remote.sha256) {
    throw new RunbookFailure(`Backup checksum mismatch: ${node} says ${remote.sha256}, the copy here is ${local}. The backup is not usable; nothing was changed.`);
  }
  return { node, remotePath: remote.remotePath, localPath, sha256: remote.sha256, bytes: remote.bytes };
}
