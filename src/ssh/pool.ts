/**
 * The warm SSH pool of one process: one authenticated connection per node, opened on first
 * use and reused by every job, precheck and `status` read until it has been idle for
 * `idleMs` (then closed; the next command opens a new one). A connection that drops is
 * opened again by the next command (the command that was in flight fails with
 * ConnectionLostError; it is not retried). Host keys are checked on every (re)connect, as
 * SshConnection does; at most `maxChannels` commands run on a node at once.
 *
 * Callers take a view of a node's connection with their own audit hook and default
 * command timeout (`shell(target, { onCommand, commandTimeoutMs })`): closing a view
 * closes nothing; `closeAll()` (process shutdown) closes every connection.
 */
import { SshConnection, type SshConnectionOptions } from './connection.ts';
import type { CommandEvent, ExecOptions, ExecResult, RemoteShell, SshTarget, UploadOptions } from './types.ts';

export interface SshPoolOptions extends SshConnectionOptions {
  /** Close a connection no command used for this long (default 5 min). */
  idleMs?: number;
}

/** What one caller adds to the shared connection. */
export interface ShellView {
  /** Called for this caller's commands only (a job's audit trail). */
  onCommand?: (event: CommandEvent) => void;
  /** Default command timeout for this caller (a precheck's budget); ExecOptions.timeoutMs still wins. */
  commandTimeoutMs?: number;
}

interface Entry {
  conn: SshConnection;
  lastUsed: number;
  busy: number;
}

/** Everything that makes two targets the same connection (timeouts are per caller, not part of it). */
function keyOf(t: SshTarget): string {
  return [t.node, t.user, t.host, t.port, t.knownHostsPath, t.privateKeyPath ?? '', t.agent ? 'agent' : '', t.passphrase ? 'pass' : '', t.sudo ? 'sudo' : ''].join('\u0000');
}

export class SshPool {
  private readonly entries = new Map<string, Entry>();
  private readonly idleMs: number;
  private sweeper: NodeJS.Timeout | undefined;
  private opened = 0;

  constructor(private readonly options: SshPoolOptions = {}) {
    this.idleMs = options.idleMs ?? 5 * 60_000;
  }

  /** A shell on this target's node, over the one pooled connection to it. Connects lazily. */
  shell(target: SshTarget, view: ShellView = {}): RemoteShell {
    return new PooledShell(() => this.entryFor(target), target, view);
  }

  /** The node's pooled connection, made anew when there is none (first use, or after an idle close). */
  private entryFor(target: SshTarget): Entry {
    const key = keyOf(target);
    let entry = this.entries.get(key);
    if (!entry) {
      const { idleMs: _idle, ...connOptions } = this.options;
      entry = { conn: new SshConnection(target, connOptions), lastUsed: Date.now(), busy: 0 };
      this.entries.set(key, entry);
      this.sweepLater();
    }
    return entry;
  }

  /** The pool holds an open, authenticated connection to this target's node (a command on it needs no handshake). */
  isWarm(target: SshTarget): boolean {
    return this.entries.get(keyOf(target))?.conn.connected === true;
  }

  /** Connections currently in the pool (open or about to be). */
  get size(): number {
    return this.entries.size;
  }

  /** Handshakes made so far by every connection of this pool (reconnects included). */
  get connectionsOpened(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.conn.connectionsOpened;
    return n + this.opened;
  }

  closeAll(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const e of entries) {
      this.opened += e.conn.connectionsOpened;
      e.conn.close();
    }
  }

  private sweepLater(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(this.idleMs, 60_000)));
    this.sweeper.unref();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, e] of this.entries) {
      if (e.busy === 0 && now - e.lastUsed >= this.idleMs) {
        this.entries.delete(key);
        this.opened += e.conn.connectionsOpened;
        e.conn.close();
      }
    }
    if (this.entries.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}

/** One caller's view of a node's pooled connection (looked up at each use, so an idle close is harmless). */
class PooledShell implements RemoteShell {
  readonly node: string;

  constructor(
    private readonly entry: () => Entry,
    private readonly target: SshTarget,
    private readonly view: ShellView,
  ) {
    this.node = target.node;
  }

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? this.view.commandTimeoutMs ?? this.target.commandTimeoutMs;
    return this.use((conn) => conn.exec(argv, { ...options, timeoutMs }, this.view.onCommand));
  }

  download(remotePath: string, localPath: string): Promise<void> {
    return this.use((conn) => conn.download(remotePath, localPath, this.view.onCommand));
  }

  upload(data: Buffer | string, remotePath: string, options?: UploadOptions): Promise<string> {
    return this.use((conn) => conn.upload(data, remotePath, options, this.view.onCommand));
  }

  /** A view owns nothing: the connection stays warm for the next caller. */
  close(): void {}

  private async use<T>(fn: (conn: SshConnection) => Promise<T>): Promise<T> {
    const entry = this.entry();
    entry.busy++;
    try {
      return await fn(entry.conn);
    } finally {
      entry.busy--;
      entry.lastUsed = Date.now();
    }
  }
}
