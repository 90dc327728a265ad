/**
 * Typed errors of the SSH layer. Messages name the node and where it was reached, and are
 * safe to show in chat: never a key, passphrase or other secret.
 */

export type HostKeyProblem = 'unknown' | 'changed' | 'revoked';

export class SshError extends Error {
  override name = 'SshError';
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

/** Keeps the last `maxLines` lines and at most `maxChars` characters of a command's output. */
export function tail(text: string, maxLines = 20, maxChars = 2000): string {
  const lines = text.trimEnd().split('\n');
  let out = lines.slice(-maxLines).join('\n');
  if (out.length > maxChars) out = `…${out.slice(out.length - maxChars + 1)}`;
  else if (lines.length > maxLines) out = `…\n${out}`;
  return out;
}

export class CommandFailedError extends SshError {
  override name = 'CommandFailedError';
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

/** Replaces every occurrence of each secret with `***`. */
export function maskSecrets(text: string, secrets: readonly string[] | undefined): string {
  if (!secrets) return text;
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}
