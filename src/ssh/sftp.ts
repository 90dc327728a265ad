/**
 * SFTP transfers on an open session, for SshConnection's download and upload (connection.ts):
 * an upload never overwrites (O_EXCL), is written in chunks and removed again when it could
 * not be written whole; SFTP status errors are put in words.
 */
import type { SFTPWrapper } from 'ssh2';

export function fastGet(sftp: SFTPWrapper, remote: string, local: string, cb: (err?: Error | null) => void): void {
  sftp.fastGet(remote, local, (err) => cb(err));
}

/**
 * open(O_WRONLY|O_CREAT|O_EXCL) → write in chunks → close → realpath. A file that was created
 * but not fully written is removed again. Calls back with a problem in words, or the absolute path.
 */
export function putExclusive(sftp: SFTPWrapper, remote: string, body: Buffer, mode: number, cb: (problem?: string, absolute?: string) => void): void {
  sftp.open(remote, 'wx', { mode }, (openErr, handle) => {
    if (openErr) {
      cb(sftpProblem(openErr, 'it already exists, or the directory is not writable'));
      return;
    }
    const CHUNK = 32 * 1024;
    const abandon = (problem: string): void => {
      sftp.close(handle, () => sftp.unlink(remote, () => cb(problem)));
    };
    const writeFrom = (offset: number): void => {
      if (offset >= body.length) {
        sftp.close(handle, (closeErr) => {
          if (closeErr) {
            sftp.unlink(remote, () => cb(sftpProblem(closeErr)));
            return;
          }
          sftp.realpath(remote, (pathErr, absolute) => cb(undefined, pathErr ? remote : absolute));
        });
        return;
      }
      const length = Math.min(CHUNK, body.length - offset);
      sftp.write(handle, body, offset, length, offset, (writeErr) => {
        if (writeErr) abandon(sftpProblem(writeErr));
        else writeFrom(offset + length);
      });
    };
    writeFrom(0);
  });
}

/** An SFTP status error in words (ssh2 sets `code` to the SFTP status: 2 no such file, 3 permission denied, 4 failure). */
function sftpProblem(err: Error & { code?: unknown }, failureHint?: string): string {
  if (err.code === 2) return 'no such file or directory';
  if (err.code === 3) return 'permission denied';
  if (err.code === 4 && failureHint) return `${err.message} (${failureHint})`;
  return err.message;
}
