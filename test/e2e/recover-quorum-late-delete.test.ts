/**
 * recover-quorum when a dead worker's delete lands late: worker A is SIGKILLed while its step-5
 * `rm -f` of k8s-4's leftovers is still on its way (held on the node); worker B resumes,
 * deletes and copies the template's files again, and only then does A's `rm -f` run on the node,
 * removing files B had just copied. Step 6 compares k8s-4's files with the template's once more
 * before `microk8s start`, copies them again, and the cluster comes back with k8s-4's datastore
 * equal to the template's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND_DIR } from '../../src/microk8s/dqlite-files.ts';
import type { SimCommandRecord } from '../../src/sim/runner.ts';
import { controlPlanes, words } from '../support/e2e.ts';
import { deferred } from '../support/deferred.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';
import { approveBoth, lose, text } from '../support/recover-quorum.ts';
import { CRASH_TEST_LOCK_MS, startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';

describe('e2e: recover-quorum re-checks the copied files before starting a survivor', () => {
  let h: Harness;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    // k8s-1..3 voters, k8s-4 stand-by; k8s-1 and k8s-2 lost → survivors k8s-3 (template) and k8s-4
    h = await startHarness({ role: 'bot', workerLockMs: CRASH_TEST_LOCK_MS, clusters: [{ name: 'prod', channel: 'C0PROD00001', nodes: controlPlanes(4, { channel: '1.28/stable' }) }] });
  });
  afterAll(async () => {
    for (const w of workers) await stopWorkerProcess(w);
    await h?.stop();
  });

  it('copies again what a late delete removed, then starts', { timeout: 150_000 }, async () => {
    await lose(h.sim, ['k8s-1', 'k8s-2']);
    const from = h.sim.commandLog.length;
    const k8s4 = () => h.sim.commandLog.slice(from).filter((c) => c.node === 'k8s-4');
    const isDelete = (c: SimCommandRecord) => words(c).startsWith(`rm -f ${BACKEND_DIR}/`);
    // A's delete of k8s-4's leftovers is held on the node (which keeps it after A dies) until B has copied the files …
    const lateDelete = deferred();
    h.sim.inject({ node: 'k8s-4', match: `rm -f ${BACKEND_DIR}/`, kind: 'hold', until: lateDelete.promise, times: 1 });
    // … and B's first `microk8s start` (on the template) waits until that delete has run
    const firstStart = deferred();
    h.sim.inject({ node: 'k8s-3', match: 'microk8s start', kind: 'hold', until: firstStart.promise, times: 1 });
    workers.push(startWorkerProcess(h.env));
    const { jobId } = await h.command(USERS.alice, 'recover-quorum');
    const id = jobId!;
    await approveBoth(h, id);
    // A is inside step 5b on k8s-4, its delete received by the node and held there
    await h.slack.waitFor(() => h.sim.commandsRunning().some((c) => c.node === 'k8s-4' && isDelete(c)), 60_000);
    const a = workers[0]!;
    a.proc.kill('SIGKILL');
    await a.exited;
    workers.push(startWorkerProcess(h.env));
    // B deletes and copies again; then A's delete reaches the node; then B goes on to step 6
    const stepDone = async (title: string) => Object.values((await h.app.queue.get(id))!.data.steps).some((st) => st.title === title && st.status === 'done');
    await h.slack.waitFor(() => stepDone('5. update k8s-4 from k8s-3'), 60_000);
    lateDelete.resolve();
    await h.slack.waitFor(() => k8s4().filter(isDelete).length === 2, 30_000);
    firstStart.resolve();

    await h.waitState(id, 'succeeded', 90_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${text(h, id).slice(0, 4000)}\n--- worker output ---\n${workers.map((w) => w.output()).join('\n---\n')}`);
    });
    const log = h.sim.commandLog.slice(from).filter((c) => c.node === 'k8s-4');
    // the late delete really ran after B's copy, and step 6 copied again after it
    const deletes = log.map((c, i) => (isDelete(c) ? i : -1)).filter((i) => i >= 0);
    const untars = log.map((c, i) => (words(c).startsWith('tar -xzf') ? i : -1)).filter((i) => i >= 0);
    const start = log.findIndex((c) => words(c) === 'microk8s start');
    expect(untars.length).toBe(2);
    expect(start).toBeGreaterThan(untars.at(-1)!);
    const late = deletes.find((d) => d > untars[0]!);
    expect(late).toBeDefined();
    expect(untars[1]!).toBeGreaterThan(late!);
    // k8s-4 started with exactly the template's datastore files
    const t = text(h, id);
    expect(t).toMatch(/6\. start MicroK8s on k8s-4 — started \(its files had changed since step 5/);
    const s = h.sim.state;
    expect(['k8s-3', 'k8s-4'].map((n) => [s.node(n).dqliteRole, s.node(n).datastoreFault])).toEqual([['voter', undefined], ['voter', undefined]]);
    expect(s.hasQuorum()).toBe(true);
  });
});
