/** Bot and worker processes of this same bot (src/main.ts), for benchmarks that need real separate processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Harness } from '../test/support/harness.ts';
import { until } from './lib.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface BotProcess {
  proc: ChildProcess;
  /** The HTTP port it bound (0 until it logged it). */
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `src/main.ts` with the harness's environment and `role`; resolves once it logged "mk8s-ops started". */
export async function startBotProcess(h: Harness, role: 'all' | 'bot' | 'worker', env: Record<string, string> = {}): Promise<BotProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...h.env, MK8S_ROLE: role, LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const child: BotProcess = {
    proc,
    port: 0,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
  await until(`the ${role} process to start`, () => {
    if (proc.exitCode !== null) throw new Error(`bench: the ${role} process exited: ${out.slice(-2000)}`);
    const m = /"httpPort":(\d+)[^\n]*mk8s-ops started/.exec(out);
    if (m?.[1]) child.port = Number(m[1]);
    return m !== null;
  }, 60_000);
  return child;
}
