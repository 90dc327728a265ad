import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionLostError } from '../../src/ssh/errors.ts';
import { SshPool } from '../../src/ssh/pool.ts';
import type { CommandEvent } from '../../src/ssh/types.ts';
import { startTestServer, targetFor, type TestServer } from '../support/ssh-test-server.ts';

const handler = (argv: string[]) => (argv[0] === 'drop' ? ('drop' as const) : { stdout: `${argv.join(' ')}\n` });

describe('SshPool', () => {
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestServer({ handler }), startTestServer({ handler })]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('opens one connection per node, lazily, and reuses it for every command', async () => {
    const events: CommandEvent[] = [];
    const pool = new SshPool({ onCommand: (e) => events.push(e) });
    const before = { a: a.connections, b: b.connections };
    const ta = targetFor(a, { node: 'k8s-1' });
    const tb = targetFor(b, { node: 'k8s-2' });
    const sa = pool.shell(ta);
    expect(pool.shell(ta)).toBe(sa);
    expect(a.connections).toBe(before.a); // nothing opened yet
    for (let i = 0; i < 10; i++) await pool.shell(ta).exec(['date', '+%s']);
    await Promise.all([pool.shell(tb).exec(['hostname']), pool.shell(tb).exec(['hostname'])]);
    expect(a.connections - before.a).toBe(1);
    expect(b.connections - before.b).toBe(1);
    expect(pool.size).toBe(2);
    expect(events.map((e) => e.node)).toEqual([...Array(10).fill('k8s-1'), 'k8s-2', 'k8s-2']);
    pool.closeAll();
    expect(pool.size).toBe(0);
  });

  it('re-establishes a dropped connection on the next command, without retrying the lost one', async () => {
    const pool = new SshPool();
    const t = targetFor(a, { node: 'k8s-1' });
    const before = a.connections;
    await pool.shell(t).exec(['echo', '1']);
    await expect(pool.shell(t).exec(['drop'])).rejects.toBeInstanceOf(ConnectionLostError);
    expect((await pool.shell(t).exec(['echo', '2'])).stdout).toBe('echo 2\n');
    expect(a.connections - before).toBe(2);
    pool.closeAll();
  });
});
