/** One simulated node's SSH endpoint: an ssh2 Server behind our own TCP listener (so a node can go down and come back on the same port). */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ParsedKey, ServerChannel, Session, SFTPWrapper } from 'ssh2';
import type { SimNode } from './node.ts';
import type { ExecOutcome, SimCommandRecord } from './runner.ts';

/** What runs an exec request on a node: the Linux shell (Runner) or cmd.exe (WindowsRunner). */
export interface SimExecRunner {
  readonly log: SimCommandRecord[];
  run(node: SimNode, command: string, signal: AbortSignal): Promise<ExecOutcome>;
}
import { SftpWriter } from './sftp-write.ts';

const { Server, utils } = ssh2;
const { STATUS_CODE } = utils.sftp;

/** OpenSSH's MaxSessions default. */
const MAX_SESSIONS = 10;
const IDENT = 'OpenSSH_8.2p1 Ubuntu-4ubuntu0.3';

export interface HostKey {
  privateKey: string;
  /** `ssh-ed25519 AAAA...` */
  publicLine: string;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

/**
 * An ed25519 pair from ssh2 that ssh2 itself can read back. ssh2's generator drops a leading zero
 * byte of the public key about once in 256 keys, which makes a key it then calls malformed.
 */
export function generateEd25519(comment?: string): { private: string; public: string; parsed: ParsedKey } {
  for (let i = 0; i < 20; i++) {
    const pair = utils.generateKeyPairSync('ed25519', comment ? { comment } : undefined);
    const priv = utils.parseKey(pair.private);
    const pub = utils.parseKey(pair.public);
    if (!(priv instanceof Error) && !(pub instanceof Error) && priv.getPublicSSH().length === 51) return { private: pair.private, public: pair.public, parsed: priv };
  }
  throw new Error('simulator: could not generate an ed25519 key');
}

export function generateHostKey(): HostKey {
  const pair = generateEd25519();
  const blob = pair.parsed.getPublicSSH();
  return {
    privateKey: pair.private,
    publicLine: `ssh-ed25519 ${blob.toString('base64')}`,
    fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`,
  };
}

interface Conn {
  socket: Socket;
  client?: Connection;
}

function attrsOf(size: number, kind: 'file' | 'dir', owner: string, mode: number, mtimeMs: number) {
  const uid = owner === 'root' ? 0 : 1000;
  const t = Math.floor(mtimeMs / 1000);
  return { mode: (kind === 'dir' ? 0o040000 : 0o100000) | (mode & 0o7777), uid, gid: uid, size, atime: t, mtime: t };
}


/**
 * ssh2 writes every SSH packet on its own (an exec's answer is four to six of them): held until the
 * end of the tick, the packets written in one tick leave in one writev. The simulator's system
 * calls are the bench machine's cost, not the bot's.
 */
function corkPerTick(socket: Socket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  socket.write = (...args: unknown[]) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    return write(...args);
  };
}
export class SimSshNode {
  hostKey: HostKey;
  port = 0;
  private ssh: InstanceType<typeof Server>;
  private readonly net: NetServer;
  private readonly conns = new Set<Conn>();
  private listening = false;
  private down = false;
  /** TCP connections accepted so far (each one an SSH handshake). */
  connectionsAccepted = 0;

  constructor(
    readonly node: SimNode,
    readonly host: string,
    private readonly user: string,
    private readonly clientKey: ParsedKey,
    private readonly runner: SimExecRunner,
  ) {
    this.hostKey = generateHostKey();
    this.ssh = this.makeServer();
    this.net = createServer((socket) => this.onSocket(socket));
    this.net.on('error', () => {});
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.net.once('error', onError);
      this.net.listen(port, this.host, () => {
        this.net.off('error', onError);
        resolve();
      });
    });
    const addr = this.net.address();
    if (addr && typeof addr === 'object') this.port = addr.port;
    this.listening = true;
  }

  /** Down: the port refuses connections and open connections are cut. */
  async setDown(down: boolean): Promise<void> {
    this.down = down;
    if (down) {
      this.dropAll();
      if (this.listening) {
        this.listening = false;
        await new Promise<void>((resolve) => this.net.close(() => resolve()));
      }
    } else if (!this.listening) {
      await this.listen(this.port);
    }
  }

  /** A re-imaged host: a new key, and the connections to the old system are gone. */
  rotateHostKey(): void {
    this.hostKey = generateHostKey();
    this.ssh = this.makeServer();
    this.dropAll();
  }

  dropAll(): void {
    for (const c of this.conns) c.socket.destroy();
    this.conns.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    if (this.listening) {
      this.listening = false;
      await new Promise<void>((resolve) => this.net.close(() => resolve()));
    }
  }

  private onSocket(socket: Socket): void {
    if (this.down) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {});
    socket.setNoDelay(true);
    this.connectionsAccepted++;
    const conn: Conn = { socket };
    this.conns.add(conn);
    socket.once('close', () => this.conns.delete(conn));
    corkPerTick(socket);
    this.ssh.injectSocket(socket);
  }

  private makeServer(): InstanceType<typeof Server> {
    const server = new Server({ hostKeys: [this.hostKey.privateKey], ident: IDENT }, (client, info) => {
      const conn = [...this.conns].find((c) => c.socket.remotePort === info.port && c.socket.remoteAddress === info.ip);
      if (conn) conn.client = client;
      const socket = conn?.socket;
      client.on('error', () => {});
      client.on('authentication', (ctx) => this.authenticate(ctx));
      client.on('ready', () => {
        let sessions = 0;
        client.on('session', (accept, reject) => {
          if (sessions >= MAX_SESSIONS) {
            reject();
            return;
          }
          sessions++;
          const session = accept();
          let counted = true;
          const release = () => {
            if (counted) {
              counted = false;
              sessions--;
            }
          };
          session.on('close', release);
          this.handleSession(session, socket, release);
        });
        client.on('request', (accept, reject) => reject?.());
        client.on('tcpip', (_accept, reject) => reject());
      });
    });
    server.on('error', () => {});
    return server;
  }

  private authenticate(ctx: AuthContext): void {
    if (ctx.username !== this.user || ctx.method !== 'publickey') {
      ctx.reject(['publickey']);
      return;
    }
    const want = this.clientKey.getPublicSSH();
    if (ctx.key.algo !== this.clientKey.type || ctx.key.data.length !== want.length || !timingSafeEqual(ctx.key.data, want)) {
      ctx.reject(['publickey']);
      return;
    }
    if (ctx.signature === undefined || ctx.blob === undefined) {
      ctx.accept(); // the client only asked whether this key would do
      return;
    }
    if (!this.clientKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) {
      ctx.reject(['publickey']);
      return;
    }
    ctx.accept();
  }

  private handleSession(session: Session, socket: Socket | undefined, release: () => void): void {
    session.on('env', (accept) => accept?.());
    session.on('pty', (accept) => accept?.());
    session.on('window-change', (accept) => accept?.());
    session.on('shell', (_accept, reject) => reject?.());
    session.on('exec', (accept, _reject, info) => {
      const ch = accept();
      this.runExec(ch, info.command, socket, release);
    });
    session.on('sftp', (accept) => {
      const sftp = accept();
      this.serveSftp(sftp);
    });
  }

  private runExec(ch: ServerChannel, command: string, socket: Socket | undefined, release: () => void): void {
    const ac = new AbortController();
    let closed = false;
    ch.on('close', () => {
      closed = true;
      ac.abort();
      release();
    });
    ch.on('error', () => {});
    this.runner
      .run(this.node, command, ac.signal)
      .then((outcome) => {
        if (outcome.kind === 'drop') {
          socket?.destroy();
          return;
        }
        if (outcome.kind === 'hang' || closed) return;
        const { stdout, stderr, code } = outcome.result;
        if (stdout) ch.write(stdout);
        if (stderr) ch.stderr.write(stderr);
        ch.exit(code);
        ch.end();
      })
      .catch(() => {
        if (!closed) {
          ch.stderr.write('mk8s-sim: internal error\n');
          ch.exit(255);
          ch.end();
        }
      });
  }

  private serveSftp(sftp: SFTPWrapper): void {
    const fs = this.node.fs;
    const handles = new Map<string, { path: string; data: Buffer }>();
    let nextHandle = 0;
    const writer = new SftpWriter(this.node, this.runner.log, Date.now);
    const status = (reqid: number, e: string) =>
      sftp.status(reqid, e === 'ENOENT' || e === 'ENOTDIR' ? STATUS_CODE.NO_SUCH_FILE : e === 'EACCES' || e === 'EPERM' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE);
    sftp.on('OPEN', (reqid, filename, flags, attrs) => {
      if (SftpWriter.isWrite(flags)) {
        writer.open(sftp, reqid, filename, flags, attrs.mode);
        return;
      }
      const data = fs.readFile(filename, false);
      if (typeof data === 'string') {
        status(reqid, data);
        return;
      }
      const h = Buffer.alloc(4);
      h.writeUInt32BE(nextHandle++);
      handles.set(h.toString('hex'), { path: fs.resolve(filename), data });
      sftp.handle(reqid, h);
    });
    sftp.on('READ', (reqid, handle, offset, length) => {
      const h = handles.get(handle.toString('hex'));
      if (!h) {
        sftp.status(reqid, STATUS_CODE.FAILURE);
        return;
      }
      if (offset >= h.data.length) {
        sftp.status(reqid, STATUS_CODE.EOF);
        return;
      }
      sftp.data(reqid, h.data.subarray(offset, Math.min(h.data.length, offset + length)));
    });
    sftp.on('FSTAT', (reqid, handle) => {
      const h = handles.get(handle.toString('hex'));
      if (!h) {
        sftp.status(reqid, STATUS_CODE.FAILURE);
        return;
      }
      const e = fs.entry(h.path);
      sftp.attrs(reqid, attrsOf(h.data.length, 'file', e?.owner ?? 'root', e?.mode ?? 0o644, e?.mtimeMs ?? 0));
    });
    const onStat = (reqid: number, path: string) => {
      const e = fs.stat(path, false);
      if (typeof e === 'string') {
        status(reqid, e);
        return;
      }
      sftp.attrs(reqid, attrsOf(e.size, e.kind, e.owner, e.mode, e.mtimeMs));
    };
    sftp.on('STAT', onStat);
    sftp.on('LSTAT', onStat);
    sftp.on('WRITE', (reqid, handle, offset, data) => {
      if (!writer.write(sftp, reqid, handle, offset, data)) sftp.status(reqid, STATUS_CODE.FAILURE);
    });
    sftp.on('REMOVE', (reqid, path) => writer.remove(sftp, reqid, path));
    sftp.on('CLOSE', (reqid, handle) => {
      if (writer.close(sftp, reqid, handle)) return;
      const key = handle.toString('hex');
      if (!handles.delete(key)) {
        sftp.status(reqid, STATUS_CODE.FAILURE);
        return;
      }
      sftp.status(reqid, STATUS_CODE.OK);
    });
    sftp.on('REALPATH', (reqid, path) => {
      const p = fs.resolve(path === '' ? '.' : path);
      sftp.name(reqid, [{ filename: p, longname: p, attrs: { mode: 0o040755, uid: 0, gid: 0, size: 4096, atime: 0, mtime: 0 } }]);
    });
  }
}
