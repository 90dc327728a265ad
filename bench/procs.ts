/**
 * Bot and worker processes of this same bot, for benchmarks that need real separate processes:
 * started the way the container starts them (the Dockerfile's CMD: node and its flags on the
 * compiled dist/, built once per bench run with `npm run build`), so their memory and CPU are
 * what production runs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { Harness } from '../test/support/harness.ts';
import { until } from './lib.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The Dockerfile's `CMD ["node", …flags, "dist/src/main.js"]`, as node's arguments. */
export function containerCommand(dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8')): string[] {
  const line = dockerfile.split('\n').findLast((l) => l.startsWith('CMD '));
  const argv = line ? (JSON.parse(line.slice(4)) as unknown) : undefined;
  if (!Array.isArray(argv) || argv[0] !== 'node' || !argv.every((a) => typeof a === 'string')) throw new Error(`bench: the Dockerfile's CMD is not ["node", …]: ${line ?? 'none'}`);
  return argv.slice(1);
}

let built: Promise<unknown> | undefined;
let profiled = 0;

/** Compiles src/ and jobs/ into dist/ (once per bench run), as the image's build stage does. */
export function ensureBuilt(): Promise<unknown> {
  built ??= promisify(execFile)(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json'], { cwd: ROOT });
  return built;
}

export interface BotProcess {
  proc: ChildProcess;
  /** The HTTP port it bound (0 until it logged it). */
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the container's command with the harness's environment and `role`; resolves once it logged "mk8s-ops started". */
export async function startBotProcess(h: Harness, role: 'all' | 'bot' | 'worker', env: Record<string, string> = {}): Promise<BotProcess> {
  await ensureBuilt();
  // MK8S_BENCH_PROFILE=<dir>: a V8 CPU profile of each process, written when stop() ends it with SIGTERM.
  const profileDir = process.env.MK8S_BENCH_PROFILE;
  const profileArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${role}-${Date.now()}-${++profiled}.cpuprofile`] : [];
  const proc = spawn(process.execPath, [...profileArgs, ...containerCommand()], {
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
      if (proc.exitCode === null && proc.signalCode === null) {
        // A profiled process is let finish its shutdown, so V8 writes the profile.
        proc.kill(profileDir ? 'SIGTERM' : 'SIGKILL');
        const killLater = profileDir ? setTimeout(() => proc.kill('SIGKILL'), 15_000) : undefined;
        await exited;
        clearTimeout(killLater);
      }
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
