/**
 * Per-user rate limit and the `status` cache through Slack (issue 9, item 7): a user over the
 * limit is refused before anything is run, written or answered (the parse and a first read
 * overlap the limit's round trip; others are not slowed down), the refusal
 * is audited once and truncated; concurrent `status` requests share one read of the nodes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/queue/connection.ts';
import { keys } from '../../src/queue/keys.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob, carol, mallory } = USERS;
const LIMIT = 5;

describe('rate limits and the status cache', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { MK8S_USER_COMMANDS_PER_MINUTE: String(LIMIT), MK8S_STATUS_CACHE_MS: '60000' } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const auditEntries = async (): Promise<Array<Record<string, unknown>>> => {
    const redis = createRedis(h.redis.url);
    try {
      return (await redis.xrange(keys.auditStream, '-', '+')).map(([, fields]) => JSON.parse(fields[1] ?? '{}') as Record<string, unknown>);
    } finally {
      redis.disconnect();
    }
  };

  it('refuses a user over the limit, audits that once (truncated), and leaves other users alone', async () => {
    const flood = `upgrade k8s-1 ${'<!channel> '.repeat(400)}`;
    const answers = [];
    for (let i = 0; i < LIMIT + 3; i++) answers.push(await h.command(mallory, i === LIMIT ? flood : 'help'));
    expect(answers.slice(0, LIMIT).every((a) => a.status === 200 && !a.text.startsWith('Slow down'))).toBe(true);
    for (const a of answers.slice(LIMIT)) {
      expect(a.status).toBe(200);
      expect(a.text).toMatch(new RegExp(`^Slow down: you sent more than ${LIMIT} commands in the last minute .* Try again in \\d+ s\\. Nothing was run\\.$`));
    }
    expect((await h.command(bob, 'help')).text).not.toMatch(/Slow down/);
    // Over the limit, a well-formed upgrade or jobs (whose first read starts alongside the check) is refused just the same.
    for (const text of ['upgrade k8s-1 1.23/stable', 'jobs', 'upgrade k8s-1 1.23/stable --dry-run']) {
      expect((await h.command(mallory, text)).text).toMatch(/^Slow down: /);
    }
    expect(await h.app.queue.list(15)).toEqual([]);
    expect(await h.app.queue.holder('prod')).toBeUndefined();
    expect(h.sim.commandLog).toHaveLength(0);

    const refusals = (await auditEntries()).filter((e) => e.type === 'request' && String(e.reason).startsWith('rate limit'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ user: mallory, outcome: 'refused' });
    expect(Array.from(String(refusals[0]?.text)).length).toBeLessThanOrEqual(200);
    expect(String(refusals[0]?.text).endsWith('…')).toBe(true);
  });

  it('concurrent status requests share one read of the nodes; it serves later ones too', async () => {
    const before = h.sim.commandLog.length;
    const responsesBefore = h.slack.responses.length;
    await Promise.all([h.command(bob, 'status'), h.command(carol, 'status'), h.command(alice, 'status')]);
    await h.slack.waitFor(() => (h.slack.responses.length >= responsesBefore + 3 ? true : undefined));
    const texts = h.slack.responses.slice(responsesBefore).map((r) => JSON.stringify(r.body));
    expect(texts.every((t) => t.includes('status of prod'))).toBe(true);
    // One read: each node was asked each thing once, not three times.
    const asked = h.sim.commandLog.slice(before).map((c) => `${c.node}: ${c.command}`);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.filter((c, i) => asked.indexOf(c) !== i)).toEqual([]);

    // Within the cache's minute a later request asks the nodes nothing.
    const from = h.sim.commandLog.length;
    const later = h.slack.responses.length;
    await h.command(bob, 'status');
    await h.slack.waitFor(() => (h.slack.responses.length > later ? true : undefined));
    expect(h.sim.commandLog.length - from).toBe(0);
  });
});
