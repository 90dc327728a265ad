/**
 * One SSH connection to one node (ssh2 Client), implementing RemoteShell.
 *
 * - Host keys are checked against an OpenSSH known_hosts file: an unknown, changed or revoked
 *   key refuses the connection with a HostKeyError naming the offered fingerprint.
 * - Auth with a private key file (+ passphrase) or the agent at SSH_AUTH_SOCK.
 * - Commands are argv arrays, quoted here; privileged ones get `sudo -n --` when the target
 *   uses sudo. No pty, so stdout and stderr stay apart and sudo never prompts.
 * - A client-side timer per command (ssh2 has none): on expiry the channel gets KILL and is
 *   closed, and the command rejects with CommandTimeoutError.
 * - At most `maxChannels` (default 8) channels at once, below OpenSSH's MaxSessions of 10.
 * - The connection opens lazily on the first command; when it drops, the commands in flight
 *   reject with ConnectionLostError (never retried here: they may have run) and the next
 *   command opens a new connection.
 */
import { readFile, unlink } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, ServerHostKeyAlgorithm, SFTPWrapper } from 'ssh2';
import {
  CommandFailedError,
  CommandTimeoutError,
  ConnectionLostError,
  HostKeyError,
  SshConnectError,
  SshError,
  maskSecrets,
  tail,
} from './errors.ts';
import { KnownHosts, fingerprint, keyTypeOf, type HostKeyCheck } from './known-hosts.ts';
import { CappedOutput, MAX_OUTPUT_BYTES } from './capped-output.ts';
import { commandLine } from './quote.ts';
import { Semaphore } from './semaphore.ts';
import type { CommandEvent, ExecOptions, ExecResult, RemoteShell, SshTarget, UploadOptions } from './types.ts';

const { Client, utils } = ssh2;
type SshClient = InstanceType<typeof Client>;

export interface SshConnectionOptions {
  /** Called once for every command and download, successful or not (the audit trail). */
  onCommand?: (event: CommandEvent) => void;
  /** Concurrent channels on this connection (default 8; OpenSSH allows 10 sessions). */
  maxChannels?: number;
  /** SSH keepalive interval (default 15 s; 3 missed answers drop the connection). */
  keepaliveIntervalMs?: number;
  /** Bytes kept of each of stdout and stderr per command (default 4 MiB); the rest is dropped, with a note. */
  maxOutputBytes?: number;
}

/** ssh2's host key algorithms in its default order (Node 20 has Ed25519). */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const satisfies readonly ServerHostKeyAlgorithm[];
type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];

/** Like OpenSSH: prefer the algorithms of the key types already on file for this host. */
export function hostKeyAlgorithmsFor(knownTypes: readonly string[]): HostKeyAlgorithm[] {
  const preferred: HostKeyAlgorithm[] = [];
  for (const type of knownTypes) {
    const algos = type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
    for (const a of algos) {
      const known = HOST_KEY_ALGORITHMS.find((h) => h === a);
      if (known && !preferred.includes(known)) preferred.push(known);
    }
  }
  return [...preferred, ...HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))];
}

type LostHandler = (detail?: string) => void;
type CommandHook = (event: CommandEvent) => void;

export class SshConnection implements RemoteShell {
  readonly node: string;
  private client: SshClient | undefined;
  private connecting: Promise<SshClient> | undefined;
  private readonly slots: Semaphore;
  private readonly inflight = new Set<LostHandler>();
  private closedByUser = false;
  private opened = 0;

  constructor(
    readonly target: SshTarget,
    private readonly options: SshConnectionOptions = {},
  ) {
    this.node = target.node;
    this.slots = new Semaphore(options.maxChannels ?? 8);
  }

  /** How many times a connection was established (1 unless it dropped and was reopened). */
  get connectionsOpened(): number {
    return this.opened;
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** `onCommand`: one more audit hook for this command only (a pooled connection's caller). */
  async exec(argv: readonly string[], options: ExecOptions = {}, onCommand?: CommandHook): Promise<ExecResult> {
    let line = commandLine(argv);
    if (options.privileged && this.target.sudo) line = `sudo -n -- ${line}`;
    const shown = options.display ?? maskSecrets(line, options.secrets);
    const timeoutMs = options.timeoutMs ?? this.target.commandTimeoutMs;
    const ok = options.okExitCodes ?? [0];
    const started = performance.now();
    let code: number | null = null;
    try {
      const release = await this.slots.acquire();
      try {
        const client = await this.connect();
        const result = await this.run(client, line, shown, timeoutMs);
        code = result.code;
        if (result.code === null || (ok !== 'any' && !ok.includes(result.code))) {
          throw new CommandFailedError(
            this.node,
            shown,
            result.code,
            maskSecrets(tail(result.stderr), options.secrets),
            result.signal,
            maskSecrets(tail(result.stdout, 10, 1000), options.secrets),
          );
        }
        const done: ExecResult = {
          command: shown,
          stdout: result.stdout,
          stderr: result.stderr,
          code: result.code,
          durationMs: Math.round(performance.now() - started),
        };
        this.emit({ node: this.node, command: shown, code: result.code, durationMs: done.durationMs }, onCommand);
        return done;
      } finally {
        release();
      }
    } catch (err) {
      this.emit({
        node: this.node,
        command: shown,
        code,
        durationMs: Math.round(performance.now() - started),
        error: maskSecrets(err instanceof Error ? err.message : String(err), options.secrets),
      }, onCommand);
      // Whatever the error (a timeout, a dropped connection, ssh2's own), it leaves without the secrets.
      if (options.secrets && err instanceof Error) {
        err.message = maskSecrets(err.message, options.secrets);
        if (err.stack) err.stack = maskSecrets(err.stack, options.secrets);
      }
      throw err;
    }
  }

  async download(remotePath: string, localPath: string, onCommand?: CommandHook): Promise<void> {
    const shown = `sftp get ${remotePath} ${localPath}`;
    const started = performance.now();
    try {
      await this.sftpSession(shown, (sftp, finish) => {
        this.fastGet(sftp, remotePath, localPath, (getErr) => {
          finish(getErr ? new SshError(`cannot download ${remotePath} from ${this.node}: ${getErr.message}`, this.node) : undefined);
        });
      });
      this.emitTransfer(shown, started, undefined, onCommand);
    } catch (err) {
      await unlink(localPath).catch(() => undefined);
      this.emitTransfer(shown, started, err instanceof Error ? err.message : String(err), onCommand);
      throw err;
    }
  }

  async upload(data: Buffer | string, remotePath: string, options: UploadOptions = {}, onCommand?: CommandHook): Promise<string> {
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const mode = options.mode ?? 0o600;
    const shown = `sftp put ${remotePath}`;
    const started = performance.now();
    let absolute = remotePath;
    try {
      if (remotePath === '' || remotePath.includes('\0')) throw new SshError(`cannot upload to ${JSON.stringify(remotePath)} on ${this.node}: not a usable path`, this.node);
      await this.sftpSession(shown, (sftp, finish) => {
        this.putExclusive(sftp, remotePath, body, mode, (putErr, abs) => {
          if (putErr) finish(new SshError(`cannot upload ${remotePath} to ${this.node}: ${putErr}`, this.node));
          else {
            absolute = abs ?? remotePath;
            finish();
          }
        });
      });
      this.emitTransfer(shown, started, undefined, onCommand);
      return absolute;
    } catch (err) {
      this.emitTransfer(shown, started, err instanceof Error ? err.message : String(err), onCommand);
      throw err;
    }
  }

  close(): void {
    this.closedByUser = true;
    const client = this.client;
    this.client = undefined;
    client?.end();
    this.failInflight('the connection was closed');
  }

  // ---------------------------------------------------------------------------------------

  /**
   * Opens an SFTP session on this connection (holding a slot, under the command timeout) and
   * hands it to `use`, which calls `finish` once, with the transfer's error or none: that ends
   * the session and settles the transfer.
   */
  private async sftpSession(shown: string, use: (sftp: SFTPWrapper, finish: (err?: Error) => void) => void): Promise<void> {
    const release = await this.slots.acquire();
    try {
      const client = await this.connect();
      await this.guarded(shown, this.target.commandTimeoutMs, (settle, onTimeout, isDone) => {
        client.sftp((err, sftp) => {
          if (err) {
            settle(new SshError(`cannot start SFTP on ${this.node}: ${err.message}`, this.node));
            return;
          }
          if (isDone()) {
            sftp.end();
            return;
          }
          onTimeout(() => sftp.end());
          use(sftp, (transferErr) => {
            sftp.end();
            settle(transferErr);
          });
        });
      });
    } finally {
      release();
    }
  }

  /** The command event of an SFTP transfer: code 0, or code null with the error's message. */
  private emitTransfer(shown: string, started: number, error: string | undefined, onCommand: CommandHook | undefined): void {
    const durationMs = Math.round(performance.now() - started);
    if (error === undefined) this.emit({ node: this.node, command: shown, code: 0, durationMs }, onCommand);
    else this.emit({ node: this.node, command: shown, code: null, durationMs, error }, onCommand);
  }

  private fastGet(sftp: SFTPWrapper, remote: string, local: string, cb: (err?: Error | null) => void): void {
    sftp.fastGet(remote, local, (err) => cb(err));
  }

  /**
   * open(O_WRONLY|O_CREAT|O_EXCL) → write in chunks → close → realpath. A file that was created
   * but not fully written is removed again. Calls back with a problem in words, or the absolute path.
   */
  private putExclusive(sftp: SFTPWrapper, remote: string, body: Buffer, mode: number, cb: (problem?: string, absolute?: string) => void): void {
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

  private emit(event: CommandEvent, extra?: CommandHook): void {
    for (const hook of [this.options.onCommand, extra]) {
      try {
        hook?.(event);
      } catch {
        // the audit hook must never break a command
      }
    }
  }

  private failInflight(detail?: string): void {
    const handlers = [...this.inflight];
    this.inflight.clear();
    for (const h of handlers) h(detail);
  }

  /**
   * Runs `start` with a timeout and connection-loss handling. `settle(err?)` ends it;
   * `onTimeout(fn)` registers cleanup to run if the timer fires first.
   */
  private guarded(
    shown: string,
    timeoutMs: number,
    start: (settle: (err?: Error) => void, onTimeout: (fn: () => void) => void, isDone: () => boolean) => void,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const cleanups: Array<() => void> = [];
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.inflight.delete(lost);
        if (err) reject(err);
        else resolve();
      };
      const lost: LostHandler = (detail) => finish(new ConnectionLostError(this.node, shown, detail));
      const timer = setTimeout(() => {
        for (const fn of cleanups) {
          try {
            fn();
          } catch {
            // best effort
          }
        }
        finish(new CommandTimeoutError(this.node, shown, timeoutMs));
      }, timeoutMs);
      this.inflight.add(lost);
      try {
        start(
          finish,
          (fn) => cleanups.push(fn),
          () => done,
        );
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private async run(
    client: SshClient,
    line: string,
    shown: string,
    timeoutMs: number,
  ): Promise<{ stdout: string; stderr: string; code: number | null; signal?: string }> {
    const maxBytes = this.options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
    const out = new CappedOutput(maxBytes);
    const err = new CappedOutput(maxBytes);
    let code: number | null = null;
    let signal: string | undefined;
    await this.guarded(shown, timeoutMs, (settle, onTimeout, isDone) => {
      client.exec(line, (openErr, stream: ClientChannel) => {
        if (openErr) {
          settle(new SshError(`cannot run \`${shown}\` on ${this.node}: ${openErr.message}`, this.node));
          return;
        }
        if (isDone()) {
          // timed out (or the connection went) before the channel opened
          stream.close();
          return;
        }
        onTimeout(() => {
          stream.signal('KILL');
          stream.close();
        });
        stream.on('data', (chunk: Buffer) => out.push(chunk));
        stream.stderr.on('data', (chunk: Buffer) => err.push(chunk));
        stream.on('exit', (exitCode: number | null, exitSignal?: string) => {
          if (typeof exitCode === 'number') code = exitCode;
          if (exitSignal) signal = exitSignal;
        });
        stream.on('error', (e: Error) => settle(new SshError(`\`${shown}\` on ${this.node}: ${e.message}`, this.node)));
        stream.on('close', () => {
          if (code === null && signal === undefined && this.client !== client) {
            // The channel closed because the connection went away, not because the command ended.
            settle(new ConnectionLostError(this.node, shown));
            return;
          }
          settle();
        });
      });
    });
    const result: { stdout: string; stderr: string; code: number | null; signal?: string } = {
      stdout: out.text(),
      stderr: err.text(),
      code,
    };
    if (signal) result.signal = signal;
    return result;
  }

  private connect(): Promise<SshClient> {
    if (this.closedByUser) return Promise.reject(new SshError(`the SSH connection to ${this.node} was closed`, this.node));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<SshClient> {
    const t = this.target;
    const fail = (problem: ConstructorParameters<typeof SshConnectError>[3], detail: string, cause?: unknown): SshConnectError =>
      new SshConnectError(t.node, t.host, t.port, problem, detail, cause === undefined ? undefined : { cause });

    let knownHosts: KnownHosts;
    try {
      knownHosts = KnownHosts.load(t.knownHostsPath);
    } catch (err) {
      throw fail('other', `cannot read the known_hosts file ${t.knownHostsPath} (${errCode(err)})`);
    }

    const config: ConnectConfig = {
      host: t.host.replace(/^\[(.*)\]$/, '$1'),
      port: t.port,
      username: t.user,
      readyTimeout: t.connectTimeoutMs,
      keepaliveInterval: this.options.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: hostKeyAlgorithmsFor(knownHosts.knownKeyTypes(t.host, t.port)) },
    };

    if (t.privateKeyPath) {
      let key: Buffer;
      try {
        key = await readFile(t.privateKeyPath);
      } catch (err) {
        throw fail('key', `cannot read the private key file ${t.privateKeyPath} (${errCode(err)})`);
      }
      const parsed = utils.parseKey(key, t.passphrase);
      if (parsed instanceof Error) {
        const why = /passphrase/i.test(parsed.message)
          ? t.passphrase
            ? 'the passphrase does not decrypt it'
            : 'it is encrypted and no passphrase was given (set the variable named by ssh.passphraseEnv)'
          : 'it is not a private key ssh2 can read';
        throw fail('key', `cannot use the private key ${t.privateKeyPath}: ${why}`);
      }
      config.privateKey = key;
      if (t.passphrase) config.passphrase = t.passphrase;
    }
    if (t.agent) {
      const sock = process.env.SSH_AUTH_SOCK;
      if (sock) config.agent = sock;
      else if (!t.privateKeyPath) throw fail('key', 'the inventory says agent: true but SSH_AUTH_SOCK is not set');
    }
    if (!config.privateKey && !config.agent) throw fail('key', 'no private key and no agent configured');

    let hostCheck: { check: HostKeyCheck; key: Buffer } | undefined;
    config.hostVerifier = (key: Buffer): boolean => {
      const check = knownHosts.verify(t.host, t.port, key);
      hostCheck = { check, key };
      return check.status === 'ok';
    };

    const client = new Client();
    return new Promise<SshClient>((resolve, reject) => {
      let ready = false;
      let lastError: Error | undefined;
      client.on('ready', () => {
        ready = true;
        // Small request/response exchanges: without TCP_NODELAY each command waits ~40 ms for Nagle.
        client.setNoDelay(true);
        this.client = client;
        this.opened++;
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        lastError = err;
        if (ready) return; // reported through 'close' to the commands in flight
        reject(this.connectError(err, hostCheck, knownHosts, fail));
      });
      client.on('close', () => {
        if (!ready) {
          reject(lastError ? this.connectError(lastError, hostCheck, knownHosts, fail) : fail('other', 'the server closed the connection during the handshake'));
          return;
        }
        if (this.client === client) this.client = undefined;
        this.failInflight(lastError?.message);
      });
      try {
        client.connect(config);
      } catch (err) {
        reject(fail('other', err instanceof Error ? err.message : String(err), err));
      }
    });
  }

  private connectError(
    err: Error & { level?: string; code?: string },
    hostCheck: { check: HostKeyCheck; key: Buffer } | undefined,
    knownHosts: KnownHosts,
    fail: (problem: ConstructorParameters<typeof SshConnectError>[3], detail: string, cause?: unknown) => SshConnectError,
  ): Error {
    const t = this.target;
    if (hostCheck && hostCheck.check.status !== 'ok') {
      const { check, key } = hostCheck;
      const problem = check.status === 'unknown' ? 'unknown' : check.status === 'revoked' ? 'revoked' : 'changed';
      return new HostKeyError(t.node, t.host, t.port, problem, fingerprint(key), keyTypeOf(key), knownHosts.path, {
        ...(check.status === 'mismatch' ? { line: check.line, knownTypes: check.knownTypes } : {}),
        ...(check.status === 'revoked' ? { line: check.line } : {}),
        fileMissing: knownHosts.missing,
      });
    }
    switch (err.level) {
      case 'client-authentication':
        return fail(
          'auth',
          `authentication as "${t.user}" failed (${t.privateKeyPath ? `key ${t.privateKeyPath}` : 'agent keys'}); ` +
            `check that the public key is in ~${t.user}/.ssh/authorized_keys on the node`,
        );
      case 'client-timeout':
        return fail('timeout', `no SSH handshake within ${t.connectTimeoutMs} ms`);
      case 'client-socket':
        if (err.code === 'ECONNREFUSED') return fail('refused', 'connection refused (is sshd running, and is the port right?)');
        if (err.code && ['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EHOSTDOWN'].includes(err.code)) {
          return fail('unreachable', `host unreachable (${err.code})`);
        }
        return fail('other', `network error (${err.code ?? err.message})`);
      default:
        return fail('other', err.message);
    }
  }
}

/** An SFTP status error in words (ssh2 sets `code` to the SFTP status: 2 no such file, 3 permission denied, 4 failure). */
function sftpProblem(err: Error & { code?: unknown }, failureHint?: string): string {
  if (err.code === 2) return 'no such file or directory';
  if (err.code === 3) return 'permission denied';
  if (err.code === 4 && failureHint) return `${err.message} (${failureHint})`;
  return err.message;
}

function errCode(err: unknown): string {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : String(err);
}
