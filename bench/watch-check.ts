/**
 * The watch's read-only check (src/watch/check.ts) on a 3-node and a 20-node cluster
 * (3 control-plane nodes + workers), every second: the time one check takes and the
 * SSH commands it sends, read from its `watch.check` audit events and the simulator's
 * command log. The ratio says how the check scales with the node count (the node
 * reads run in parallel, so it should stay far below 20/3).
 */
import type { StoredAuditEvent } from '../src/audit/events.ts';
import { controlPlanes, workers } from '../test/support/e2e.ts';
import { log, ratio, spread, stats, withHarness, type Benchmark, type Row } from './lib.ts';

const CHECKS = 8;
const SHAPES = [
  { name: '3 nodes', nodes: controlPlanes(3) },
  { name: '20 nodes', nodes: [...controlPlanes(3), ...workers(17)] },
];

async function measure(nodes: ReturnType<typeof controlPlanes>): Promise<{ durations: number[]; commandsPerCheck: number }> {
  return withHarness({ clusters: [{ name: 'w', channel: 'C0WATCH0001', nodes, extra: { watch: { interval: '1s' } } }] }, async (h) => {
    const read = async () => (await h.app.bot!['deps'].audit.recent(1000, { cluster: 'w' })).filter((e: StoredAuditEvent) => e.type === 'watch.check' && !e.skipped);
    const deadline = Date.now() + 120_000;
    let checks = await read();
    while (checks.length < CHECKS + 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      checks = await read();
    }
    const measured = checks.slice(1, CHECKS + 1).map((e) => e as StoredAuditEvent & { durationMs: number }); // the first one also warms up SSH
    // Commands from the start of the first measured check to the end of the last (nothing else runs on the cluster).
    const from = (measured[0]?.at ?? 0) - (measured[0]?.durationMs ?? 0);
    const to = measured.at(-1)?.at ?? 0;
    const commands = h.sim.commandLog.filter((c) => c.startedAt >= from && c.startedAt <= to).length;
    return { durations: measured.map((e) => e.durationMs), commandsPerCheck: commands / Math.max(1, measured.length) };
  });
}

export const watchCheck: Benchmark = {
  name: 'watch',
  title: 'one watch check: 3 nodes vs 20 nodes',
  async run(): Promise<Row[]> {
    const rows: Row[] = [];
    const p50: number[] = [];
    for (const shape of SHAPES) {
      const { durations, commandsPerCheck } = await measure(shape.nodes);
      const s = stats(durations);
      p50.push(s.p50);
      log(`  ${shape.name}: ${spread(s)} · ~${commandsPerCheck.toFixed(0)} SSH commands per check`);
      rows.push({ bench: 'watch', figure: `check, ${shape.name}`, value: spread(s), n: s.n, note: `~${commandsPerCheck.toFixed(0)} commands per check` });
    }
    rows.push({ bench: 'watch', figure: 'check time 20 ÷ 3 nodes (p50)', value: ratio((p50[1] ?? Number.NaN) / (p50[0] ?? Number.NaN)), note: 'node reads are parallel' });
    return rows;
  },
};
