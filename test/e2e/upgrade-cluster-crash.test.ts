/**
 * `upgrade-cluster` through Slack with a worker killed (SIGKILL of a separate process) in the
 * middle of a node's refresh: the job resumes in a new worker without refreshing a node twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster, SimCommandRecord, SimNodeSpec } from '../../src/sim/index.ts';
import { CRASH_TEST_LOCK_MS } from '../support/worker-process.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const TO = '1.23/stable';
const NODES: SimNodeSpec[] = [
  { name: 'k8s-1', failureDomain: 1 },
  { name: 'k8s-2', failureDomain: 2 },
  { name: 'k8s-3', failureDomain: 3 },
];
const POLICY = { readyTimeout: '2s', drainTimeout: '5s' };

function refreshes(sim: SimCluster, node: string): SimCommandRecord[] {
  return sim.commandLog.filter((r: SimCommandRecord) => r.node === node && r.argv[0] === 'snap' && r.argv[1] === 'refresh' && r.argv.some((a) => a.startsWith('--channel')));
}

/**
 * A worker killed (SIGKILL of a separate process) while the second node's refresh runs: the
 * job resumes in a new worker, the in-flight refresh step runs again, reads that the node
 * already moved to the channel and does not refresh it a second time.
 */
describe('upgrade-cluster: a worker killed mid-refresh', () => {
  let h: Harness;
  let child: ChildProcess | undefined;
  let output = '';

  const startWorker = (): ChildProcess => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, ...h.env, MK8S_ROLE: 'worker', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    return proc;
  };
  const kill = async (proc: ChildProcess | undefined): Promise<void> => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    h = await startHarness({ role: 'bot', workerLockMs: CRASH_TEST_LOCK_MS, clusters: [{ name: 'crash', channel: 'C0CRASH0001', nodes: NODES.slice(0, 3), policy: POLICY }] });
  });
  afterAll(async () => {
    await kill(child);
    await h?.stop();
  });

  it('does not refresh a node twice after a crash', async () => {
    child = startWorker();
    // The second node's refresh takes a while: time to kill the worker in the middle of it.
    h.sim.inject({ node: 'k8s-2', match: 'snap refresh microk8s --channel', kind: 'delay', ms: 1500, times: 1 });
    const res = await h.command(alice, `upgrade-cluster ${TO} --pause-after none`, 'C0CRASH0001');
    const id = res.jobId!;
    await h.click(bob, await h.waitButton(id, 'Approve', 30_000), undefined, 'C0CRASH0001');
    await h.slack.waitFor(() => h.thread(id).find((m) => m.text.startsWith('⏳ refresh k8s-2')), 30_000);
    // The refresh has reached k8s-2 once its `snap list` has answered.
    await h.slack.waitFor(() => h.sim.commandLog.some((r) => r.node === 'k8s-2' && r.argv.join(' ') === 'snap list microk8s' && r.startedAt > Date.now() - 1500), 10_000);
    await new Promise((r) => setTimeout(r, 200));
    await kill(child);
    expect(h.parent(id)?.text).toMatch(/ · running$/);
    // snapd finishes the refresh on its own.
    await h.slack.waitFor(() => h.sim.state.node('k8s-2').tracking === TO || undefined, 10_000);

    child = startWorker();
    await h.waitState(id, 'succeeded', 45_000).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- worker output ---\n${output}`);
    });
    for (const n of ['k8s-1', 'k8s-2', 'k8s-3']) {
      expect(refreshes(h.sim, n), n).toHaveLength(1);
      expect(h.sim.state.node(n).version).toBe('v1.23.3');
      expect(h.sim.state.node(n).cordoned).toBe(false);
    }
    const job = await h.app.queue.get(id);
    const steps = Object.values(job!.data.steps);
    expect(steps.filter((s) => s.runs > 1).map((s) => s.title)).toEqual(['refresh k8s-2 to 1.23/stable']);
    expect(h.thread(id).map((m) => m.text)).toContainEqual(expect.stringMatching(/^✅ refresh k8s-2 to 1\.23\/stable — already refreshed \(v1\.23\.3\)/));
  });
});
