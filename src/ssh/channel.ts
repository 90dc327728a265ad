/**
 * One channel on an SSH connection, for SshConnection (connection.ts): a client-side timer
 * per command (ssh2 has none) — on expiry the channel gets KILL and is closed, and the command
 * rejects with CommandTimeoutError —, connection-loss handling (the commands in flight reject
 * with ConnectionLostError, never retried: they may have run), and exec with stdout and stderr
 * kept apart (no pty) and capped.
 */
import type { ClientChannel } from 'ssh2';
import { CappedOutput } from './capped-output.ts';
import type { SshClient } from './connect.ts';
import { CommandTimeoutError, ConnectionLostError, SshError } from './errors.ts';

/** Fails one command in flight when its connection is lost. */
export type LostHandler = (detail?: string) => void;

/** What a channel needs of its connection. */
export interface ChannelHost {
  readonly node: string;
  /** The loss handlers of the commands in flight (the connection calls them when it drops). */
  readonly inflight: Set<LostHandler>;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal?: string;
}

/**
 * Runs `start` with a timeout and connection-loss handling. `settle(err?)` ends it;
 * `onTimeout(fn)` registers cleanup to run if the timer fires first.
 */
export function guarded(
  host: ChannelHost,
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
      host.inflight.delete(lost);
      if (err) reject(err);
      else resolve();
    };
    const lost: LostHandler = (detail) => finish(new ConnectionLostError(host.node, shown, detail));
    const timer = setTimeout(() => {
      for (const fn of cleanups) {
        try {
          fn();
        } catch {
          // best effort
        }
      }
      finish(new CommandTimeoutError(host.node, shown, timeoutMs));
    }, timeoutMs);
    host.inflight.add(lost);
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

/**
 * Runs `line` on a new channel of `client`. `isCurrent(client)` says whether the connection
 * still has this client: a channel that closes without an exit status after it went is a
 * lost connection, not a finished command.
 */
export async function runOnChannel(
  host: ChannelHost & { isCurrent: (client: SshClient) => boolean },
  client: SshClient,
  line: string,
  shown: string,
  timeoutMs: number,
  maxBytes: number,
): Promise<RunResult> {
  const out = new CappedOutput(maxBytes);
  const err = new CappedOutput(maxBytes);
  let code: number | null = null;
  let signal: string | undefined;
  await guarded(host, shown, timeoutMs, (settle, onTimeout, isDone) => {
    client.exec(line, (openErr, stream: ClientChannel) => {
      if (openErr) {
        settle(new SshError(`cannot run \`${shown}\` on ${host.node}: ${openErr.message}`, host.node));
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
      stream.on('error', (e: Error) => settle(new SshError(`\`${shown}\` on ${host.node}: ${e.message}`, host.node)));
      stream.on('close', () => {
        if (code === null && signal === undefined && !host.isCurrent(client)) {
          // The channel closed because the connection went away, not because the command ended.
          settle(new ConnectionLostError(host.node, shown));
          return;
        }
        settle();
      });
    });
  });
  const result: RunResult = {
    stdout: out.text(),
    stderr: err.text(),
    code,
  };
  if (signal) result.signal = signal;
  return result;
}
