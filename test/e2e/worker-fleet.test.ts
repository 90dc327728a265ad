/**
 * Roles across real separate processes: the bot in this process (harness, MK8S_ROLE=bot) and
 * MK8S_ROLE=worker processes of src/main.ts on one Redis. Two clusters' jobs run side by side;
 * a worker SIGKILLed in the middle of both is replaced by another worker process, which
 * resumes both from their checkpoints without running a finished step again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../src/sim/index.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';
import { CRASH_TEST_LOCK_MS, startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';

const CLUSTERS = [
  { name: 'east', channel: 'C0EAST00001' },
  { name: 'west', channel: 'C0WEST00001' },
];

describe('e2e: a bot and worker processes on one Redis', () => {
  let h: Harness;
  const procs: WorkerProcess[] = [];

  const startWorker = (): WorkerProcess => {
    const w = startWorkerProcess(h.env);
    procs.push(w);
    return w;
  };

  beforeAll(async () => {
    h = await startHarness({ clusters: CLUSTERS, role: 'bot', workerLockMs: CRASH_TEST_LOCK_MS, latency: { drainMs: 3000 } });
  });
  afterAll(async () => {
    await Promise.all(procs.map((w) => stopWorkerProcess(w)));
    await h?.stop();
  });

  const sim = (name: string): SimCluster => h.sims.get(name)!;
  const ran = (s: SimCluster, words: string[]) => s.commandLog.filter((r) => words.every((w, i) => r.argv[i] === w));
  const drainsOf = (s: SimCluster) => s.commandLog.filter((r) => r.argv.includes('drain') && r.argv.includes('k8s-1'));

  it("runs two clusters' jobs side by side, and another worker resumes both after a SIGKILL", async () => {
    const first = startWorker();
    const ids: string[] = [];
    for (const c of CLUSTERS) {
      const { jobId, text } = await h.command(USERS.alice, 'upgrade k8s-1 1.23/stable', c.channel);
      expect(jobId, text).toBeDefined();
      ids.push(jobId!);
    }
    for (const [i, c] of CLUSTERS.entries()) await h.click(USERS.bob, await h.waitButton(ids[i]!, 'Approve', 30_000), undefined, c.channel);
    // Both drains (3 s each) are under way at the same time on the one worker.
    await h.slack.waitFor(() => CLUSTERS.every((c) => sim(c.name).state.node('k8s-1').cordoned), 30_000);
    // (the simulator logs a command when it ends: the drains in flight are not in it yet)
    expect(CLUSTERS.map((c) => ran(sim(c.name), ['tar', '-czf']).length)).toEqual([1, 1]);

    const second = startWorker();
    first.proc.kill('SIGKILL');
    await first.exited;

    for (const id of ids) {
      await h.waitState(id, 'succeeded', 60_000).catch((err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- second worker ---\n${second.output()}`);
      });
    }
    for (const [i, c] of CLUSTERS.entries()) {
      const s = sim(c.name);
      // the finished backup did not run again; the drain in flight did, once
      expect(ran(s, ['tar', '-czf'])).toHaveLength(1);
      // the interrupted drain (logged when the simulator finished it) and the rerun
      expect(await h.slack.waitFor(() => (drainsOf(s).length >= 2 ? drainsOf(s) : undefined), 10_000)).toHaveLength(2);
      expect(ran(s, ['snap', 'refresh', 'microk8s']).filter((r) => r.node === 'k8s-1')).toHaveLength(1);
      const job = await h.app.queue.get(ids[i]!);
      expect(Object.values(job!.data.steps).filter((st) => st.runs > 1).map((st) => st.title)).toEqual(['drain k8s-1']);
      expect(s.state.node('k8s-1').version).toMatch(/^v1\.23\./);
    }
  });
});
