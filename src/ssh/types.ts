/**
 * src/ssh — the transport: one SSH connection per node per job (connection.ts, pool.ts) with pinned
 * host keys, `sudo -n`, per-command timeouts and secrets masked; argv quoted for the remote shell
 * (quote.ts). This file is its contract, used by src/microk8s (which builds every command) and the
 * engine (which opens the connections).
 */

export interface SshTarget {
  /** Inventory node name, for errors and audit. */
  node: string;
  host: string;
  port: number;
  user: string;
  privateKeyPath?: string;
  /** The key's passphrase, already read from the environment; never logged. */
  passphrase?: string;
  agent?: boolean;
  knownHostsPath: string;
  /** Prefix privileged commands with `sudo -n --`. */
  sudo: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

export interface ExecOptions {
  /** Run as root through `sudo -n --` when the target has sudo enabled. */
  privileged?: boolean;
  /** Overrides the target's commandTimeoutMs. */
  timeoutMs?: number;
  /** Exit codes that are not errors (default: only 0); `any`: the caller reads the code itself. */
  okExitCodes?: number[] | 'any';
  /**
   * What errors and the audit hook show instead of the command line (a PowerShell script sent
   * as -EncodedCommand is shown by its name, not as base64).
   */
  display?: string;
  /**
   * Values that must never be shown (a join token in argv, say): masked as `***` in the
   * command line given to errors and the audit hook, and in the output tails of errors.
   */
  secrets?: readonly string[];
}

export interface ExecResult {
  command: string;
  stdout: string;
  stderr: string;
  code: number;
  durationMs: number;
}

/** One finished (or failed) remote command, for the audit trail. */
export interface CommandEvent {
  node: string;
  command: string;
  code: number | null;
  durationMs: number;
  error?: string;
}

export interface UploadOptions {
  /** Permission bits of the new file (default 0o600). */
  mode?: number;
}

export interface RemoteShell {
  readonly node: string;
  /**
   * Runs argv on the node. Every element is shell-quoted by the SSH layer: callers
   * never build command strings. Non-OK exit → CommandFailedError.
   */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Copies a remote file to a local path over SFTP. */
  download(remotePath: string, localPath: string): Promise<void>;
  /**
   * Writes `data` to a NEW file on the node over SFTP, as the SSH user (never root): created
   * exclusively (an existing file or symlink at that path fails the upload) with `mode`
   * (default 0600). A relative path is in the user's home directory. Returns the absolute path.
   * Callers move the file into place with a privileged `cp`/`mv` and remove it afterwards.
   */
  upload(data: Buffer | string, remotePath: string, options?: UploadOptions): Promise<string>;
  close(): void;
}
