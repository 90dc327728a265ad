/**
 * Secrets stay secret: the Slack bot token and signing secret never appear in
 * the logs (debug level), in anything sent to Slack, or in Redis (job data,
 * audit stream, every other key); an SSH key's passphrase and the key itself
 * never appear in the logs or in the errors the SSH layer raises.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, secretValues } from '../../src/logging.ts';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { SshConnectError } from '../../src/ssh/errors.ts';
import { SshPool } from '../../src/ssh/pool.ts';
import type { CommandEvent, SshTarget } from '../../src/ssh/types.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { dumpRedis } from '../support/redis-dump.ts';
import { BOT_TOKEN, SIGNING_SECRET, startHarness, USERS, type Harness } from '../support/harness.ts';
import { signedRequest, slashCommandBody } from '../support/slack-signing.ts';
import { makeKeyPair, startTestServer, type TestServer } from '../support/ssh-test-server.ts';

describe('e2e: Slack credentials never leak', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { LOG_LEVEL: 'debug' } });
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('a full approved upgrade, a refused click, a failed Slack call and a forged request leave no token or signing secret anywhere', async () => {
    const { jobId } = await h.command(USERS.alice, 'upgrade k8s-1 1.23/stable');
    expect(jobId).toBeDefined();
    const id = jobId!;
    const approve = await h.waitButton(id, 'Approve', 30_000);

    // Paths where a library error (with its request) gets logged: a Slack call that
    // fails, a click by someone who may not approve, a request with a bad signature.
    h.slack.failNext('chat.postEphemeral', 'invalid_auth');
    expect(await h.click(USERS.alice, approve)).toBe(200); // the requester: two-person rule
    const forged = await signedRequest(
      `http://127.0.0.1:${h.app.httpPort}/slack/events`,
      slashCommandBody({ user: USERS.mallory, channel: 'C0PROD00001', text: 'upgrade k8s-2 1.23/stable', responseUrl: h.slack.responseUrl('forged') }),
      SIGNING_SECRET,
      { badSignature: true },
    );
    expect(forged.status).toBe(401);
    await forged.text();

    expect(await h.click(USERS.bob, approve)).toBe(200);
    await h.waitState(id, 'succeeded', 30_000);
    const audit = await h.command(USERS.alice, 'audit 50');
    expect(audit.status).toBe(200);
    // The refused click was answered through response_url, since chat.postEphemeral failed.
    await h.slack.waitFor(() => h.slack.responses.find((r) => String(r.body.text).includes('two-person rule')));

    // Debug logs of the whole run, with the bot, the worker, Bolt and the Web API in them.
    const logs = h.logs();
    expect(logs.split('\n').filter((l) => l.includes('"level":20')).length).toBeGreaterThan(0);
    expect(logs).toContain(`"jobId":"${id}"`);
    // The Web API really was called with the token (so the fake saw it, and it could have leaked).
    expect(h.slack.calls.some((c) => c.token === BOT_TOKEN)).toBe(true);

    const slackSide = JSON.stringify({
      args: h.slack.calls.map((c) => ({ method: c.method, args: c.args })),
      messages: h.slack.messages(),
      ephemerals: h.slack.ephemerals(),
      responses: h.slack.responses,
    });
    expect(slackSide).toContain('succeeded');

    const redis = await dumpRedis(h.redis.url);
    expect(redis.keys.some((k) => k.startsWith('mk8s:jobs:'))).toBe(true);
    expect(redis.text).toContain('upgrade k8s-1 1.23/stable');

    for (const secret of [BOT_TOKEN, SIGNING_SECRET]) {
      expect(logs).not.toContain(secret);
      expect(slackSide).not.toContain(secret);
      expect(redis.text).not.toContain(secret);
    }
    // Nor anything shaped like a bot token (a partial leak, a token cut in two).
    expect(logs).not.toMatch(/xoxb-[A-Za-z0-9]/);
    expect(redis.text).not.toMatch(/xoxb-[A-Za-z0-9]/);
  });
});

describe('ssh: a key passphrase and the key never leak into logs or errors', () => {
  const PASSPHRASE = 'correct-horse-battery-9f31c7';
  const PASSPHRASE_ENV = 'MK8S_TEST_KEY_PASSPHRASE';
  const encrypted = makeKeyPair('ed25519', PASSPHRASE);
  let dir: string;
  let keyPath: string;
  let sim: SimCluster;
  let knownHostsPath: string;
  let lines = '';
  let logger: Logger;

  /** Lines of the private key file's body: any one of them in a log is a leak. */
  const keyBody = encrypted.private
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('-----'));

  const expectClean = (text: string) => {
    expect(text).not.toContain(PASSPHRASE);
    for (const line of keyBody) expect(text).not.toContain(line);
  };

  const target = (over: Partial<SshTarget> = {}): SshTarget => ({
    node: 'k8s-1',
    host: '127.0.0.1',
    port: sim.nodes[0]!.port,
    user: sim.user,
    privateKeyPath: keyPath,
    passphrase: PASSPHRASE,
    knownHostsPath,
    sudo: true,
    connectTimeoutMs: 5000,
    commandTimeoutMs: 5000,
    ...over,
  });

  const logTheWay = (t: SshTarget, err: unknown, events: CommandEvent[]) => {
    // The ways an engineer might log a failure: the error object, the target at two
    // depths (pino's path redaction only reaches one), and the error text in the message.
    logger.error({ err, target: t }, 'ssh connection failed');
    logger.debug({ job: { cluster: 'prod', ssh: t } }, 'ssh target in use');
    logger.warn(`could not reach ${t.node}: ${err instanceof Error ? err.message : String(err)}`);
    for (const e of events) logger.info({ command: e }, 'ssh command');
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mk8s-secrets-'));
    sim = await startSimCluster({ nodes: [{ name: 'k8s-1' }], latency: { defaultMs: 0 } });
    ({ knownHostsPath } = await sim.writeClientFiles(join(dir, 'sim')));
    keyPath = join(dir, 'id_ed25519_encrypted');
    writeFileSync(keyPath, encrypted.private, { mode: 0o600 });
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => (lines += c.toString()));
    const env = { [PASSPHRASE_ENV]: PASSPHRASE, SLACK_BOT_TOKEN: BOT_TOKEN };
    logger = createLogger('debug', { destination: stream, secrets: secretValues(env, [PASSPHRASE_ENV]) });
  });

  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the right passphrase, a key the node refuses: the auth error and the logs hold neither passphrase nor key', async () => {
    const events: CommandEvent[] = [];
    const pool = new SshPool({ onCommand: (e) => events.push(e) });
    const t = target();
    try {
      const err = await rejectionOf(pool.shell(t).exec(['hostname']), SshConnectError);
      expect(err.problem).toBe('auth');
      expect(err.message).toContain('k8s-1');
      expect(events).toHaveLength(1);
      // Refused at authentication: the node ran nothing.
      expect(sim.commandLog).toHaveLength(0);

      logTheWay(t, err, events);
      expect(lines).toContain('ssh connection failed');
      expect(lines).toContain('could not reach k8s-1');
      expect(lines).toContain('[redacted]');
      expectClean(lines);
      expectClean(err.message);
      expectClean(err.stack ?? '');
      expectClean(inspect(err, { depth: 10, showHidden: true }));
      expectClean(JSON.stringify(events));
    } finally {
      pool.closeAll();
    }
  });

  it('a wrong passphrase: the error says so without showing either passphrase', async () => {
    const wrong = 'wrong-passphrase-0b7e44d2';
    const pool = new SshPool();
    try {
      const err = await rejectionOf(pool.shell(target({ passphrase: wrong })).exec(['hostname']), SshConnectError);
      expect(err.problem).toBe('key');
      expect(err.message).toMatch(/passphrase does not decrypt it/);
      for (const text of [err.message, err.stack ?? '', inspect(err, { depth: 10, showHidden: true })]) {
        expect(text).not.toContain(wrong);
        expectClean(text);
      }
    } finally {
      pool.closeAll();
    }
  });

  it('the right passphrase on a node that accepts the key: commands run, and the logs still hold neither', async () => {
    let server: TestServer | undefined;
    const events: CommandEvent[] = [];
    const pool = new SshPool({ onCommand: (e) => events.push(e) });
    try {
      server = await startTestServer({ authorizedKeys: [encrypted], handler: () => ({ stdout: 'k8s-1\n' }) });
      const t = target({ port: server.port, user: server.user, knownHostsPath: server.writeKnownHosts([server.knownHostsLine()]) });
      const out = await pool.shell(t).exec(['hostname']);
      expect(out.stdout).toBe('k8s-1\n');
      expect(server.authenticated).toBe(1);
      logTheWay(t, new Error('none'), events);
      expect(lines).toContain('"command":"hostname"');
      expectClean(lines);
    } finally {
      pool.closeAll();
      await server?.close();
    }
  });
});
