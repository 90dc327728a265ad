/**
 * Reading and rewriting a root-owned configuration file on a node, with argv commands only (no
 * shell redirection, no pipes):
 *
 *   read:    sudo cat FILE                       (exit 1 "No such file or directory" → absent)
 *   backup:  sudo cp -p FILE FILE.mk8s-<stamp>   (content, owner, group, mode and times kept)
 *   write:   SFTP put ~/.mk8s-ops-<job>-<random>  (as the SSH user, mode 0600, O_EXCL: never follows a planted file)
 *            sudo cp -p FILE FILE.mk8s-next      (a sibling with FILE's owner, group and mode)
 *            sudo cp UPLOAD FILE.mk8s-next       (the new content into it; metadata stays)
 *            sudo mv -f FILE.mk8s-next FILE      (atomic rename: readers see the old or the new file, never half of it)
 *            rm -f UPLOAD
 *            sudo cat FILE                       (read back and compared)
 *
 * The upload goes to the user's home directory, not /tmp, so no other local user can swap it
 * between the upload and the privileged copy.
 */
import { randomBytes } from 'node:crypto';
import { InvalidValueError, WriteMismatchError } from '../errors/user-facing.ts';
import { CommandFailedError } from '../ssh/errors.ts';
import type { RemoteShell } from '../ssh/types.ts';

/** Paths we read or write: absolute, plain characters only (they go into argv, but keep them boring). */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]+$/;

function assertPath(path: string): string {
  if (!SAFE_PATH.test(path) || path.includes('/../') || path.endsWith('/..')) throw new InvalidValueError(`refusing to touch ${JSON.stringify(path)}: not a plain absolute path`);
  return path;
}

/** The text of a file (read as root), or undefined when it does not exist. */
export async function readRemoteFile(shell: RemoteShell, path: string): Promise<string | undefined> {
  assertPath(path);
  const r = await shell.exec(['cat', path], { privileged: true, okExitCodes: [0, 1] });
  if (r.code === 0) return r.stdout;
  if (/No such file or directory/.test(r.stderr)) return undefined;
  throw new CommandFailedError(shell.node, r.command, r.code, r.stderr.trim().slice(-500));
}

/** `cp -p FILE FILE.mk8s-<stamp>`; returns the backup's path. */
export async function backupRemoteFile(shell: RemoteShell, path: string, stamp: string): Promise<string> {
  assertPath(path);
  if (!/^[0-9A-Za-z]{1,32}$/.test(stamp)) throw new InvalidValueError(`bad backup stamp ${JSON.stringify(stamp)}`);
  const backup = `${path}.mk8s-${stamp}`;
  await shell.exec(['cp', '-p', path, backup], { privileged: true });
  return backup;
}

/** Puts `backup` (made by backupRemoteFile) back at `path`: a sibling copy, then an atomic rename. */
export async function restoreRemoteFile(shell: RemoteShell, backup: string, path: string): Promise<void> {
  assertPath(path);
  assertPath(backup);
  await shell.exec(['cp', '-p', backup, `${path}.mk8s-next`], { privileged: true });
  await shell.exec(['mv', '-f', `${path}.mk8s-next`, path], { privileged: true });
}

export { WriteMismatchError } from '../errors/user-facing.ts';

/**
 * Replaces FILE's content with `content` (see the module comment for the commands). FILE keeps
 * its owner, group and mode; a FILE that did not exist is created as root (mode 0644).
 * `tag` names the upload (the job id). Throws WriteMismatchError when the read-back differs.
 */
export async function writeRemoteFile(shell: RemoteShell, path: string, content: string, tag: string, existed: boolean): Promise<void> {
  assertPath(path);
  if (!/^[0-9A-Za-z-]{1,40}$/.test(tag)) throw new InvalidValueError(`bad upload tag ${JSON.stringify(tag)}`);
  const next = `${path}.mk8s-next`;
  const upload = await shell.upload(content, `.mk8s-ops-${tag}-${randomBytes(6).toString('hex')}`);
  assertPath(upload);
  try {
    if (existed) await shell.exec(['cp', '-p', path, next], { privileged: true });
    await shell.exec(['cp', upload, next], { privileged: true });
    if (!existed) await shell.exec(['chmod', '0644', next], { privileged: true });
    await shell.exec(['mv', '-f', next, path], { privileged: true });
  } finally {
    await shell.exec(['rm', '-f', upload]).catch(() => undefined);
  }
  const back = await readRemoteFile(shell, path);
  if (back !== content) {
    throw new WriteMismatchError(`${path} on ${shell.node} does not hold what was written (read back ${back === undefined ? 'nothing' : `${back.length} bytes`}, wrote ${content.length})`);
  }
}
