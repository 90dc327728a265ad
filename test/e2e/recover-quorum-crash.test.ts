/**
 * recover-quorum with a real worker process SIGKILLed after step 4 (the `.reconfigure`), while
 * step 5 packs the template's files for the other survivor: the restarted worker resumes there, never runs the dqlite
 * shell a second time, and the cluster comes back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlanes } from '../support/e2e.ts';
import { CRASH_TEST_LOCK_MS } from '../support/worker-process.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';
import { approveBoth, lose, text } from '../support/recover-quorum.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('e2e: recover-quorum survives a worker crash between steps 4 and 5', () => {
  let h: Harness;
  const children: ChildProcess[] = [];
  const outputs: string[] = [];

  const startWorker = (): { proc: ChildProcess; exited: Promise<void> } => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...h.env, MK8S_ROLE: 'worker', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const i = outputs.push('') - 1;
    proc.stdout?.on('data', (c: Buffer) => (outputs[i] += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (outputs[i] += c.toString()));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    children.push(proc);
    return { proc, exited };
  };

  beforeAll(async () => {
    // k8s-1..3 voters, k8s-4 stand-by; k8s-1 and k8s-2 are lost → survivors k8s-3 (template) and k8s-4
    h = await startHarness({ role: 'bot', workerLockMs: CRASH_TEST_LOCK_MS, clusters: [{ name: 'prod', channel: 'C0PROD00001', nodes: controlPlanes(4, { channel: '1.28/stable' }) }] });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await h?.stop();
  });

  it('resumes in step 5 without a second .reconfigure', { timeout: 150_000 }, async () => {
    await lose(h.sim, ['k8s-1', 'k8s-2']);
    // step 5's packing of the template's files takes a while: time to kill the worker after step 4
    // finished (a read-and-pack whose late end is harmless — a delayed delete of a dead worker could
    // still remove files the resumed job had copied meanwhile)
    h.sim.inject({ node: 'k8s-3', match: 'recovered-k8s-3.tar.gz -C', kind: 'delay', ms: 4000, times: 1 });
    const first = startWorker();
    const { jobId } = await h.command(USERS.alice, 'recover-quorum');
    const id = jobId!;
    await approveBoth(h, id);
    await h.slack.waitFor(() => h.thread(id).find((m) => m.text.startsWith('✅ 4. reconfigure dqlite on k8s-3')), 60_000);
    // the pack step is checkpointed as running (its tar on k8s-3 is held up by the delay)
    await h.slack.waitFor(async () => Object.values((await h.app.queue.get(id))!.data.steps).some((st) => st.title === '5. pack the new configuration on k8s-3' && st.status === 'running'), 30_000);
    first.proc.kill('SIGKILL');
    await first.exited;
    expect(first.proc.signalCode).toBe('SIGKILL');

    startWorker();
    await h.waitState(id, 'succeeded', 90_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${text(h, id).slice(0, 4000)}\n--- worker output ---\n${outputs.join('\n---\n')}`);
    });
    const dqlite = h.sim.commandLog.filter((c) => c.argv[0] === '/snap/microk8s/current/bin/dqlite');
    expect(dqlite.map((c) => c.node)).toEqual(['k8s-3']);
    const job = await h.app.queue.get(id);
    const steps = Object.values(job!.data.steps);
    expect(steps.find((s) => s.title === '4. reconfigure dqlite on k8s-3')?.runs).toBe(1);
    expect(steps.find((s) => s.title === '5. pack the new configuration on k8s-3')?.runs).toBe(2);
    expect(steps.find((s) => s.title === '5. update k8s-4 from k8s-3')?.runs).toBe(1);
    expect(steps.every((s) => s.status === 'done')).toBe(true);
    const s = h.sim.state;
    expect(['k8s-3', 'k8s-4'].map((n) => [s.node(n).dqliteRole, s.node(n).datastoreFault])).toEqual([['voter', undefined], ['voter', undefined]]);
    expect(s.hasQuorum()).toBe(true);
  });
});
