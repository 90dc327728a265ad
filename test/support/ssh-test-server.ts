/**
 * A tiny in-process SSH server for tests (ssh2 Server on loopback): publickey auth, scripted
 * answers to exec requests, hangs and dropped connections on demand, a read-only SFTP
 * subsystem serving in-memory files, and counters (connections, sessions, commands).
 *
 * Test-only. It is not the simulator (src/sim): it knows nothing about MicroK8s.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, ServerChannel, SFTPWrapper } from 'ssh2';
import type { SshTarget } from '../../src/ssh/types.ts';

const { Server, utils } = ssh2;
const { STATUS_CODE } = utils.sftp;

export type KeyType = 'ed25519' | 'ecdsa' | 'rsa';

export interface KeyPair {
  private: string;
  public: string;
  /** The OpenSSH `type base64` public line. */
  publicLine: string;
  /** Wire-format public key blob. */
  blob: Buffer;
}

export function makeKeyPair(type: KeyType = 'ed25519', passphrase?: string, attempt = 0): KeyPair {
  const enc = passphrase ? { passphrase, cipher: 'aes256-ctr', rounds: 16 } : undefined;
  const pair =
    type === 'rsa'
      ? utils.generateKeyPairSync('rsa', { bits: 2048, ...enc })
      : type === 'ecdsa'
        ? utils.generateKeyPairSync('ecdsa', { bits: 256, ...enc })
        : enc
          ? utils.generateKeyPairSync('ed25519', enc)
          : utils.generateKeyPairSync('ed25519');
  const parsed = utils.parseKey(pair.public);
  if (parsed instanceof Error || Array.isArray(parsed)) {
    // ssh2 1.17's generator sometimes writes an Ed25519 key whose first byte is 0 with a
    // 31-byte length, which its own parser then rejects (about 1 key in 256): make another.
    if (attempt < 10) return makeKeyPair(type, passphrase, attempt + 1);
    throw new Error(`cannot parse a generated ${type} key: ${String(parsed)}`);
  }
  const blob = parsed.getPublicSSH();
  return { private: pair.private, public: pair.public, publicLine: `${parsed.type} ${blob.toString('base64')}`, blob };
}

/** What the server does with one command. */
export type Reply =
  | { stdout?: string | Buffer; stderr?: string; code?: number; signal?: string; delayMs?: number }
  /** Never answer (the channel stays open until the client closes it). */
  | 'hang'
  /** Drop the whole connection without answering. */
  | 'drop';

export interface ExecRecord {
  /** Raw command string as received. */
  command: string;
  /** The command re-parsed into words by a POSIX-style splitter. */
  argv: string[];
  /** Which connection (1-based, in accept order). */
  connection: number;
  /** Set when the client sent a signal to the channel. */
  signals: string[];
  /** True once the client closed the channel. */
  closedByClient: boolean;
}

export interface TestServerOptions {
  hostKey?: KeyPair;
  /** More host keys of other types (the client picks one by its algorithm preference). */
  extraHostKeys?: KeyPair[];
  /** Public keys allowed to log in (default: one generated client key, see `clientKey`). */
  authorizedKeys?: KeyPair[];
  user?: string;
  /** Reject sessions beyond this many open at once on one connection (OpenSSH default 10). */
  maxSessions?: number;
  /** Answers commands; default: exit 127 "command not found". */
  handler?: (argv: string[], record: ExecRecord) => Reply | Promise<Reply>;
  /** Files served over SFTP, by absolute path. */
  files?: Map<string, Buffer>;
}

export interface TestServer {
  host: string;
  port: number;
  hostKey: KeyPair;
  clientKey: KeyPair;
  user: string;
  /** Accepted TCP connections. */
  connections: number;
  /** Connections that completed publickey auth. */
  authenticated: number;
  /** Highest number of sessions open at once on one connection. */
  maxConcurrentSessions: number;
  execs: ExecRecord[];
  files: Map<string, Buffer>;
  handler: NonNullable<TestServerOptions['handler']>;
  /** Drops every open connection now. */
  dropAll(): void;
  /** A known_hosts file (in a fresh temp dir) holding `lines`; returns its path. */
  writeKnownHosts(lines: string[]): string;
  /** `[127.0.0.1]:port type base64` for this server's host key (or another key). */
  knownHostsLine(key?: KeyPair): string;
  /** The hashed form `|1|salt|hmac type base64`. */
  hashedKnownHostsLine(key?: KeyPair): string;
  /** Writes the client private key to a temp file (0600); returns its path. */
  writeClientKey(key?: KeyPair): string;
  close(): Promise<void>;
}

/**
 * A target for `server` as node k8s-1: its client key and a known_hosts file holding its host key
 * (both written to fresh temp files), sudo, 5 s to connect, 10 s per command; `over` changes any of it.
 */
export function targetFor(server: TestServer, over: Partial<SshTarget> = {}): SshTarget {
  return {
    node: 'k8s-1',
    host: server.host,
    port: server.port,
    user: server.user,
    privateKeyPath: server.writeClientKey(),
    knownHostsPath: server.writeKnownHosts([server.knownHostsLine()]),
    sudo: true,
    connectTimeoutMs: 5_000,
    commandTimeoutMs: 10_000,
    ...over,
  };
}

/**
 * Splits a POSIX shell command line into words: single quotes, double quotes, backslashes.
 * Any unquoted metacharacter (`;`, `|`, `&`, `$`, backquote, `<`, `>`, `(`, `)`, newline)
 * throws, because it would mean the client let a shell feature through.
 */
export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated single quote in: ${line}`);
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (; i < line.length && line[i] !== '"'; i++) {
        const d = line.charAt(i);
        if (d === '$' || d === '`') throw new Error(`expansion inside double quotes in: ${line}`);
        if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line.charAt(i + 1))) {
          cur += line[++i];
        } else cur += d;
      }
      if (i >= line.length) throw new Error(`unterminated double quote in: ${line}`);
    } else if (c === '\\') {
      if (i + 1 < line.length) cur += line[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else if (';|&$`<>()\n*?[]{}~#'.includes(c) && !(c === '#' && inWord) && !(c === '~' && inWord)) {
      throw new Error(`unquoted shell metacharacter ${JSON.stringify(c)} in: ${line}`);
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

const tempDirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mk8s-ssh-test-'));
  tempDirs.push(d);
  return d;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const hostKey = options.hostKey ?? makeKeyPair('ed25519');
  const clientKey = options.authorizedKeys?.[0] ?? makeKeyPair('ed25519');
  const authorized = (options.authorizedKeys ?? [clientKey]).map((k) => parsePublic(k.public));
  const user = options.user ?? 'ubuntu';
  const maxSessions = options.maxSessions ?? 10;
  const clients = new Set<Connection>();

  const state: TestServer = {
    host: '127.0.0.1',
    port: 0,
    hostKey,
    clientKey,
    user,
    connections: 0,
    authenticated: 0,
    maxConcurrentSessions: 0,
    execs: [],
    files: options.files ?? new Map(),
    handler: options.handler ?? ((argv) => ({ stderr: `sh: 1: ${argv[0] ?? ''}: not found\n`, code: 127 })),
    dropAll() {
      for (const c of clients) c.end();
    },
    writeKnownHosts(lines) {
      const p = join(tempDir(), 'known_hosts');
      writeFileSync(p, `${lines.join('\n')}\n`);
      return p;
    },
    knownHostsLine(key = hostKey) {
      return `[${state.host}]:${state.port} ${key.publicLine}`;
    },
    hashedKnownHostsLine(key = hostKey) {
      const name = `[${state.host}]:${state.port}`;
      const salt = Buffer.from(Array.from({ length: 20 }, (_, i) => (i * 37 + state.port) & 0xff));
      // HMAC-SHA1 keyed with the salt, as OpenSSH's HashKnownHosts writes it
      const hmac = createHmac('sha1', salt).update(name).digest();
      return `|1|${salt.toString('base64')}|${hmac.toString('base64')} ${key.publicLine}`;
    },
    writeClientKey(key = clientKey) {
      const p = join(tempDir(), 'id_test');
      writeFileSync(p, key.private, { mode: 0o600 });
      return p;
    },
    close: async () => {
      for (const c of clients) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = new Server({ hostKeys: [hostKey.private, ...(options.extraHostKeys ?? []).map((k) => k.private)] }, (client) => {
    state.connections++;
    const connectionNo = state.connections;
    clients.add(client);
    let openSessions = 0;
    client.on('error', () => undefined);
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== user) {
        ctx.reject(['publickey']);
        return;
      }
      const match = authorized.find(
        (k) => ctx.key.algo === k.type && ctx.key.data.length === k.getPublicSSH().length && timingSafeEqual(ctx.key.data, k.getPublicSSH()),
      );
      if (!match) {
        ctx.reject(['publickey']);
        return;
      }
      if (!ctx.signature || !ctx.blob) {
        ctx.accept(); // the client is asking whether this key would do
        return;
      }
      if (match.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) ctx.accept();
      else ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      state.authenticated++;
      client.on('session', (acceptSession, rejectSession) => {
        if (openSessions >= maxSessions) {
          rejectSession();
          return;
        }
        openSessions++;
        state.maxConcurrentSessions = Math.max(state.maxConcurrentSessions, openSessions);
        const session = acceptSession();
        let ended = false;
        const endSession = (): void => {
          if (!ended) {
            ended = true;
            openSessions--;
          }
        };
        session.on('close', endSession);
        session.on('exec', (acceptExec, _reject, info) => {
          const channel = acceptExec();
          channel.resume(); // nothing reads stdin; let the stream end so 'close' fires
          channel.on('close', endSession);
          const record: ExecRecord = { command: info.command, argv: [], connection: connectionNo, signals: [], closedByClient: false };
          state.execs.push(record);
          session.on('signal', (accept, _rej, sig) => {
            record.signals.push(sig.name);
            accept?.();
          });
          channel.on('close', () => {
            record.closedByClient = true;
          });
          void answer(channel, record);
        });
        session.on('sftp', (acceptSftp) => {
          serveSftp(acceptSftp(), state.files);
        });
      });
    });

    async function answer(channel: ServerChannel, record: ExecRecord): Promise<void> {
      let reply: Reply;
      try {
        record.argv = splitShellWords(record.command);
        reply = await state.handler(record.argv, record);
      } catch (err) {
        reply = { stderr: `test server: ${err instanceof Error ? err.message : String(err)}\n`, code: 2 };
      }
      if (reply === 'hang') return;
      if (reply === 'drop') {
        client.end();
        return;
      }
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      if (reply.stdout) channel.write(reply.stdout);
      if (reply.stderr) channel.stderr.write(reply.stderr);
      if (reply.signal) channel.exit(reply.signal, false, '');
      else channel.exit(reply.code ?? 0);
      channel.end();
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the test SSH server has no TCP port');
  state.port = address.port;
  return state;
}

function parsePublic(text: string): ParsedKey {
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error(`cannot parse public key: ${String(parsed)}`);
  return parsed;
}

function fileAttrs(data: Buffer) {
  return { mode: 0o100644, uid: 0, gid: 0, size: data.length, atime: 0, mtime: 0 };
}

function serveSftp(sftp: SFTPWrapper, files: Map<string, Buffer>): void {
  const handles = new Map<number, Buffer>();
  let next = 1;
  const handleOf = (h: Buffer): Buffer | undefined => (h.length === 4 ? handles.get(h.readUInt32BE(0)) : undefined);
  const attrs = fileAttrs;
  sftp.on('OPEN', (reqid, filename) => {
    const data = files.get(filename);
    if (!data) {
      sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      return;
    }
    const h = Buffer.alloc(4);
    h.writeUInt32BE(next);
    handles.set(next++, data);
    sftp.handle(reqid, h);
  });
  sftp.on('READ', (reqid, handle, offset, length) => {
    const data = handleOf(handle);
    if (!data) {
      sftp.status(reqid, STATUS_CODE.FAILURE);
      return;
    }
    if (offset >= data.length) {
      sftp.status(reqid, STATUS_CODE.EOF);
      return;
    }
    sftp.data(reqid, data.subarray(offset, Math.min(data.length, offset + length)));
  });
  sftp.on('FSTAT', (reqid, handle) => {
    const data = handleOf(handle);
    if (!data) sftp.status(reqid, STATUS_CODE.FAILURE);
    else sftp.attrs(reqid, attrs(data));
  });
  const stat = (reqid: number, path: string): void => {
    const data = files.get(path);
    if (!data) sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    else sftp.attrs(reqid, attrs(data));
  };
  sftp.on('STAT', stat);
  sftp.on('LSTAT', stat);
  sftp.on('CLOSE', (reqid, handle) => {
    if (handle.length === 4) handles.delete(handle.readUInt32BE(0));
    sftp.status(reqid, STATUS_CODE.OK);
  });
}
