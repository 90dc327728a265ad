/**
 * A worker-only process of this same bot (the real entry point, `src/main.ts` with
 * MK8S_ROLE=worker), for tests that need a real process to kill, pause or resume.
 *
 *   const w = startWorkerProcess(h.env);
 *   w.proc.kill('SIGSTOP');   // paused: no timers, no lock renewals
 *   await stopWorkerProcess(w);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  proc: ChildProcess;
  /** Everything it wrote (pino JSON lines at LOG_LEVEL). */
  output(): string;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

export function startWorkerProcess(env: Record<string, string>, logLevel = 'warn'): WorkerProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, MK8S_ROLE: 'worker', LOG_LEVEL: logLevel },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.exitCode);
    else proc.once('exit', (code) => resolve(code));
  });
  return { proc, output: () => out, exited };
}

/** SIGKILL (after SIGCONT, in case it is paused) and wait for the exit. */
export async function stopWorkerProcess(w: WorkerProcess): Promise<void> {
  if (w.proc.exitCode === null && w.proc.signalCode === null) {
    w.proc.kill('SIGCONT');
    w.proc.kill('SIGKILL');
  }
  await w.exited;
}

/**
 * The worker lock for tests that kill a worker and wait for another to resume its job: short,
 * so the resume comes within seconds, but not 1 s — BullMQ renews a lock every ½–¾ of its
 * duration, and on a loaded CI machine a 1 s lock lapsed under a live worker (then the test
 * saw a lost-lock resume it did not stage).
 */
export const CRASH_TEST_LOCK_MS = 2500;
