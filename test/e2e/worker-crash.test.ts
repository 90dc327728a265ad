/**
 * A worker killed with SIGKILL in the middle of a step, then restarted: the job
 * resumes from its checkpoints, the step that was in flight runs again, and no
 * step that had finished runs a second time.
 *
 * The bot (chat) runs in this process through the harness; the worker runs as
 * a child process of the real entry point (`src/main.ts`, MK8S_ROLE=worker), so
 * the crash is a real process death: no finally blocks, no lock release.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SimCommandRecord } from '../../src/sim/index.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';
import { CRASH_TEST_LOCK_MS, startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';

describe('e2e: a worker killed mid-step and restarted', () => {
  let h: Harness;
  const children: WorkerProcess[] = [];

  /** Starts a worker-only process of this same bot (the node process itself, so SIGKILL hits it). */
  const startWorker = (): WorkerProcess => {
    const child = startWorkerProcess(h.env);
    children.push(child);
    return child;
  };
  const kill = stopWorkerProcess;

  const killAll = async () => {
    await Promise.all(children.map(kill));
  };

  /** Commands the simulator received whose words (sudo stripped) start with `prefix`. */
  const ran = (prefix: string[], node?: string): SimCommandRecord[] =>
    h.sim.commandLog.filter((r) => (!node || r.node === node) && prefix.every((w, i) => r.argv[i] === w));

  beforeAll(async () => {
    h = await startHarness({
      role: 'bot',
      workerLockMs: CRASH_TEST_LOCK_MS,
      // A long drain, so there is time to kill the worker while it runs.
      latency: { drainMs: 3000 },
    });
  });

  afterEach(async () => {
    await killAll();
  });

  afterAll(async () => {
    await killAll();
    await h?.stop();
  });

  it('resumes after SIGKILL during the drain: the job finishes and no finished step runs twice', async () => {
    const first = startWorker();
    const { jobId } = await h.command(USERS.alice, 'upgrade k8s-1 1.23/stable');
    expect(jobId).toBeDefined();
    const id = jobId!;

    await h.click(USERS.bob, await h.waitButton(id, 'Approve', 30_000));
    const drainLine = await h.slack.waitFor(() => h.thread(id).find((m) => m.text.startsWith('⏳ drain k8s-1')), 30_000);
    // The drain command reached the node: the step is truly in the middle of its work.
    await h.slack.waitFor(() => h.sim.state.node('k8s-1').cordoned, 10_000);
    // And its checkpoint knows the line (written once Slack answered the post), so a rerun can update it.
    await h.slack.waitFor(async () => Object.values((await h.app.queue.get(id))!.data.steps).some((s) => s.title === 'drain k8s-1' && s.msgTs === drainLine.ts), 10_000);
    // The backup's checksum (the report at the end hashes the Calico manifests too: not counted).
    const backupSums = () => ran(['sha256sum']).filter((c) => c.argv[1]?.includes('/mk8s-backup-')).length;
    const before = { tar: ran(['tar', '-czf']).length, sha: backupSums() };
    expect(before.tar).toBe(1);
    expect(before.sha).toBeGreaterThanOrEqual(1);

    await kill(first);
    expect(first.proc.signalCode).toBe('SIGKILL');
    // Nothing moves while no worker runs.
    expect(h.parent(id)?.text).toMatch(/ · running$/);

    const second = startWorker();
    const done = await h.waitState(id, 'succeeded', 45_000).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- second worker output ---\n${second.output()}`);
    });
    expect(done.text).toBe(`job ${id} · upgrade on prod · succeeded`);

    // Finished steps were not run again: their commands ran exactly once.
    expect(ran(['tar', '-czf'])).toHaveLength(1);
    expect(backupSums()).toBe(before.sha);
    expect(ran(['snap', 'refresh', 'microk8s'], 'k8s-1')).toHaveLength(1);
    expect(ran(['snap', 'refresh', 'microk8s'], 'k8s-1')[0]?.argv.join(' ')).toContain('--channel 1.23/stable');
    // The step that was in flight ran again (the interrupted drain, then the rerun).
    const drains = await h.slack.waitFor(() => {
      const d = h.sim.commandLog.filter((r) => r.argv.includes('drain') && r.argv.includes('k8s-1'));
      return d.length >= 2 ? d : undefined;
    }, 10_000);
    expect(drains).toHaveLength(2);

    // The thread says so, on the same line the drain step posted first.
    const drainNow = h.thread(id).find((m) => m.ts === drainLine.ts);
    expect(drainNow?.text).toMatch(/^✅ drain k8s-1/);
    expect(drainNow?.updates).toBeGreaterThanOrEqual(2);
    const edits = h.slack
      .callsOf('chat.update')
      .filter((c) => c.args.ts === drainLine.ts)
      .map((c) => String(c.args.text));
    expect(edits.some((t) => t.startsWith('🔁 drain k8s-1') && t.includes('running again after an interruption'))).toBe(true);
    // No other step line was ever marked as re-run.
    const reruns = h.slack.callsOf('chat.update').filter((c) => String(c.args.text).startsWith('🔁'));
    expect(reruns.map((c) => c.args.ts)).toEqual([drainLine.ts]);
    // Each step has one line in the thread: a resumed job did not post its finished steps again.
    const stepLines = h.thread(id).filter((m) => /^(✅|⏳|🔁|❌) /.test(m.text)).map((m) => m.text.slice(2).split(' — ')[0]);
    expect(new Set(stepLines).size).toBe(stepLines.length);

    // The checkpoints agree: every step started once, except the drain, twice.
    const job = await h.app.queue.get(id);
    const steps = Object.values(job!.data.steps);
    expect(steps.every((s) => s.status === 'done')).toBe(true);
    expect(steps.filter((s) => s.runs > 1).map((s) => [s.title, s.runs])).toEqual([['drain k8s-1', 2]]);

    // And the node is where the runbook says it is.
    const node = h.sim.state.node('k8s-1');
    expect(node.version).toMatch(/^v1\.23\./);
    expect(node.tracking).toBe('1.23/stable');
    expect(node.cordoned).toBe(false);
  });

  it('a worker crash while the job waits for approval is harmless', async () => {
    const first = startWorker();
    const { jobId } = await h.command(USERS.alice, 'upgrade k8s-2 1.23/stable');
    expect(jobId).toBeDefined();
    const id = jobId!;
    const approve = await h.waitButton(id, 'Approve', 30_000);
    await h.waitState(id, 'awaiting approval');
    await kill(first);

    // The decision is recorded while no worker runs; a new worker picks the job up.
    expect(await h.click(USERS.bob, approve)).toBe(200);
    const second = startWorker();
    await h.waitState(id, 'succeeded', 45_000).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- second worker output ---\n${second.output()}`);
    });

    expect(ran(['snap', 'refresh', 'microk8s'], 'k8s-2')).toHaveLength(1);
    const gateMsg = h.thread(id).find((m) => m.ts === approve.messageTs);
    expect(gateMsg?.text).toMatch(/approved$/);
    expect(gateMsg?.buttons).toEqual([]);
    const job = await h.app.queue.get(id);
    expect(Object.values(job!.data.steps).every((s) => s.status === 'done' && s.runs === 1)).toBe(true);
    const node = h.sim.state.node('k8s-2');
    expect(node.version).toMatch(/^v1\.23\./);
    expect(node.cordoned).toBe(false);
  });
});
