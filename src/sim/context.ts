/** What a simulated command runs with. */
import type { SimNode } from './node.ts';
import type { SimState } from './state.ts';

export interface SimLatency {
  /** Upper bound of the jitter every command takes, in ms. */
  defaultMs: number;
  /** How long `kubectl drain` takes to evict. */
  drainMs: number;
  /** How long `snap refresh` / `snap revert` take. */
  refreshMs: number;
  /** NotReady window after a refresh, revert or start. */
  restartMs: number;
}

export const DEFAULT_LATENCY: SimLatency = { defaultMs: 5, drainMs: 30, refreshMs: 50, restartMs: 100 };

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface CommandContext {
  state: SimState;
  node: SimNode;
  /** Running as root (through sudo). */
  root: boolean;
  user: string;
  /** microk8s and snap writes need root (the user is not in the microk8s group). */
  sudoRequired: boolean;
  latency: SimLatency;
  signal: AbortSignal;
  /** Sleeps (real time). It never rejects: like a remote process, the command finishes even if the client left. */
  sleep(ms: number): Promise<void>;
}

export function ok(stdout = '', stderr = ''): CommandResult {
  return { stdout, stderr, code: 0 };
}

export function fail(code: number, stderr: string, stdout = ''): CommandResult {
  return { stdout, stderr, code };
}

/** Polls `pred` every few ms until it holds or `timeoutMs` passes (Infinity: forever). */
export async function waitFor(ctx: CommandContext, pred: () => boolean, timeoutMs: number, pollMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    ctx.state.reconcile();
    if (pred()) return true;
    if (ctx.signal.aborted) return false;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await ctx.sleep(Math.min(pollMs, left));
  }
}

/** Go's time.ParseDuration for the common forms (`30s`, `5m`, `1h30m`, `250ms`, `0`). */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let i = 0;
  let total = 0;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? -1 : 1;
    i = 1;
  }
  if (i >= s.length) return undefined;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (unit[m[2] ?? ''] ?? 0);
    i = re.lastIndex;
  }
  return sign * total;
}

/** Go's Duration.String(): `30s`, `5m0s`, `1h0m0s`, `500ms`. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = Number.isInteger(s) ? String(s) : String(Number(s.toFixed(9)));
  if (h > 0) return `${h}h${m}m${sec}s`;
  if (m > 0) return `${m}m${sec}s`;
  return `${sec}s`;
}
