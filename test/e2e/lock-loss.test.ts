/**
 * A worker that loses a job's lock stops touching nodes (issue 9, item 10).
 *
 * Two real worker processes. Worker A runs an upgrade and is paused with SIGSTOP in the
 * middle of a read-only step (waiting for the node to be Ready) for longer than the lock
 * lasts; worker B finds the job stalled and carries it to the end. Then A is resumed: its
 * lock is gone, so it must send no command, post nothing and write nothing more. No
 * mutating command reaches a node twice, and each step ran once, except the one in flight
 * when A was paused (read-only, run again by B as any interrupted step is).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCommandRecord } from '../../src/sim/index.ts';
import { words } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';

const LOCK_MS = 1500;
/** Mutating commands of an upgrade (the reads may repeat; these never may). */
const MUTATING = [/^tar -czf /, /^microk8s kubectl drain /, /^snap refresh /, /^microk8s kubectl uncordon /, /^microk8s kubectl cordon /, /^rm -f /, /^install /, /^mv /, /^snap revert /];

describe('e2e: a worker paused past its lock never touches the job again', () => {
  let h: Harness;
  const children: WorkerProcess[] = [];

  beforeAll(async () => {
    // After the refresh the node stays NotReady for 4 s: the wait step is long enough to pause A in.
    h = await startHarness({ role: 'bot', workerLockMs: LOCK_MS, latency: { restartMs: 4000 } });
  });
  afterAll(async () => {
    await Promise.all(children.map(stopWorkerProcess));
    await h?.stop();
  });

  const start = (): WorkerProcess => {
    const w = startWorkerProcess(h.env);
    children.push(w);
    return w;
  };

  it('SIGSTOP past the lock, then SIGCONT: no step runs twice, no mutating command is sent twice, nothing posted or written by the paused worker', async () => {
    const a = start();
    const { jobId } = await h.command(USERS.alice, 'upgrade k8s-1 1.23/stable');
    const id = jobId!;
    expect(await h.click(USERS.bob, await h.waitButton(id, 'Approve', 30_000))).toBe(200);

    // A is the only worker: it runs the job up to the wait for Ready, then is paused there.
    const WAIT = 'wait for k8s-1 to be Ready on 1.23/stable';
    await h.slack.waitFor(() => h.thread(id).find((m) => m.text.startsWith(`⏳ ${WAIT}`)), 30_000);
    // Its checkpoint says the step is running (the line goes up just before it).
    const inFlight = async () => Object.values((await h.app.queue.get(id))!.data.steps).some((s) => s.title === WAIT && s.status === 'running');
    await expect.poll(inFlight, { timeout: 5_000, interval: 10 }).toBe(true);
    a.proc.kill('SIGSTOP');
    const pausedAt = Date.now();
    const b = start();

    // B finds the lock expired, takes the job over and finishes it.
    await h.waitState(id, 'succeeded', 45_000).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- B ---\n${b.output()}`);
    });
    expect(Date.now() - pausedAt).toBeGreaterThan(LOCK_MS);
    const postsBefore = h.slack.callsOf('chat.postMessage').length + h.slack.callsOf('chat.update').length;
    const dataBefore = JSON.stringify((await h.app.queue.get(id))!.data);

    // A wakes up: its lock renewal fails and its next boundary or command finds the lock gone.
    const resumedAt = Date.now();
    a.proc.kill('SIGCONT');
    await h.slack.waitFor(() => (a.output().includes('lost the lock') || a.output().includes('job lock lost') ? true : undefined), 15_000).catch(() => {
      throw new Error(`A never noticed it lost the lock\n--- A ---\n${a.output()}`);
    });
    // Give it time to do anything it still would (a command, a post, a state write).
    await new Promise((r) => setTimeout(r, LOCK_MS));

    const after: SimCommandRecord[] = h.sim.commandLog.filter((c) => c.startedAt >= resumedAt);
    // A command A had already checked the lock for may still leave in the one round trip after SIGCONT
    // (the pause can land between the check and the write); it must be a read, and at most one.
    const late = after.map(words);
    expect(late.length, `commands sent after A resumed (B had finished): ${late.join(' | ')}`).toBeLessThanOrEqual(1);
    expect(late.filter((w) => MUTATING.some((pattern) => pattern.test(w))), 'mutating commands sent after A resumed').toEqual([]);
    expect(h.slack.callsOf('chat.postMessage').length + h.slack.callsOf('chat.update').length, 'nothing posted by A').toBe(postsBefore);
    expect(JSON.stringify((await h.app.queue.get(id))!.data), 'job data untouched by A').toBe(dataBefore);

    // Every mutating command reached a node exactly once.
    for (const pattern of MUTATING) {
      const sent = h.sim.commandLog.map(words).filter((w) => pattern.test(w));
      expect(sent.length, `${pattern} sent ${sent.length} times: ${sent.join(' | ')}`).toBeLessThanOrEqual(1);
    }
    expect(h.sim.commandLog.map(words).filter((w) => w.startsWith('snap refresh '))).toHaveLength(1);
    expect(h.sim.commandLog.map(words).filter((w) => w.startsWith('microk8s kubectl drain '))).toHaveLength(1);

    // The checkpoints: every step done; only the step A was paused in ran twice.
    const job = await h.app.queue.get(id);
    const steps = Object.values(job!.data.steps);
    expect(steps.every((s) => s.status === 'done')).toBe(true);
    expect(steps.filter((s) => s.runs > 1).map((s) => [s.title, s.runs])).toEqual([[WAIT, 2]]);
    expect(h.parent(id)?.text).toBe(`job ${id} · upgrade on prod · succeeded`);
    expect(h.thread(id).some((m) => m.text.startsWith('❌'))).toBe(false);

    const node = h.sim.state.node('k8s-1');
    expect(node.version).toMatch(/^v1\.23\./);
    expect(node.cordoned).toBe(false);
  });
});
