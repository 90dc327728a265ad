/**
 * One SSH connection to one node (ssh2 Client), implementing RemoteShell.
 *
 * - Opening it (connect.ts): host keys checked against an OpenSSH known_hosts file (an
 *   unknown, changed or revoked key refuses the connection with a HostKeyError naming the
 *   offered fingerprint); auth with a private key file (+ passphrase) or the agent at
 *   SSH_AUTH_SOCK; keepalives.
 * - Commands are argv arrays, quoted here; privileged ones get `sudo -n --` when the target
 *   uses sudo. No pty, so stdout and stderr stay apart and sudo never prompts.
 * - A client-side timer per command (channel.ts; ssh2 has none): on expiry the channel gets
 *   KILL and is closed, and the command rejects with CommandTimeoutError.
 * - At most `maxChannels` (default 8) channels at once, below OpenSSH's MaxSessions of 10.
 * - The connection opens lazily on the first command; when it drops, the commands in flight
 *   reject with ConnectionLostError (never retried here: they may have run) and the next
 *   command opens a new connection.
 * - Downloads and uploads over SFTP (sftp.ts), audited like commands.
 */
import { unlink } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { SFTPWrapper } from 'ssh2';
import { guarded, runOnChannel, type ChannelHost, type LostHandler } from './channel.ts';
import { openClient, type SshClient } from './connect.ts';
import { CommandFailedError, SshError, maskSecrets, tail } from './errors.ts';
import { MAX_OUTPUT_BYTES } from './capped-output.ts';
import { commandLine } from './quote.ts';
import { Semaphore } from './semaphore.ts';
import { fastGet, putExclusive } from './sftp.ts';
import type { CommandEvent, ExecOptions, ExecResult, RemoteShell, SshTarget, UploadOptions } from './types.ts';

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

type CommandHook = (event: CommandEvent) => void;

export class SshConnection implements RemoteShell {
  readonly node: string;
  private client: SshClient | undefined;
  private connecting: Promise<SshClient> | undefined;
  private readonly slots: Semaphore;
  private readonly inflight = new Set<LostHandler>();
  /** What a command's channel needs of this connection (channel.ts). */
  private readonly channelHost: ChannelHost & { isCurrent: (client: SshClient) => boolean };
  private closedByUser = false;
  private opened = 0;

  constructor(
    readonly target: SshTarget,
    private readonly options: SshConnectionOptions = {},
  ) {
    this.node = target.node;
    this.slots = new Semaphore(options.maxChannels ?? 8);
    this.channelHost = { node: this.node, inflight: this.inflight, isCurrent: (client) => this.client === client };
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
        const result = await runOnChannel(this.channelHost, client, line, shown, timeoutMs, this.options.maxOutputBytes ?? MAX_OUTPUT_BYTES);
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
        fastGet(sftp, remotePath, localPath, (getErr) => {
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
        putExclusive(sftp, remotePath, body, mode, (putErr, abs) => {
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
      await guarded(this.channelHost, shown, this.target.commandTimeoutMs, (settle, onTimeout, isDone) => {
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

  private connect(): Promise<SshClient> {
    if (this.closedByUser) return Promise.reject(new SshError(`the SSH connection to ${this.node} was closed`, this.node));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private open(): Promise<SshClient> {
    return openClient(this.target, this.options.keepaliveIntervalMs ?? 15_000, {
      ready: (client) => {
        this.client = client;
        this.opened++;
      },
      closed: (client, detail) => {
        if (this.client === client) this.client = undefined;
        this.failInflight(detail);
      },
    });
  }
}
