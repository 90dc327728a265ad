import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SshConnection } from '../../src/ssh/connection.ts';
import {
  CommandFailedError,
  CommandTimeoutError,
  ConnectionLostError,
  HostKeyError,
  SshConnectError,
} from '../../src/ssh/errors.ts';
import { fingerprint } from '../../src/ssh/known-hosts.ts';
import type { CommandEvent, SshTarget } from '../../src/ssh/types.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { makeKeyPair, startTestServer, targetFor, type TestServer } from '../support/ssh-test-server.ts';

/** Answers `echo args…` with the args joined by newlines, `fail N` with exit N, `sleep` with a delay. */
function echoHandler(argv: string[]) {
  const words = argv[0] === 'sudo' ? argv.slice(3) : argv;
  const [cmd, ...rest] = words;
  if (cmd === 'echo') return { stdout: `${rest.join('\n')}\n` };
  if (cmd === 'whoami') return { stdout: argv[0] === 'sudo' ? 'root\n' : 'ubuntu\n' };
  if (cmd === 'fail') {
    const lines = Array.from({ length: 50 }, (_, i) => `stderr line ${i + 1}`).join('\n');
    return { stdout: 'partial output\n', stderr: `${lines}\n`, code: Number(rest[0] ?? 1) };
  }
  if (cmd === 'slow') return { stdout: 'done\n', delayMs: Number(rest[0] ?? 50) };
  if (cmd === 'hang') return 'hang' as const;
  if (cmd === 'drop') return 'drop' as const;
  return { stderr: `sh: 1: ${cmd}: not found\n`, code: 127 };
}

describe('SshConnection', () => {
  let server: TestServer;
  const open: SshConnection[] = [];
  const conn = (t: SshTarget, events?: CommandEvent[]) => {
    const c = new SshConnection(t, events ? { onCommand: (e) => events.push(e) } : {});
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await startTestServer({ handler: echoHandler, files: new Map([['/var/snap/microk8s/common/b.tar.gz', Buffer.alloc(300_000, 7)]]) });
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  afterAll(async () => {
    await server.close();
  });

  it('runs a command and returns stdout, stderr, code and the command line', async () => {
    const c = conn(targetFor(server));
    const r = await c.exec(['echo', 'hello', 'world']);
    expect(r.stdout).toBe('hello\nworld\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.command).toBe('echo hello world');
  });

  it('delivers argv with spaces, quotes, $(…), backticks and ; as literal single words', async () => {
    const nasty = ['a b', "it's", '"dq"', '$(touch /tmp/pwned)', '`id`', 'x; rm -rf /', 'a && b', '\\', '', 'new\nline', '*'];
    const before = server.execs.length;
    const r = await conn(targetFor(server)).exec(['echo', ...nasty]);
    expect(server.execs[before]?.argv).toEqual(['echo', ...nasty]);
    expect(r.stdout).toBe(`${nasty.join('\n')}\n`);
  });

  it('prefixes sudo -n -- only when the command is privileged and the target uses sudo', async () => {
    const before = server.execs.length;
    const withSudo = conn(targetFor(server));
    await withSudo.exec(['whoami'], { privileged: true });
    await withSudo.exec(['whoami']);
    await conn(targetFor(server, { sudo: false })).exec(['whoami'], { privileged: true });
    expect(server.execs.slice(before).map((e) => e.argv)).toEqual([['sudo', '-n', '--', 'whoami'], ['whoami'], ['whoami']]);
  });

  it('turns a non-zero exit into CommandFailedError with the code and the tail of stderr', async () => {
    const f = await rejectionOf(conn(targetFor(server)).exec(['fail', '3']), CommandFailedError);
    expect(f.code).toBe(3);
    expect(f.node).toBe('k8s-1');
    expect(f.command).toBe('fail 3');
    expect(f.stderrTail).toContain('stderr line 50');
    expect(f.stderrTail).toContain('stderr line 31');
    expect(f.stderrTail).not.toContain('stderr line 30\n');
    expect(f.message).toMatch(/`fail 3` failed on k8s-1 \(exit code 3\)/);
  });

  it('accepts exit codes listed in okExitCodes', async () => {
    const r = await conn(targetFor(server)).exec(['fail', '1'], { okExitCodes: [0, 1] });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('partial output\n');
  });

  it('times out a hung command: KILL, channel closed, CommandTimeoutError', async () => {
    const c = conn(targetFor(server));
    const before = server.execs.length;
    const err = await rejectionOf(c.exec(['hang'], { timeoutMs: 300 }), CommandTimeoutError);
    expect(err.message).toContain('`hang` on k8s-1 did not finish within 300 ms');
    const record = server.execs[before];
    await vi.waitFor(() => expect(record?.closedByClient).toBe(true));
    expect(record?.signals).toContain('KILL');
    // the connection is still usable
    expect((await c.exec(['echo', 'after'])).stdout).toBe('after\n');
  });

  it('reuses one connection for many commands, and keeps at most 8 channels open at once', async () => {
    const s = await startTestServer({ handler: echoHandler });
    try {
      const c = conn(targetFor(s));
      await Promise.all(Array.from({ length: 30 }, (_, i) => c.exec(['slow', String(20 + (i % 3) * 10)])));
      for (let i = 0; i < 5; i++) await c.exec(['echo', String(i)]);
      expect(s.connections).toBe(1);
      expect(s.execs).toHaveLength(35);
      expect(s.maxConcurrentSessions).toBeLessThanOrEqual(8);
      expect(s.maxConcurrentSessions).toBeGreaterThan(1);
      expect(c.connectionsOpened).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('reports a dropped connection as ConnectionLostError and reconnects for the next command', async () => {
    const s = await startTestServer({ handler: echoHandler });
    try {
      const c = conn(targetFor(s));
      await c.exec(['echo', 'one']);
      const err = await rejectionOf(c.exec(['drop']), ConnectionLostError);
      expect(err.message).toContain('`drop`');
      expect((await c.exec(['echo', 'two'])).stdout).toBe('two\n');
      expect(s.connections).toBe(2);
      // the command in flight was not retried
      expect(s.execs.filter((e) => e.argv[0] === 'drop')).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('downloads a file over SFTP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-'));
    const local = join(dir, 'b.tar.gz');
    await conn(targetFor(server)).download('/var/snap/microk8s/common/b.tar.gz', local);
    expect(readFileSync(local).equals(Buffer.alloc(300_000, 7))).toBe(true);
  });

  it('fails a download of a missing file clearly and leaves no partial file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-'));
    const local = join(dir, 'x');
    await expect(conn(targetFor(server)).download('/nope', local)).rejects.toThrow(/cannot download \/nope from k8s-1/);
    expect(existsSync(local)).toBe(false);
  });

  it('reports every command to onCommand, with secrets masked', async () => {
    const events: CommandEvent[] = [];
    const c = conn(targetFor(server), events);
    await c.exec(['echo', 'join', '10.0.0.1:25000/s3cr3tt0ken'], { secrets: ['s3cr3tt0ken'] });
    await c.exec(['fail', '2'], { secrets: ['s3cr3tt0ken'] }).catch(() => undefined);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ node: 'k8s-1', command: 'echo join 10.0.0.1:25000/***', code: 0 });
    expect(events[1]).toMatchObject({ command: 'fail 2', code: 2 });
    expect(events[1]?.error).toContain('exit code 2');
    expect(JSON.stringify(events)).not.toContain('s3cr3tt0ken');
  });
});

describe('SshConnection host keys and auth', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ handler: echoHandler });
  });
  afterAll(async () => {
    await server.close();
  });


  it('refuses an unknown host key, naming the offered fingerprint, and runs nothing', async () => {
    const before = { auth: server.authenticated, execs: server.execs.length };
    const kh = server.writeKnownHosts(['# nothing here yet']);
    const h = await connectError(targetFor(server, { knownHostsPath: kh }), HostKeyError);
    expect(h.problem).toBe('unknown');
    expect(h.fingerprint).toBe(fingerprint(server.hostKey.blob));
    expect(h.message).toContain(fingerprint(server.hostKey.blob));
    expect(h.message).toContain(`k8s-1 (127.0.0.1:${server.port})`);
    expect(h.message).toContain(kh);
    expect(server.authenticated).toBe(before.auth);
    expect(server.execs.length).toBe(before.execs);
  });

  it('says so when the known_hosts file does not exist', async () => {
    const err = await connectError(targetFor(server, { knownHostsPath: join(tmpdir(), 'no-such-dir-xyz', 'known_hosts') }), HostKeyError);
    expect(err.message).toContain('does not exist');
  });

  it('refuses a changed host key', async () => {
    const other = makeKeyPair('ed25519');
    const kh = server.writeKnownHosts([server.knownHostsLine(other)]);
    const err = await connectError(targetFor(server, { knownHostsPath: kh }), HostKeyError);
    expect(err.problem).toBe('changed');
    expect(err.message).toMatch(/CHANGED.*SHA256:/s);
    expect(err.message).toContain('line 1');
  });

  it('refuses a revoked host key', async () => {
    const kh = server.writeKnownHosts([server.knownHostsLine(), `@revoked * ${server.hostKey.publicLine}`]);
    const err = await connectError(targetFor(server, { knownHostsPath: kh }), HostKeyError);
    expect(err.problem).toBe('revoked');
  });

  it('accepts a hashed known_hosts entry', async () => {
    const kh = server.writeKnownHosts([server.hashedKnownHostsLine()]);
    const c = new SshConnection(targetFor(server, { knownHostsPath: kh }));
    try {
      expect((await c.exec(['echo', 'ok'])).stdout).toBe('ok\n');
    } finally {
      c.close();
    }
  });

  it('prefers the host key type on file, as OpenSSH does', async () => {
    const ec = makeKeyPair('ecdsa');
    const s = await startTestServer({ handler: echoHandler, extraHostKeys: [ec] });
    try {
      // only the ECDSA key is on file; ssh2 would pick ed25519 first by default
      const kh = s.writeKnownHosts([s.knownHostsLine(ec)]);
      const c = new SshConnection(targetFor(s, { knownHostsPath: kh }));
      try {
        expect((await c.exec(['echo', 'ok'])).stdout).toBe('ok\n');
      } finally {
        c.close();
      }
    } finally {
      await s.close();
    }
  });

  it('reports a wrong client key as an authentication failure, without key material', async () => {
    const wrong = makeKeyPair('ed25519');
    const t = targetFor(server, { privateKeyPath: server.writeClientKey(wrong) });
    const err = await connectError(t, SshConnectError);
    expect(err.problem).toBe('auth');
    expect(err.message).toContain(`cannot connect to k8s-1 (127.0.0.1:${server.port})`);
    expect(err.message).not.toContain('PRIVATE KEY');
  });

  it('uses an encrypted key with its passphrase, and never shows the passphrase', async () => {
    const passphrase = 'correct horse battery staple';
    const key = makeKeyPair('ed25519', passphrase);
    const s = await startTestServer({ handler: echoHandler, authorizedKeys: [key] });
    try {
      const base = targetFor(s, { privateKeyPath: s.writeClientKey(key) });
      const c = new SshConnection({ ...base, passphrase });
      try {
        expect((await c.exec(['echo', 'ok'])).stdout).toBe('ok\n');
      } finally {
        c.close();
      }
      const missing = await connectError(base, SshConnectError);
      expect(missing.problem).toBe('key');
      expect(missing.message).toMatch(/encrypted and no passphrase/);
      const wrong = await connectError({ ...base, passphrase: 'wrong passphrase' }, SshConnectError);
      expect(wrong.problem).toBe('key');
      expect(wrong.message).not.toContain('wrong passphrase');
    } finally {
      await s.close();
    }
  });

  it('authenticates with a key held by ssh-agent (agent: true, SSH_AUTH_SOCK), with no key file', async () => {
    const key = makeKeyPair('ed25519');
    const s = await startTestServer({ handler: echoHandler, authorizedKeys: [key] });
    const dir = mkdtempSync(join(tmpdir(), 'mk8s-agent-'));
    const sock = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    const saved = process.env.SSH_AUTH_SOCK;
    try {
      await vi.waitFor(() => expect(existsSync(sock)).toBe(true), { timeout: 5000, interval: 20 });
      const keyFile = join(dir, 'id_ed25519');
      writeFileSync(keyFile, key.private, { mode: 0o600 });
      const added = spawnSync('ssh-add', [keyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: 'utf8' });
      expect(added.status, added.stderr).toBe(0);
      process.env.SSH_AUTH_SOCK = sock;
      const { privateKeyPath: _none, ...viaAgent } = targetFor(s);
      const c = new SshConnection({ ...viaAgent, agent: true });
      try {
        expect((await c.exec(['echo', 'from', 'the', 'agent'])).stdout).toBe('from\nthe\nagent\n');
      } finally {
        c.close();
      }
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      agent.kill();
      await s.close();
    }
  });

  it('reports a missing key file and a refused port clearly', async () => {
    const noKey = await connectError(targetFor(server, { privateKeyPath: '/nonexistent/id_ed25519' }), SshConnectError);
    expect(noKey.problem).toBe('key');
    expect(noKey.message).toContain('/nonexistent/id_ed25519 (ENOENT)');

    const port = await freePort();
    const refused = await connectError(targetFor(server, { port }), SshConnectError);
    expect(refused.problem).toBe('refused');
    expect(refused.message).toContain(`k8s-1 (127.0.0.1:${port})`);
  });
});

async function connectError<T extends Error>(t: SshTarget, cls: abstract new (...args: never[]) => T): Promise<T> {
  const c = new SshConnection(t);
  try {
    return await rejectionOf(c.exec(['echo', 'x']), cls);
  } finally {
    c.close();
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const address = srv.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const { port } = address;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
