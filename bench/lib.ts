/**
 * Shared pieces of the benchmarks: statistics, the summary table, timestamps
 * from the fake Slack, and a harness that is always stopped.
 *
 * Benchmarks print what they measured in the same run; they assert nothing.
 */
import { PRECHECK_ACK_MS, PRECHECK_COLD_ACK_MS } from '../src/bot/core.ts';
import { keys } from '../src/queue/keys.ts';
import { startHarness, type Harness, type HarnessOptions } from '../test/support/harness.ts';

/** One line of the final table. */
export interface Row {
  bench: string;
  figure: string;
  value: string;
  /** Sample count behind the figure. */
  n?: number;
  note?: string;
}

/** The machine-readable figures (`npm run bench -- --json`), filled by the benchmarks that measure them. */
export const FIGURE_KEYS = [
  'ackP99Ms',
  'ackFloorP99Ms',
  'ackUnloadedP50Ms',
  'upgradeOverheadRatio',
  'perCommandOverheadMs',
  'rollingRatio3',
  'rollingRatio20',
  'readyNoticeMs',
  'status100Ms',
  'fleetRatio',
  'sshConnectionsPerNodePerJob',
  'rssMb',
  'cpus',
] as const;
export type FigureKey = (typeof FIGURE_KEYS)[number];
/** Keys as listed (measured with Slack's latency and limits on), plus `<key>SlackOff` and extras. */
export type Figures = Record<string, number | null>;

export interface Benchmark {
  name: string;
  title: string;
  /** Fills the figures it measures into `fig`; returns the table rows. */
  run(fig: Figures): Promise<Row[]>;
}

/** The fake Slack as real Slack behaves (200 ms a call, its rate limits), and as fast as loopback. */
const ALL_SLACK_MODES = [
  { name: 'Slack 200 ms + limits', suffix: '', realism: { latencyMs: 200, rateLimits: true } },
  { name: 'Slack off', suffix: 'SlackOff', realism: { latencyMs: 0, rateLimits: false } },
] as const;
export type SlackMode = (typeof ALL_SLACK_MODES)[number];
/** Both modes; MK8S_BENCH_SLACK=on (or off) runs only that one (while working on one figure). */
export const SLACK_MODES: readonly SlackMode[] = ALL_SLACK_MODES.filter((m) => {
  const only = process.env.MK8S_BENCH_SLACK;
  return only === undefined || only === '' || (only === 'on') === (m.suffix === '');
});

export interface Stats {
  n: number;
  min: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. With n < 100, p99 is the max. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = samples.toSorted((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

export function stats(samples: readonly number[]): Stats {
  const n = samples.length;
  return {
    n,
    min: n ? Math.min(...samples) : Number.NaN,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: n ? Math.max(...samples) : Number.NaN,
    mean: n ? samples.reduce((a, b) => a + b, 0) / n : Number.NaN,
  };
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 100) return `${Math.round(value)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

export function ratio(value: number, digits = 2): string {
  return Number.isFinite(value) ? `${value.toFixed(digits)}×` : 'n/a';
}

export function pct(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)} %` : 'n/a';
}

/** `p50 X · p99 Y · max Z` */
export function spread(s: Stats): string {
  return `p50 ${ms(s.p50)} · p99 ${ms(s.p99)} · max ${ms(s.max)}`;
}

export function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** A finite number rounded to `digits`, or null. */
export function num(value: number, digits = 3): number | null {
  return Number.isFinite(value) ? Number(value.toFixed(digits)) : null;
}

/** Resident set size of a process in MB (Linux /proc), or NaN. */
export async function rssMbOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const line = status.split('\n').find((l) => l.startsWith('VmRSS:'));
    const kb = line ? Number(line.slice('VmRSS:'.length).trim().split(' ')[0]) : Number.NaN;
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; clock ticks of 10 ms), or NaN. */
export async function cpuMsOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

function pad(s: string, width: number): string {
  return s.length >= width ? s : s + ' '.repeat(width - s.length);
}

export function printTable(rows: readonly Row[]): void {
  const cells = rows.map((r) => [r.bench, r.figure, r.value, r.n === undefined ? '' : `n=${r.n}`, r.note ?? '']);
  const head = ['bench', 'figure', 'value', 'samples', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => c.map((x, i) => pad(x, widths[i] ?? 0)).join('  ').trimEnd();
  log(line(head));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) log(line(c));
}

const running = new Set<Harness>();
let signalsHooked = false;

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`\n${sig}: stopping ${running.size} harness(es)…`);
      void Promise.allSettled([...running].map((h) => h.stop())).then(() => process.exit(130));
    });
  }
}

/** Starts the harness (private Redis, simulated clusters, fake Slack, the app), runs fn, and always stops it. */
export async function withHarness<T>(options: HarnessOptions, fn: (h: Harness) => Promise<T>): Promise<T> {
  hookSignals();
  // Benchmarks run the production default (tests wait longer, to see verdicts in the ack).
  // …and log at the production default (tests log at debug, to read the log when one fails).
  const h = await startHarness({ precheckAckMs: PRECHECK_ACK_MS, precheckColdAckMs: PRECHECK_COLD_ACK_MS, ...options, env: { LOG_LEVEL: 'info', ...options.env } });
  running.add(h);
  try {
    return await fn(h);
  } finally {
    running.delete(h);
    await h.stop();
  }
}

/** Polls until fn returns a truthy value (every `everyMs`, default 2 ms), or throws after timeoutMs. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 2): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until the BullMQ job is parked (delayed) at its approval gate, so a click measures a real wake-up. */
export async function waitParked(h: Harness, jobId: string, timeoutMs = 20_000): Promise<void> {
  await until(`job ${jobId} parked at its gate`, async () => (await (await h.app.queue.get(jobId))?.getState()) === 'delayed', timeoutMs);
}

/**
 * Sends a mutating command and returns its job id: from the ack, or — when the ack said
 * "checking…" (its precheck took longer than the ack's budget) — from the follow-up.
 */
export async function queued(h: Harness, user: string, text: string, channel?: string): Promise<{ jobId?: string; text: string }> {
  const before = h.slack.responses.length;
  const res = await h.command(user, text, channel);
  if (res.jobId || !res.text.startsWith('Checking ')) return res;
  const follow = await until(`the follow-up of \`${text}\``, () =>
    h.slack.responses.slice(before).find((r) => typeof r.body.text === 'string' && ((r.body.text.startsWith('Queued as job') && r.body.text.includes(`\`${text}\``)) || r.body.text.includes('Nothing was queued'))),
  30_000);
  const answer = String(follow.body.text);
  const jobId = /^Queued as job (\d+)/.exec(answer)?.[1];
  return { text: answer, ...(jobId ? { jobId } : {}) };
}

/**
 * When BullMQ finished the job (finishedOn: the processor returned), polled; throws if it failed.
 * The figure is BullMQ's own timestamp, so the poll reads only those two fields of the job's hash,
 * every 25 ms: reading whole jobs (their data holds every checkpoint) every 2 ms, for twenty jobs,
 * cost the machine under test more CPU than a worker.
 */
export async function jobEnd(h: Harness, jobId: string, timeoutMs = 600_000): Promise<number> {
  return until(`job ${jobId} to end`, async () => {
    const [finishedOn, failedReason] = await h.app.redis.hmget(keys.bullJob(jobId), 'finishedOn', 'failedReason');
    if (failedReason) throw new Error(`bench: job ${jobId} failed: ${failedReason}`);
    return finishedOn ? Number(finishedOn) : undefined;
  }, timeoutMs, 25);
}

/** When the fake Slack received a Web API call matching pred (its own Date.now() stamp), or undefined. */
export function callAt(h: Harness, method: string, pred: (text: string, args: Record<string, unknown>) => boolean, after = 0): number | undefined {
  return h.slack.calls.find((c) => c.method === method && c.at >= after && pred(typeof c.args.text === 'string' ? c.args.text : '', c.args))?.at;
}

/** Deterministic shuffle (mulberry32), so every run sends the burst in the same order. */
export function shuffled<T>(items: readonly T[], seed = 42): T[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * Runs fn; with MK8S_BENCH_PROFILE=<dir> set, records a CPU profile of this process while it
 * runs, into <dir>/<label>.cpuprofile (open it in Chrome DevTools), to find what a figure costs.
 */
export async function profiled<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.MK8S_BENCH_PROFILE;
  if (!dir) return fn();
  const { Session } = await import('node:inspector/promises');
  const { mkdir, writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/${label.replace(/[^\w.-]+/g, '-')}.cpuprofile`, JSON.stringify(profile));
  }
}

/** Length of the union of [start, end) intervals. */
export function unionLength(intervals: Array<[number, number]>): number {
  const sorted = intervals.toSorted((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = Number.NEGATIVE_INFINITY;
  let curEnd = Number.NEGATIVE_INFINITY;
  for (const [s, e] of sorted) {
    if (s > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else curEnd = Math.max(curEnd, e);
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}
