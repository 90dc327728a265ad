/**
 * `npm run bench` runs every benchmark in sequence and prints a table of the
 * figures measured in this run; `tsx bench/run.ts ack` (or `approval`,
 * `overhead`, `rolling`, `cni`, `windows`, `watch`) runs only the named ones. Nothing is asserted.
 */
import { availableParallelism } from 'node:os';
import { ackLatency } from './ack-latency.ts';
import { approvalWake } from './approval-wake.ts';
import { cni } from './cni.ts';
import { log, printTable, type Benchmark, type Row } from './lib.ts';
import { rollingUpgrade } from './rolling-upgrade.ts';
import { upgradeOverhead } from './upgrade-overhead.ts';
import { watchCheck } from './watch-check.ts';
import { windowsAdd } from './windows-add.ts';

const ALL: Benchmark[] = [ackLatency, approvalWake, upgradeOverhead, rollingUpgrade, cni, windowsAdd, watchCheck];
const ALIASES: Record<string, string> = { 'ack-latency': 'ack', wake: 'approval', 'approval-wake': 'approval', upgrade: 'overhead', 'upgrade-overhead': 'overhead', 'rolling-upgrade': 'rolling', 'upgrade-cluster': 'rolling', 'windows-add': 'windows', 'windows-worker': 'windows' };

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).map((a) => ALIASES[a] ?? a);
  const unknown = wanted.filter((w) => !ALL.some((b) => b.name === w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${ALL.map((b) => b.name).join(', ')}\n`);
    process.exit(2);
  }
  const selected = wanted.length > 0 ? ALL.filter((b) => wanted.includes(b.name)) : ALL;
  log(`mk8s-ops benchmarks · node ${process.version} · ${availableParallelism()} CPU(s) · everything on loopback`);
  const rows: Row[] = [];
  const started = performance.now();
  for (const b of selected) {
    log(`\n== ${b.name}: ${b.title}`);
    const t0 = performance.now();
    rows.push(...(await b.run()));
    log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  log(`\nSummary (${((performance.now() - started) / 1000).toFixed(1)} s in all; p99 is nearest-rank, so with fewer than 100 samples it is the max)\n`);
  printTable(rows);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
