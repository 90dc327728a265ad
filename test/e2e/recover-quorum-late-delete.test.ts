/**
 * recover-quorum when a dead worker's delete lands late: worker A is SIGKILLed while its step-5
 * `rm -f` of k8s-4's leftovers is still on its way (delayed on the node); worker B resumes,
 * deletes and copies the template's files again, and only then does A's `rm -f` run on the node,
 * removing files B had just copied. Step 6 compares k8s-4's files with the template's once more
 * before `microk8s start`, copies them again, and the cluster comes back with k8s-4's datastore
 * equal to the template's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND_DIR } from '../../src/microk8s/dqlite-files.ts';
import { controlPlanes, words } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';
import { approveBoth, lose, text } from '../support/recover-quorum.ts';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';

describe('e2e: recover-quorum re-checks the copied files before starting a survivor', () => {
  let h: Harness;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    // k8s-1..3 voters, k8s-4 stand-by; k8s-1 and k8s-2 lost → survivors k8s-3 (template) and k8s-4
    h = await startHarness({ role: 'bot', workerLockMs: 1000, clusters: [{ name: 'prod', channel: 'C0PROD00001', nodes: controlPlanes(4, { channel: '1.28/stable' }) }] });
  });
  afterAll(async () => {
    for (const w of workers) await stopWorkerProcess(w);
    await h?.stop();
  });

  it('copies again what a late delete removed, then starts', { timeout: 150_000 }, async () => {
    await lose(h.sim, ['k8s-1', 'k8s-2']);
    const from = h.sim.commandLog.length;
    // A's delete of k8s-4's leftovers reaches the node 6 s late (the node keeps running it after A dies) …
    h.sim.inject({ node: 'k8s-4', match: `rm -f ${BACKEND_DIR}/`, kind: 'delay', ms: 6000, times: 1 });
    // … and B's first `microk8s start` (on the template) takes 8 s, so the late delete lands between B's step 5 and its start of k8s-4
    h.sim.inject({ node: 'k8s-3', match: 'microk8s start', kind: 'delay', ms: 8000, times: 1 });
    workers.push(startWorkerProcess(h.env));
    const { jobId } = await h.command(USERS.alice, 'recover-quorum');
    const id = jobId!;
    await approveBoth(h, id);
    // A is inside step 5b on k8s-4, its delete received by the node and held up there
    await h.slack.waitFor(() => h.sim.commandsRunning().some((c) => c.node === 'k8s-4' && words(c).startsWith(`rm -f ${BACKEND_DIR}/`)), 60_000);
    const a = workers[0]!;
    a.proc.kill('SIGKILL');
    await a.exited;
    workers.push(startWorkerProcess(h.env));

    await h.waitState(id, 'succeeded', 90_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${text(h, id).slice(0, 4000)}\n--- worker output ---\n${workers.map((w) => w.output()).join('\n---\n')}`);
    });
    const log = h.sim.commandLog.slice(from).filter((c) => c.node === 'k8s-4');
    // the late delete really ran after B's copy (both untars precede it), and a third copy followed it
    const deletes = log.map((c, i) => (words(c).startsWith(`rm -f ${BACKEND_DIR}/`) ? i : -1)).filter((i) => i >= 0);
    const untars = log.map((c, i) => (words(c).startsWith('tar -xzf') ? i : -1)).filter((i) => i >= 0);
    const start = log.findIndex((c) => words(c) === 'microk8s start');
    expect(untars.length).toBe(2);
    expect(start).toBeGreaterThan(untars.at(-1)!);
    const lateDelete = deletes.find((d) => d > untars[0]!);
    expect(lateDelete).toBeDefined();
    expect(untars[1]!).toBeGreaterThan(lateDelete!);
    // k8s-4 started with exactly the template's datastore files
    const t = text(h, id);
    expect(t).toMatch(/6\. start MicroK8s on k8s-4 — started \(its files had changed since step 5/);
    const s = h.sim.state;
    expect(['k8s-3', 'k8s-4'].map((n) => [s.node(n).dqliteRole, s.node(n).datastoreFault])).toEqual([['voter', undefined], ['voter', undefined]]);
    expect(s.hasQuorum()).toBe(true);
  });
});
