/**
 * The simulated clusters of a harness in a process of their own (test/support/sim-process.ts
 * starts it). Reads its spec from MK8S_SIM_SPEC (JSON), starts the clusters, writes each one's
 * client key and known_hosts, and answers on stdout, one JSON line each:
 *   { "ready": { "<cluster>": "<inventory YAML of that cluster>" } }
 * then for every stdin line { "id", "cluster", "log"? }: { "id", "connections": { "<node>": n } },
 * with `log: true` also "commands" (the command log, SimCommandRecord[]) and "restartingUntil"
 * ({ "<node>": epoch ms }): what a benchmark reads of the nodes' side after a job.
 * Stops its clusters and exits when stdin ends.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import type { SimProcessSpec } from './sim-process.ts';

const spec = JSON.parse(process.env.MK8S_SIM_SPEC ?? '{}') as SimProcessSpec;
const sims = new Map<string, SimCluster>();
const ready: Record<string, string> = {};
for (const c of spec.clusters) {
  const sim = await startSimCluster({ nodes: c.nodes, snapProxy: c.snapProxy, haCluster: c.haCluster, latency: spec.latency });
  sims.set(c.name, sim);
  const files = await sim.writeClientFiles(join(spec.dir, c.name));
  ready[c.name] = sim.inventoryYaml({ clusterName: c.name, channel: c.channel, ...files, policy: c.policy });
}
process.stdout.write(`${JSON.stringify({ ready })}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const { id, cluster, log } = JSON.parse(line) as { id: number; cluster: string; log?: boolean };
  const sim = sims.get(cluster);
  const connections = Object.fromEntries(sim?.connectionsAccepted() ?? []);
  const extra = log && sim
    ? { commands: sim.commandLog, restartingUntil: Object.fromEntries(sim.nodes.map((n) => [n.name, sim.state.node(n.name).restartingUntil])) }
    : {};
  process.stdout.write(`${JSON.stringify({ id, connections, ...extra })}\n`);
});
lines.on('close', () => {
  void Promise.all([...sims.values()].map((s) => s.stop())).then(() => process.exit(0));
});
