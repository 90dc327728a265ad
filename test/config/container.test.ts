/**
 * What the container runs: `npm run build` (tsconfig.build.json) compiles src/ and jobs/ to plain
 * JavaScript, and the Dockerfile's CMD starts it with node — no TypeScript loader. Built here into a
 * scratch directory and started exactly as the CMD says (its flags, its entry point) as a worker
 * process next to a bot: it runs an upgrade to the end, then stops cleanly on SIGTERM.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The Dockerfile's last `CMD [...]` (exec form). */
function containerCmd(): string[] {
  const line = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n').findLast((l) => l.startsWith('CMD '));
  return JSON.parse(line?.slice(4) ?? '[]') as string[];
}

describe('the container command: compiled dist/, started by node', () => {
  let h: Harness;
  let out: string;
  beforeAll(async () => {
    // Inside the repository, so the compiled files resolve node_modules as dist/ does.
    out = mkdtempSync(join(ROOT, '.build-test-'));
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', relative(ROOT, out)], { cwd: ROOT });
    h = await startHarness({ role: 'bot' });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('is node with its flags on dist/src/main.js, the output of `npm run build`', () => {
    const cmd = containerCmd();
    expect(cmd[0]).toBe('node');
    expect(cmd.at(-1)).toBe('dist/src/main.js');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
    expect(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')).toMatch(/"outDir": "dist"/);
  });

  it('runs a job as a worker and exits 0 on SIGTERM', { timeout: 90_000 }, async () => {
    const [, ...args] = containerCmd();
    const entry = args.pop()!.replace(/^dist\//, `${relative(ROOT, out)}/`);
    const proc = spawn(process.execPath, [...args, entry], { cwd: ROOT, env: { ...process.env, ...h.env, MK8S_ROLE: 'worker', LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout.on('data', (c: Buffer) => (log += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (log += c.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      const { jobId, text } = await h.command(USERS.alice, 'upgrade k8s-1 1.23/stable');
      expect(jobId, text).toBeDefined();
      await h.click(USERS.bob, await h.waitButton(jobId!, 'Approve', 60_000));
      await h.waitState(jobId!, 'succeeded', 60_000).catch((err: unknown) => {
        throw new Error(`${String(err)}\nworker output:\n${log.slice(-3000)}`);
      });
      expect(h.sim.state.node('k8s-1').tracking).toBe('1.23/stable');
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited, log.slice(-3000)).toBe(0);
  });
});
