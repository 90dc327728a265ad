/**
 * SFTP writes on a simulated node, as OpenSSH's sftp-server does them for the SSH user (never
 * root): OPEN with CREAT/EXCL/TRUNC, WRITE at offsets, CLOSE, REMOVE. The file exists from the
 * OPEN on (empty), and holds what was written once it is closed. Every upload is in the node's
 * command log as `sftp put <path>`, so tests can see it (and see that none happened).
 */
import type { SFTPWrapper } from 'ssh2';
import ssh2 from 'ssh2';
import type { FsError } from './fs.ts';
import type { SimCommandRecord } from './runner.ts';
import type { SimNode } from './node.ts';

const { OPEN_MODE, STATUS_CODE } = ssh2.utils.sftp;
const WRITE_FLAGS = OPEN_MODE.WRITE | OPEN_MODE.CREAT | OPEN_MODE.TRUNC | OPEN_MODE.APPEND;

interface WriteHandle {
  path: string;
  data: Buffer;
}

function code(e: FsError): number {
  return e === 'ENOENT' || e === 'ENOTDIR' ? STATUS_CODE.NO_SUCH_FILE : e === 'EACCES' || e === 'EPERM' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE;
}

export class SftpWriter {
  private readonly handles = new Map<string, WriteHandle>();
  private next = 0;

  constructor(
    private readonly node: SimNode,
    private readonly log: SimCommandRecord[],
    private readonly now: () => number,
  ) {}

  static isWrite(flags: number): boolean {
    return (flags & WRITE_FLAGS) !== 0;
  }

  /** OPEN for writing. */
  open(sftp: SFTPWrapper, reqid: number, filename: string, flags: number, mode: number | undefined): void {
    const fs = this.node.fs;
    const path = fs.resolve(filename);
    const existing = fs.stat(path, false);
    const exists = typeof existing !== 'string';
    if (exists && (flags & OPEN_MODE.EXCL) !== 0) {
      sftp.status(reqid, STATUS_CODE.FAILURE, 'File exists');
      return;
    }
    if (!exists && (flags & OPEN_MODE.CREAT) === 0) {
      sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
      return;
    }
    let data = Buffer.alloc(0);
    if (exists && (flags & OPEN_MODE.TRUNC) === 0) {
      const old = fs.readFile(path, false);
      if (typeof old === 'string') {
        sftp.status(reqid, code(old));
        return;
      }
      data = Buffer.from(old);
    }
    const err = fs.writeFile(path, data, false, this.now());
    if (err) {
      sftp.status(reqid, code(err));
      return;
    }
    const file = fs.files.get(path);
    if (file && !exists && mode !== undefined) file.mode = mode & 0o7777 & ~0o022;
    const h = Buffer.alloc(5);
    h.writeUInt8(0x77, 0);
    h.writeUInt32BE(this.next++, 1);
    this.handles.set(h.toString('hex'), { path, data });
    const started = Date.now();
    this.log.push({ node: this.node.name, command: `sftp put ${path}`, argv: ['sftp-put', path], sudo: false, code: 0, startedAt: started, durationMs: 0 });
    sftp.handle(reqid, h);
  }

  /** WRITE; false when the handle is not a write handle of this writer. */
  write(sftp: SFTPWrapper, reqid: number, handle: Buffer, offset: number, chunk: Buffer): boolean {
    const h = this.handles.get(handle.toString('hex'));
    if (!h) return false;
    const end = offset + chunk.length;
    if (end > h.data.length) {
      const grown = Buffer.alloc(end);
      h.data.copy(grown);
      h.data = grown;
    }
    chunk.copy(h.data, offset);
    sftp.status(reqid, STATUS_CODE.OK);
    return true;
  }

  /** CLOSE; false when the handle is not a write handle of this writer. */
  close(sftp: SFTPWrapper, reqid: number, handle: Buffer): boolean {
    const key = handle.toString('hex');
    const h = this.handles.get(key);
    if (!h) return false;
    this.handles.delete(key);
    const err = this.node.fs.writeFile(h.path, h.data, false, this.now());
    if (err) sftp.status(reqid, code(err));
    else sftp.status(reqid, STATUS_CODE.OK);
    return true;
  }

  /** REMOVE (unlink) as the SSH user. */
  remove(sftp: SFTPWrapper, reqid: number, path: string): void {
    const err = this.node.fs.remove(path, false);
    if (err) sftp.status(reqid, code(err));
    else sftp.status(reqid, STATUS_CODE.OK);
  }
}
