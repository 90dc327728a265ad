/**
 * One SSH connection per node for the life of a job: created on first use, reused for every
 * command, closed together at the end. A connection that drops is opened again by the next
 * command (the command that was in flight fails with ConnectionLostError; it is not retried).
 */
import { SshConnection, type SshConnectionOptions } from './connection.ts';
import type { RemoteShell, SshTarget } from './types.ts';

export interface SshPoolOptions extends SshConnectionOptions {
  /** Builds a connection (tests can count or wrap them). Default: new SshConnection. */
  connect?: (target: SshTarget, options: SshConnectionOptions) => RemoteShell;
}

function keyOf(t: SshTarget): string {
  return `${t.node}\u0000${t.user}@${t.host}:${t.port}`;
}

export class SshPool {
  private readonly shells = new Map<string, RemoteShell>();

  constructor(private readonly options: SshPoolOptions = {}) {}

  /** The shell for this target, shared by every caller until closeAll(). Connects lazily. */
  shell(target: SshTarget): RemoteShell {
    const key = keyOf(target);
    let shell = this.shells.get(key);
    if (!shell) {
      const { connect, ...connOptions } = this.options;
      shell = connect ? connect(target, connOptions) : new SshConnection(target, connOptions);
      this.shells.set(key, shell);
    }
    return shell;
  }

  get size(): number {
    return this.shells.size;
  }

  closeAll(): void {
    const shells = [...this.shells.values()];
    this.shells.clear();
    for (const s of shells) s.close();
  }
}
