/**
 * A harness's simulated clusters in a child process (HarnessOptions.simProcess): benchmarks use
 * it so that the nodes' SSH servers do not run on the bot's event loop, as they never do in
 * production. Tests keep the clusters in-process (h.sims), where they can change their state.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SimCommandRecord, SimLatency, SimNodeSpec } from '../../src/sim/index.ts';

export interface SimProcessSpec {
  dir: string;
  latency: Partial<SimLatency>;
  clusters: Array<{ name: string; channel: string; nodes?: SimNodeSpec[]; snapProxy?: boolean; haCluster?: boolean; policy: Record<string, unknown> }>;
}

export interface SimProcess {
  pid: number;
  /** Each cluster's inventory YAML (as SimCluster.inventoryYaml), client files written under spec.dir. */
  inventories: Record<string, string>;
  /** SSH handshakes each node of the cluster accepted so far. */
  connectionsAccepted(cluster: string): Promise<Map<string, number>>;
  /** The cluster's command log so far and when each node's restart ends (SimNode.restartingUntil). */
  nodesSide(cluster: string): Promise<NodesSide>;
  stop(): Promise<void>;
}

export interface NodesSide {
  connections: Map<string, number>;
  commands: SimCommandRecord[];
  restartingUntil: Record<string, number>;
}

interface Answer {
  connections?: Record<string, number>;
  commands?: SimCommandRecord[];
  restartingUntil?: Record<string, number>;
}

const CHILD = fileURLToPath(new URL('./sim-process-child.ts', import.meta.url));

export async function startSimProcess(spec: SimProcessSpec): Promise<SimProcess> {
  // MK8S_BENCH_PROFILE=<dir>: a V8 CPU profile of the simulator too (written when it exits), as bench/procs.ts does for the bot's processes.
  const profileDir = process.env.MK8S_BENCH_PROFILE;
  const profileArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}/sim`] : [];
  const proc = spawn(process.execPath, [...profileArgs, '--import', 'tsx', CHILD], { env: { ...process.env, MK8S_SIM_SPEC: JSON.stringify(spec) }, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const waiting = new Map<number, (a: Answer) => void>();
  let next = 0;
  const inventories = await new Promise<Record<string, string>>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`the simulator process exited (${code}) before it was ready`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as Answer & { ready?: Record<string, string>; id?: number };
      if (msg.ready) resolve(msg.ready);
      else if (msg.id !== undefined) {
        waiting.get(msg.id)?.(msg);
        waiting.delete(msg.id);
      }
    });
  });
  const ask = (cluster: string, log: boolean): Promise<Answer> =>
    new Promise((resolve) => {
      const id = ++next;
      waiting.set(id, resolve);
      proc.stdin.write(`${JSON.stringify({ id, cluster, log })}\n`);
    });
  return {
    pid: proc.pid ?? 0,
    inventories,
    connectionsAccepted: async (cluster) => new Map(Object.entries((await ask(cluster, false)).connections ?? {})),
    nodesSide: async (cluster) => {
      const a = await ask(cluster, true);
      return { connections: new Map(Object.entries(a.connections ?? {})), commands: a.commands ?? [], restartingUntil: a.restartingUntil ?? {} };
    },
    stop: async () => {
      proc.stdin.end();
      await exited;
    },
  };
}
