import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandTimeoutError, ConnectionLostError, HostKeyError } from '../../src/ssh/errors.ts';
import { SshPool } from '../../src/ssh/pool.ts';
import type { CommandEvent } from '../../src/ssh/types.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { makeKeyPair, startTestServer, targetFor, type TestServer } from '../support/ssh-test-server.ts';

const handler = (argv: string[]) => (argv[0] === 'drop' ? ('drop' as const) : argv[0] === 'hang' ? ('hang' as const) : { stdout: `${argv.join(' ')}\n` });

describe('SshPool', () => {
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestServer({ handler }), startTestServer({ handler })]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('opens one connection per node, lazily, and reuses it for every command and every caller', async () => {
    const events: CommandEvent[] = [];
    const pool = new SshPool({ onCommand: (e) => events.push(e) });
    const before = { a: a.connections, b: b.connections };
    const ta = targetFor(a, { node: 'k8s-1' });
    const tb = targetFor(b, { node: 'k8s-2' });
    pool.shell(ta);
    expect(a.connections).toBe(before.a); // nothing opened yet
    for (let i = 0; i < 10; i++) await pool.shell(ta).exec(['date', '+%s']);
    // another caller (a precheck, a status read, the next job) with its own timeout: same connection
    await pool.shell({ ...ta, commandTimeoutMs: 2500 }, { commandTimeoutMs: 2500 }).exec(['date']);
    await Promise.all([pool.shell(tb).exec(['hostname']), pool.shell(tb).exec(['hostname'])]);
    expect(a.connections - before.a).toBe(1);
    expect(b.connections - before.b).toBe(1);
    expect(pool.size).toBe(2);
    expect(pool.connectionsOpened).toBe(2);
    expect(events.map((e) => e.node)).toEqual([...Array(11).fill('k8s-1'), 'k8s-2', 'k8s-2']);
    pool.closeAll();
    expect(pool.size).toBe(0);
  });

  it("gives each caller's audit hook only that caller's commands", async () => {
    const pool = new SshPool();
    const t = targetFor(a, { node: 'k8s-1' });
    const job1: string[] = [];
    const job2: string[] = [];
    const s1 = pool.shell(t, { onCommand: (e) => job1.push(e.command) });
    const s2 = pool.shell(t, { onCommand: (e) => job2.push(e.command) });
    await Promise.all([s1.exec(['echo', 'one']), s2.exec(['echo', 'two'])]);
    expect(job1).toEqual(['echo one']);
    expect(job2).toEqual(['echo two']);
    pool.closeAll();
  });

  it("applies the caller's default command timeout", async () => {
    const pool = new SshPool();
    const t = targetFor(a, { node: 'k8s-1' });
    const err = await rejectionOf(pool.shell(t, { commandTimeoutMs: 200 }).exec(['hang']), CommandTimeoutError);
    expect(err.message).toContain('200');
    pool.closeAll();
  });

  it('runs at most maxChannels commands on a node at once, queuing the rest', async () => {
    // this server refuses a third session on a connection: over the limit a command would fail
    const c = await startTestServer({ handler: () => ({ stdout: 'ok\n', delayMs: 20 }), maxSessions: 2 });
    const pool = new SshPool({ maxChannels: 2 });
    try {
      const t = targetFor(c, { node: 'k8s-3' });
      const results = await Promise.all(Array.from({ length: 9 }, () => pool.shell(t).exec(['echo'])));
      expect(results.map((r) => r.stdout)).toEqual(Array(9).fill('ok\n'));
      expect(c.maxConcurrentSessions).toBe(2);
      expect(c.connections).toBe(1);
    } finally {
      pool.closeAll();
      await c.close();
    }
  });

  it('closes a connection left idle, and opens a new one for the next command', async () => {
    const pool = new SshPool({ idleMs: 10 });
    const t = targetFor(b, { node: 'k8s-2' });
    const before = b.connections;
    const shell = pool.shell(t);
    await shell.exec(['echo', '1']);
    await expect.poll(() => pool.size, { timeout: 10_000, interval: 50 }).toBe(0);
    expect((await shell.exec(['echo', '2'])).stdout).toBe('echo 2\n');
    expect(b.connections - before).toBe(2);
    pool.closeAll();
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

  it('still checks the host key on a reconnect: a changed key refuses the new connection', async () => {
    const pool = new SshPool();
    const other = makeKeyPair('ed25519');
    const t = targetFor(a, { node: 'k8s-1', knownHostsPath: a.writeKnownHosts([a.knownHostsLine(other)]) });
    const err = await rejectionOf(pool.shell(t).exec(['echo', '1']), HostKeyError);
    expect(err.message).toContain('k8s-1');
    pool.closeAll();
  });
});
