/**
 * `npm run bench` runs every benchmark in sequence and prints a table of the
 * figures measured in this run; `tsx bench/run.ts ack` (or `approval`,
 * `overhead`, `rolling`, `cni`, `windows`, `watch`, `status`, `fleet`, `hostile`) runs only the named ones. Nothing is asserted.
 *
 * `npm run bench -- --json` also prints, as the very last line, one JSON object with the
 * issue-13 figures (FIGURE_KEYS; measured with Slack's latency and limits on), the same
 * measured with the fake Slack instant (`<key>SlackOff`), and a few extras. A figure that
 * was not measured is null, with the reason on stderr.
 */
import { availableParallelism, loadavg } from 'node:os';
import { ackLatency } from './ack-latency.ts';
import { approvalWake } from './approval-wake.ts';
import { cni } from './cni.ts';
import { encryptedKey } from './encrypted-key.ts';
import { fleet } from './fleet.ts';
import { hostileOutput } from './hostile-output.ts';
import { FIGURE_KEYS, log, printTable, type Benchmark, type Figures, type Row } from './lib.ts';
import { rollingUpgrade } from './rolling-upgrade.ts';
import { statusLarge } from './status-large.ts';
import { upgradeOverhead } from './upgrade-overhead.ts';
import { watchCheck } from './watch-check.ts';
import { windowsAdd } from './windows-add.ts';

const ALL: Benchmark[] = [ackLatency, approvalWake, upgradeOverhead, rollingUpgrade, cni, windowsAdd, watchCheck, statusLarge, fleet, hostileOutput, encryptedKey];
const ALIASES: Record<string, string> = { 'ack-latency': 'ack', wake: 'approval', 'approval-wake': 'approval', upgrade: 'overhead', 'upgrade-overhead': 'overhead', 'rolling-upgrade': 'rolling', 'upgrade-cluster': 'rolling', 'windows-add': 'windows', 'windows-worker': 'windows', 'hostile-output': 'hostile' };

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const wanted = argv.filter((a) => a !== '--json').map((a) => ALIASES[a] ?? a);
  const unknown = wanted.filter((w) => !ALL.some((b) => b.name === w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${ALL.map((b) => b.name).join(', ')}\n`);
    process.exit(2);
  }
  const selected = wanted.length > 0 ? ALL.filter((b) => wanted.includes(b.name)) : ALL;
  log(`mk8s-ops benchmarks · node ${process.version} · ${availableParallelism()} CPU(s) · everything on loopback`);
  const rows: Row[] = [];
  const fig: Figures = { cpus: availableParallelism() };
  const started = performance.now();
  for (const b of selected) {
    log(`\n== ${b.name}: ${b.title} · load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const t0 = performance.now();
    rows.push(...(await b.run(fig)));
    log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  fig.loadAvg1 = Number(loadavg()[0]?.toFixed(2));
  fig.totalSeconds = Math.round((performance.now() - started) / 100) / 10;
  log(`\nSummary (${((performance.now() - started) / 1000).toFixed(1)} s in all; p99 is nearest-rank, so with fewer than 100 samples it is the max)\n`);
  printTable(rows);
  if (json) {
    const out: Figures = {};
    for (const key of FIGURE_KEYS) {
      out[key] = fig[key] ?? null;
      if (out[key] === null) process.stderr.write(`bench: ${key} not measured (${selected.length < ALL.length ? 'its benchmark was not selected' : 'no sample'})\n`);
    }
    for (const [k, v] of Object.entries(fig)) if (!(k in out)) out[k] = v;
    log(JSON.stringify(out));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
