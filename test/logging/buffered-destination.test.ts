import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs `body` in a node process of its own with `log` (a logger on bufferedDestination(1)) in scope; its stdout as it arrives. */
function child(body: string) {
  const script = `import { bufferedDestination, createLogger } from './src/logging.ts';\nconst log = createLogger('info', { destination: bufferedDestination(1) });\n${body}`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, exited, out: () => out, err: () => err };
}

async function until(what: string, fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('bufferedDestination (the logs of a bot or worker process)', () => {
  it('a line far below the chunk size is written soon, while the process goes on', async () => {
    const c = child(`log.info({ n: 1 }, 'first line'); setTimeout(() => {}, 30_000);`);
    try {
      await until('the line on stdout', () => c.out().includes('first line'));
      expect(JSON.parse(c.out().trim().split('\n')[0] ?? '')).toMatchObject({ msg: 'first line', n: 1, app: 'mk8s-ops' });
    } finally {
      c.proc.kill('SIGKILL');
      await c.exited;
    }
  });

  it('every line logged before process.exit is written, in order', async () => {
    const c = child(`for (let i = 0; i < 500; i++) log.info({ i }, 'line'); process.exit(0);`);
    expect(await c.exited, c.err()).toBe(0);
    const lines = c.out().trim().split('\n').map((l) => (JSON.parse(l) as { i: number }).i);
    expect(lines).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });
});
