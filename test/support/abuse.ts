/**
 * Shared pieces of the abuse corpus (test/e2e/abuse-*.test.ts): what counts as a live mention or
 * link in what the bot sent to Slack, which simulator commands change a cluster, and an
 * event-loop watch. Add hostile inputs as cases in the test files; these only measure.
 *
 *   const watch = watchEventLoop();               // before the corpus
 *   …send requests…
 *   const { stalls, maxMs } = watch.stop();       // stalls over 100 ms
 *   expect(liveConstructs(sentToSlack(h, acks), allowed)).toEqual([]);
 *   expect(destructiveCommands(h.sim.commandLog)).toEqual([]);
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { SimCommandRecord } from '../../src/sim/index.ts';
import type { Harness } from './harness.ts';

/** Every text the bot sent to Slack: Web API calls (text and blocks), response_url posts, and the given acks. */
export function sentToSlack(h: Harness, acks: readonly string[] = []): string[] {
  const out: string[] = [...acks];
  for (const call of h.slack.calls) {
    if (call.method.startsWith('chat.') || call.method === 'files.completeUploadExternal') out.push(JSON.stringify(call.args));
  }
  for (const r of h.slack.responses) out.push(JSON.stringify(r.body));
  return out;
}

/**
 * The `<…>` constructs Slack would turn into a mention or a link: everything between `<` and
 * `>` except the bot's own mentions of `allowed` ids (`<@U0ALICE>`, `<#C0PROD00001>`).
 */
export function liveConstructs(texts: readonly string[], allowed: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const text of texts) {
    for (let i = text.indexOf('<'); i >= 0; i = text.indexOf('<', i + 1)) {
      const end = text.indexOf('>', i + 1);
      if (end < 0) {
        found.push(text.slice(i, i + 40));
        break;
      }
      const inner = text.slice(i + 1, end);
      const id = inner.startsWith('@') || inner.startsWith('#') ? inner.slice(1) : undefined;
      if (id === undefined || !allowed.has(id)) found.push(`<${inner.slice(0, 60)}>`);
    }
  }
  return found;
}

/** Commands that change a node or the cluster (what an approval gate protects). */
const DESTRUCTIVE_WORDS = [
  'refresh', 'revert', 'remove', 'remove-node', 'leave', 'join', 'drain', 'cordon', 'uncordon', 'stop', 'start', 'restart', 'reconfigure',
  'rm', 'mv', 'cp', 'tee', 'install', 'set', 'unset', 'enable', 'disable', 'reboot', 'shutdown', 'delete', 'apply', 'scale', 'expose', 'create',
  'override', 'ack', 'hold', 'kill', 'chmod', 'chown', 'dd', 'sh', 'bash',
];

/** The simulator's commands among `log` that would change something. */
export function destructiveCommands(log: readonly SimCommandRecord[]): string[] {
  return log.filter((c) => c.argv.some((w) => DESTRUCTIVE_WORDS.includes(w)) || c.argv.length === 0).map((c) => `${c.node}: ${c.command}`);
}

export interface EventLoopReport {
  /** Timer callbacks that came more than 100 ms late (wall clock: includes time the OS gave to other processes). */
  stalls: number;
  /** Of those, the ones during which this process itself used more than 100 ms of CPU: the loop was blocked by work, not descheduled. */
  busyStalls: number;
  /** The longest delay seen, by monitorEventLoopDelay. */
  maxMs: number;
  p99Ms: number;
}

/**
 * Watches the event loop: a 10 ms timer's lateness, and perf_hooks' delay histogram. On a shared
 * machine a late timer may only mean the process was not scheduled, so each stall also records
 * the CPU time the process used meanwhile; a busy stall is one where it used more than the threshold.
 */
export function watchEventLoop(thresholdMs = 100): { stop(): EventLoopReport; stalls(): number; busyStalls(): number } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let stalls = 0;
  let busyStalls = 0;
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    if (now - last - 10 > thresholdMs) {
      stalls += 1;
      if ((cpu.user + cpu.system) / 1000 > thresholdMs) busyStalls += 1;
    }
    last = now;
    lastCpu = process.cpuUsage();
  }, 10);
  return {
    stalls: () => stalls,
    busyStalls: () => busyStalls,
    stop() {
      clearInterval(timer);
      histogram.disable();
      return { stalls, busyStalls, maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6 };
    },
  };
}
