/**
 * The SSH layer's error helpers. The typed errors (SshError, HostKeyError, SshConnectError,
 * CommandFailedError, CommandTimeoutError, ConnectionLostError) live with the other user-facing
 * errors in src/errors/user-facing.ts and are re-exported here.
 */
export {
  CommandFailedError,
  CommandTimeoutError,
  ConnectionLostError,
  HostKeyError,
  SshConnectError,
  SshError,
  type ConnectProblem,
  type HostKeyProblem,
} from '../errors/user-facing.ts';

/** Keeps the last `maxLines` lines and at most `maxChars` characters of a command's output. */
export function tail(text: string, maxLines = 20, maxChars = 2000): string {
  const lines = text.trimEnd().split('\n');
  let out = lines.slice(-maxLines).join('\n');
  if (out.length > maxChars) out = `…${out.slice(out.length - maxChars + 1)}`;
  else if (lines.length > maxLines) out = `…\n${out}`;
  return out;
}

/** Replaces every occurrence of each secret with `***`. */
export function maskSecrets(text: string, secrets: readonly string[] | undefined): string {
  if (!secrets) return text;
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}
