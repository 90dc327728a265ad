/**
 * The errors meant for people, in one place: each has an `errorCode` and a message written to be
 * shown in chat (what went wrong, where, what to do). Any other error is internal: chat shows
 * only "internal error (ref …)" and the log has the rest (src/errors/boundary.ts).
 *
 *   RequestError        the request itself is wrong (verb, argument, cluster): nothing queued
 *   StopRunbook         the runbook stops cleanly: rejected, expired, cancelled, plan no longer holds
 *   RunbookFailure      a step's failure explained, with the next safe actions as buttons
 *   ReplayedStepError   a step that failed in an earlier activation, replayed as it was shown
 *   SshError …          SSH problems written for people (host key, connect, command failed, …)
 *   OutputParseError    a node's output was not what the parser expected
 *   InvalidValueError, UnsafeArgumentError, UnknownNodeError, NotReadyError, CheckFailedError,
 *   WindowsStepError (a Windows script did not do its job), UnsafePowerShellValueError
 *   StoreUnavailableError  Redis (jobs, decisions, audit) did not answer: restarting or failing over
 *
 * Messages of RequestError, the SSH errors, OutputParseError and the value errors carry node
 * output or user text and are escaped for Slack by the boundary. StopRunbook, RunbookFailure and
 * ReplayedStepError are composed by the bot as mrkdwn (mentions, `code`): whoever puts untrusted
 * text into one escapes it (errorText() already returns escaped text).
 *
 * The classes are re-exported from the modules they used to live in (src/engine/errors.ts,
 * src/commands/errors.ts, src/ssh/errors.ts, src/microk8s/errors.ts, …).
 */
import type { Button } from '../chat/port.ts';
import type { ChatState } from '../engine/job-data.ts';
import { truncationOf } from '../ssh/capped-output.ts';
import { outputExcerpt } from '../util/excerpt.ts';

export abstract class UserFacingError extends Error {
  /** Stable and machine-readable: `request-usage`, `stopped`, `ssh-host-key`, `output-parse`, … */
  abstract readonly errorCode: string;
  /** true: the message is mrkdwn the bot composed (untrusted parts already escaped). */
  readonly composed: boolean = false;
}

// ---- requests ------------------------------------------------------------------------------

export type RequestErrorCode =
  | 'bad-input' // the tokenizer refused a character, a word or the length
  | 'unknown-verb'
  | 'usage' // wrong number of arguments, misplaced flag
  | 'unknown-flag'
  | 'bad-argument' // an argument failed its schema or the verb's validate()
  | 'cluster'; // unknown cluster, or none could be resolved

/**
 * Errors about the request itself: a bad verb, a bad argument, an unknown node. Shown to the
 * requester (ephemeral): says what was wrong and what is allowed, and never echoes more than a
 * short excerpt of the input.
 */
export class RequestError extends UserFacingError {
  override name = 'RequestError';
  readonly code: RequestErrorCode;
  readonly errorCode: string;

  constructor(message: string, code: RequestErrorCode = 'bad-argument') {
    super(message);
    this.code = code;
    this.errorCode = `request-${code}`;
  }
}

// ---- runbooks ------------------------------------------------------------------------------

/** The runbook stops cleanly without failing: rejected, expired, cancelled, or the plan no longer holds. */
export class StopRunbook extends UserFacingError {
  override name = 'StopRunbook';
  readonly errorCode = 'stopped';
  override readonly composed = true;
  constructor(
    readonly state: Extract<ChatState, 'rejected' | 'expired' | 'cancelled' | 'failed'>,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A failure the runbook explains to people: what went wrong, in words, and the
 * next safe actions offered as buttons (retry, roll back, uncordon).
 */
export class RunbookFailure extends UserFacingError {
  override name = 'RunbookFailure';
  readonly errorCode = 'runbook-failure';
  override readonly composed = true;
  constructor(
    message: string,
    readonly offers: Button[] = [],
  ) {
    super(message);
  }
}

/** A step that failed in an earlier activation, replayed as the same failure (its recorded, shown text). */
export class ReplayedStepError extends UserFacingError {
  override name = 'ReplayedStepError';
  readonly errorCode = 'replayed-step';
  override readonly composed = true;
}

// ---- the bot's own store -------------------------------------------------------------------

/**
 * Redis, where the bot keeps jobs, decisions and the audit log, did not answer in time (it is
 * restarting, or Sentinel is failing it over): what was asked was not done, and asking again in
 * a few seconds is the remedy. The boundary turns ioredis's availability errors into this.
 */
export class StoreUnavailableError extends UserFacingError {
  override name = 'StoreUnavailableError';
  readonly errorCode = 'store-unavailable';
  constructor(cause: unknown) {
    super("The bot's Redis is not answering right now (restarting or failing over); try again in a few seconds", { cause });
  }
}

// ---- values and nodes ----------------------------------------------------------------------

/** A value that would reach a command line is not valid; nothing was run. */
export class InvalidValueError extends UserFacingError {
  override name = 'InvalidValueError';
  readonly errorCode: string = 'invalid-value';
}

/** An argument no remote command can receive safely (not a string, a NUL byte, empty argv). */
export class UnsafeArgumentError extends UserFacingError {
  override name = 'UnsafeArgumentError';
  readonly errorCode = 'unsafe-argument';
}

/** A value that would reach a PowerShell command line on a Windows node is not safe; nothing was run. */
export class UnsafePowerShellValueError extends UserFacingError {
  override name = 'UnsafePowerShellValueError';
  readonly errorCode = 'unsafe-powershell-value';
}

/** A Windows script ran but did not do its job (its output says why). */
export class WindowsStepError extends UserFacingError {
  override name = 'WindowsStepError';
  readonly errorCode = 'windows-step';
  constructor(
    readonly node: string,
    readonly script: string,
    problem: string,
  ) {
    super(`${script} on ${node} failed: ${problem}`);
  }
}

/** A node name that is not in the cluster's inventory. */
export class UnknownNodeError extends UserFacingError {
  override name = 'UnknownNodeError';
  readonly errorCode = 'unknown-node';
}

/** MicroK8s did not become ready in time (or is stopped). */
export class NotReadyError extends UserFacingError {
  override name = 'NotReadyError';
  readonly errorCode = 'not-ready';
  constructor(
    readonly node: string,
    message: string,
  ) {
    super(message);
  }
}

/** A node answered, but a check on what it answered failed (a checksum, a size, a read-back). */
export class CheckFailedError extends UserFacingError {
  override name = 'CheckFailedError';
  readonly errorCode: string = 'check-failed';
}

/** The content read back after writing a file on a node is not what was written. */
export class WriteMismatchError extends CheckFailedError {
  override name = 'WriteMismatchError';
  override readonly errorCode = 'write-mismatch';
}

// ---- node output ---------------------------------------------------------------------------

/** The output of a command was not what the parser expected. */
export class OutputParseError extends UserFacingError {
  override name = 'OutputParseError';
  readonly errorCode: string = 'output-parse';
  constructor(
    /** The command whose output this was, e.g. `snap list microk8s`. */
    readonly command: string,
    /** What was expected, in words. */
    readonly expected: string,
    /** A short excerpt of what came instead. */
    readonly got: string,
    /** The node it ran on, when known. */
    readonly node?: string,
  ) {
    super(`cannot read the output of \`${command}\`${node ? ` on ${node}` : ''}: expected ${expected}; got ${got}`);
  }

  static of(command: string, expected: string, output: string): OutputParseError {
    // The excerpt shows the start; when the output was cut, say so too.
    const shown = outputExcerpt(output);
    const cut = truncationOf(output);
    return new OutputParseError(command, expected, cut && !shown.includes(cut) ? `${shown} ${cut}` : shown);
  }

  /** The same error, naming the node. */
  onNode(node: string): OutputParseError {
    return this.node ? this : new OutputParseError(this.command, this.expected, this.got, node);
  }
}

/** kubectl / status / add-node ran on a worker node, which answers with a notice instead. */
export class WorkerNodeError extends OutputParseError {
  override name = 'WorkerNodeError';
  override readonly errorCode = 'worker-node';
  constructor(command: string, node?: string) {
    super(command, 'a control-plane node', 'the notice "This MicroK8s deployment is acting as a node in a cluster" (a worker node)', node);
    this.message = `\`${command}\` cannot run on ${node ?? 'this node'}: it is a MicroK8s worker node; run it on a control-plane node`;
  }

  override onNode(node: string): OutputParseError {
    return this.node ? this : new WorkerNodeError(this.command, node);
  }
}

// ---- SSH (messages name the node and where it was reached; never a key, passphrase or secret) --

export type HostKeyProblem = 'unknown' | 'changed' | 'revoked';

export class SshError extends UserFacingError {
  override name = 'SshError';
  readonly errorCode: string = 'ssh';
  constructor(
    message: string,
    readonly node: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class HostKeyError extends SshError {
  override name = 'HostKeyError';
  override readonly errorCode = 'ssh-host-key';
  constructor(
    node: string,
    readonly host: string,
    readonly port: number,
    readonly problem: HostKeyProblem,
    /** `SHA256:...` of the key the server offered. */
    readonly fingerprint: string,
    readonly keyType: string,
    readonly knownHostsPath: string,
    detail?: { line?: number; knownTypes?: string[]; fileMissing?: boolean },
  ) {
    const where = `${node} (${host}:${port})`;
    const offered = `${keyType} key ${fingerprint}`;
    let message: string;
    if (problem === 'unknown') {
      message =
        `refusing to connect to ${where}: its host key is not in ${knownHostsPath}` +
        (detail?.fileMissing ? ' (the file does not exist)' : '') +
        `. The server offered the ${offered}. If that is the right fingerprint (check it on the host with ` +
        `\`ssh-keygen -lf /etc/ssh/ssh_host_${hostKeyFileType(keyType)}_key.pub\`), add the key to known_hosts.`;
    } else if (problem === 'changed') {
      const types = detail?.knownTypes?.length ? ` (on file: ${detail.knownTypes.join(', ')})` : '';
      message =
        `refusing to connect to ${where}: its host key has CHANGED. The server offered the ${offered}, ` +
        `which does not match the key in ${knownHostsPath}${detail?.line ? ` line ${detail.line}` : ''}${types}. ` +
        `Someone may be intercepting the connection, or the host was reinstalled; check before updating known_hosts.`;
    } else {
      message =
        `refusing to connect to ${where}: the server offered the ${offered}, which is marked @revoked in ${knownHostsPath}` +
        `${detail?.line ? ` line ${detail.line}` : ''}.`;
    }
    super(message, node);
  }
}

/** `ssh-ed25519` → `ed25519`, `rsa-sha2-512` → `rsa`: the name in /etc/ssh/ssh_host_<type>_key.pub. */
function hostKeyFileType(keyType: string): string {
  const bare = keyType.startsWith('ssh-') ? keyType.slice(4) : keyType;
  const sha2 = bare.indexOf('-sha2-');
  return sha2 < 0 ? bare : bare.slice(0, sha2);
}

export type ConnectProblem = 'auth' | 'refused' | 'timeout' | 'unreachable' | 'key' | 'other';

export class SshConnectError extends SshError {
  override name = 'SshConnectError';
  override readonly errorCode = 'ssh-connect';
  constructor(
    node: string,
    readonly host: string,
    readonly port: number,
    readonly problem: ConnectProblem,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`cannot connect to ${node} (${host}:${port}): ${detail}`, node, options);
  }
}

export class CommandFailedError extends SshError {
  override name = 'CommandFailedError';
  override readonly errorCode = 'command-failed';
  constructor(
    node: string,
    /** The command line as run (secrets masked). */
    readonly command: string,
    /** null when the remote process was killed by a signal or reported no status. */
    readonly code: number | null,
    /** Last ~20 lines / 2000 characters of stderr (secrets masked). */
    readonly stderrTail: string,
    readonly signal?: string,
    /** Last lines of stdout, kept for parsers that read a failing command's output. */
    readonly stdoutTail = '',
  ) {
    const status = code !== null ? `exit code ${code}` : signal ? `signal ${signal}` : 'no exit status';
    const out = stderrTail || stdoutTail;
    super(`\`${command}\` failed on ${node} (${status})${out ? `:\n${out}` : ''}`, node);
  }
}

export class CommandTimeoutError extends SshError {
  override name = 'CommandTimeoutError';
  override readonly errorCode = 'command-timeout';
  constructor(
    node: string,
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`\`${command}\` on ${node} did not finish within ${formatMs(timeoutMs)}; the channel was closed`, node);
  }
}

export class ConnectionLostError extends SshError {
  override name = 'ConnectionLostError';
  override readonly errorCode = 'connection-lost';
  constructor(
    node: string,
    readonly command?: string,
    detail?: string,
  ) {
    super(
      `the SSH connection to ${node} was lost${command ? ` while \`${command}\` was running (it may or may not have completed on the node)` : ''}` +
        (detail ? `: ${detail}` : ''),
      node,
    );
  }
}

function formatMs(ms: number): string {
  if (ms % 1000 !== 0) return `${ms} ms`;
  const s = ms / 1000;
  return s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}
