/**
 * SIGTERM on a worker process in the middle of a step: the step finishes, the job goes back
 * to the queue with its checkpoints (nothing fails, nothing is half-done), the process exits
 * cleanly, and the next worker continues with the step after it — which runs once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, USERS, type Harness } from '../support/harness.ts';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';


describe('e2e: a worker stopped with SIGTERM mid-step', () => {
  let h: Harness;
  const procs: WorkerProcess[] = [];

  const startWorker = (): WorkerProcess => {
    // info: a failure shows what the stopping worker did (its hand-back or why not).
    const w = startWorkerProcess(h.env, 'info');
    procs.push(w);
    return w;
  };

  beforeAll(async () => {
    // A lock several times the drain: on a loaded machine a 1 s lock lapsed while the stopping
    // worker waited out the drain (no lost-lock resume is under test here; worker-crash has that).
    h = await startHarness({ role: 'bot', workerLockMs: 5000, latency: { drainMs: 2000 } });
  });
  afterAll(async () => {
    await Promise.all(procs.map((w) => stopWorkerProcess(w)));
    await h?.stop();
  });

  const drains = () => h.sim.commandLog.filter((r) => r.argv.includes('drain') && r.argv.includes('k8s-1'));

  it('finishes the running step, hands the job back, and the next worker goes on from the next step', async () => {
    const first = startWorker();
    const { jobId } = await h.command(USERS.alice, 'upgrade k8s-1 1.23/stable');
    const id = jobId!;
    await h.click(USERS.bob, await h.waitButton(id, 'Approve', 30_000));
    await h.slack.waitFor(() => h.thread(id).find((m) => m.text.startsWith('⏳ drain k8s-1')), 30_000);
    await h.slack.waitFor(() => h.sim.state.node('k8s-1').cordoned, 10_000);

    first.proc.kill('SIGTERM');
    expect(await first.exited, first.output()).toBe(0);

    // The drain finished and was checkpointed; the job waits in the queue, not failed.
    const parked = await h.app.queue.get(id);
    const steps = Object.values(parked!.data.steps);
    expect(steps.find((s) => s.title === 'drain k8s-1')?.status, first.output()).toBe('done');
    expect(steps.every((s) => s.status === 'done')).toBe(true);
    // Delayed for a moment (a closing worker's last fetch may still take it; its lock then
    // lapses and the next worker resumes it the same way): never failed, never completed.
    expect(['delayed', 'waiting', 'active'], first.output()).toContain(await parked!.getState());
    expect(parked!.data.state).toBe('running');
    expect(h.parent(id)?.text).toMatch(/ · running$/);
    expect(drains()).toHaveLength(1);

    startWorker();
    const done = await h.waitState(id, 'succeeded', 45_000);
    expect(done.text).toBe(`job ${id} · upgrade on prod · succeeded`);
    // No step ran twice: the drain once, the refresh once, each step started once.
    expect(drains()).toHaveLength(1);
    const job = await h.app.queue.get(id);
    expect(Object.values(job!.data.steps).filter((s) => s.runs > 1)).toEqual([]);
    expect(h.sim.commandLog.filter((r) => r.argv.includes('refresh') && r.node === 'k8s-1')).toHaveLength(1);
    expect(h.sim.state.node('k8s-1').version).toMatch(/^v1\.23\./);
  });
});
