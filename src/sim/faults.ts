/** Fault injection: per node and per command, optionally a limited number of times. */

export type SimFault = {
  /** A node name, or `*` for every node. */
  node: string;
  /**
   * Tested against the command with any `sudo -n --` prefix removed, both as received (shell-quoted)
   * and as its words joined by single spaces. A string matches as a substring.
   */
  match: RegExp | string;
  /** How many matching commands it applies to (default: all of them). */
  times?: number;
} & (
  | { kind: 'fail'; exitCode: number; stderr: string; stdout?: string }
  | { kind: 'hang' }
  | { kind: 'drop' }
  | { kind: 'delay'; ms: number }
  /** Received, then held until `until` settles, then run (even if its connection closed meanwhile, like a remote process that outlives its SSH session). */
  | { kind: 'hold'; until: Promise<unknown> }
);

interface Entry {
  fault: SimFault;
  remaining: number;
}

export class FaultTable {
  private entries: Entry[] = [];

  add(fault: SimFault): void {
    if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1)) throw new Error('simulator: fault.times must be a positive integer');
    this.entries.push({ fault, remaining: fault.times ?? Infinity });
  }

  clear(): void {
    this.entries = [];
  }

  /** The first fault that applies to this command, counted as used. */
  take(node: string, texts: string[]): SimFault | undefined {
    for (const e of this.entries) {
      if (e.fault.node !== '*' && e.fault.node !== node) continue;
      const m = e.fault.match;
      const hit = texts.some((t) => (typeof m === 'string' ? t.includes(m) : new RegExp(m.source, m.flags.replace('g', '')).test(t)));
      if (!hit) continue;
      e.remaining -= 1;
      if (e.remaining <= 0) this.entries = this.entries.filter((x) => x !== e);
      return e.fault;
    }
    return undefined;
  }
}
