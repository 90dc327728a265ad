/**
 * Abuse corpus, buttons (issue 9): forged, replayed, cross-channel and stale button payloads,
 * each sent as a correctly signed Slack interaction request by an approver (so the signature
 * and the role are not what stops them). None may change a job or run a command on a node.
 * The command and node-output parts of the corpus live in their own files.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/queue/connection.ts';
import { approveGate } from '../support/e2e.ts';
import type { FakeButton } from '../support/fake-slack.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob, carol } = USERS;
const PROD = 'C0PROD00001';
const STAGE = 'C0STAGE0001';

describe('abuse corpus: forged, replayed, cross-channel and stale buttons do nothing', () => {
  let h: Harness;
  let redis: Redis;
  let attempts = 0;

  beforeAll(async () => {
    h = await startHarness({ clusters: [{ name: 'prod', channel: PROD }, { name: 'stage', channel: STAGE }] });
    redis = createRedis(h.redis.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.stop();
    // The figure for the closing note.
    console.info(`abuse corpus (buttons): ${attempts} hostile clicks, 0 honoured, 0 commands sent to a node`);
  });

  /** A signed click; resolves with the note the clicker got (every hostile click is answered). */
  const click = async (user: string, button: FakeButton, messageTs: string, channel: string): Promise<string> => {
    const before = h.ephemeralsFor(user).length;
    expect(await h.click(user, button, messageTs, channel)).toBe(200);
    return h.slack.waitFor(() => h.ephemeralsFor(user)[before]);
  };

  /** Every attempt: answered, "Nothing changed", the job still waits, and no node saw a command. */
  const hostile = async (jobId: string, cases: Array<[string, FakeButton, string, string, RegExp]>): Promise<void> => {
    const commands = h.sims.get('prod')!.commandLog.length + h.sims.get('stage')!.commandLog.length;
    for (const [what, button, ts, channel, expected] of cases) {
      attempts += 1;
      const note = await click(bob, button, ts, channel);
      expect(note, what).toMatch(expected);
      expect(note, what).toMatch(/Nothing changed|nothing changed/);
    }
    expect((await h.app.queue.get(jobId))?.data.state).toBe('awaiting approval');
    expect(Object.values((await h.app.queue.get(jobId))!.data.gates).every((g) => !g.decision)).toBe(true);
    expect(h.sims.get('prod')!.commandLog.length + h.sims.get('stage')!.commandLog.length, 'no command reached a node').toBe(commands);
  };

  it('forged values, another gate, another channel, another message: refused while the gate stays open', async () => {
    const { jobId } = await h.command(alice, 'upgrade k8s-1 1.23/stable');
    const id = jobId!;
    const approve = await h.waitButton(id, 'Approve');
    await h.waitState(id, 'awaiting approval');
    const [job, gate, nonce] = approve.value.split(':') as [string, string, string];
    expect(job).toBe(id);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const forged = (value: string, actionId = 'mk8s.approve'): FakeButton => ({ label: 'Approve', actionId, value });
    const other = nonce.startsWith('A') ? `B${nonce.slice(1)}` : `A${nonce.slice(1)}`;
    const parentTs = h.parent(id)!.ts;
    const gone = /gate that no longer exists/;
    const named = /does not name a gate/;
    await hostile(id, [
      ['the old format, job only', forged(id), approve.messageTs, PROD, named],
      ['the old format, job and gate', forged(`${id}:${gate}`), approve.messageTs, PROD, named],
      ['a guessed nonce', forged(`${id}:${gate}:${other}`), approve.messageTs, PROD, gone],
      ['all-zero nonce', forged(`${id}:${gate}:${'0'.repeat(16)}`), approve.messageTs, PROD, gone],
      ['the nonce on another gate', forged(`${id}:g1:${nonce}`), approve.messageTs, PROD, gone],
      ['the nonce on another job', forged(`${Number(id) + 1}:${gate}:${nonce}`), approve.messageTs, PROD, gone],
      ['a choice on an approval', forged(`${approve.value}:retry`, 'mk8s.choose'), approve.messageTs, PROD, /does not belong to this decision/],
      ['a nonce with a trailing newline', forged(`${approve.value}\n`), approve.messageTs, PROD, named],
      ['unicode lookalike digits', forged(`\u0661:${gate}:${nonce}`), approve.messageTs, PROD, named],
      ['oversize value', forged(`${approve.value}:${'a'.repeat(1990)}`), approve.messageTs, PROD, named],
      ['mrkdwn in the value', forged('<!channel> <https://evil.example|Approve job 1>'), approve.messageTs, PROD, named],
      ['empty value', forged(''), approve.messageTs, PROD, named],
      ['the real button, from another channel', approve, approve.messageTs, STAGE, /did not come from this gate's message/],
      ['the real button, on the parent message', approve, parentTs, PROD, /did not come from this gate's message/],
      ['the real button, on a made-up message', approve, '1700000000.000001', PROD, /did not come from this gate's message/],
      ['the real Reject value, from another channel', { ...approve, actionId: 'mk8s.reject', label: 'Reject' }, approve.messageTs, STAGE, /did not come from this gate's message/],
    ]);
    // Refused clicks are in the audit trail, each with its reason.
    const audit = await h.command(alice, 'audit 40');
    expect(audit.full).toMatch(/gate that no longer exists|does not name a gate/);

    // The real click still works; replaying it afterwards changes nothing.
    await approveGate(h, id);
    const commands = h.sims.get('prod')!.commandLog.length;
    for (const who of [bob, carol]) {
      attempts += 1;
      expect(await click(who, approve, approve.messageTs, PROD)).toMatch(/already approved by <@U0BOB>. Nothing changed/);
    }
    expect(h.sims.get('prod')!.commandLog.length).toBe(commands);
  });

  it('a Roll back button is refused once a newer job changed that node', async () => {
    const prod = h.sims.get('prod')!;
    prod.inject({ node: '*', match: /kubectl wait --for=condition=Ready node\/k8s-2/, kind: 'fail', exitCode: 1, stderr: 'error: timed out waiting for the condition on nodes/k8s-2\n' });
    const { jobId } = await h.command(alice, 'upgrade k8s-2 1.23/stable');
    await approveGate(h, jobId!, 'failed');
    prod.clearFaults();
    const rollback = h.gateButton(jobId!, 'Roll back');

    // From another channel: refused before anything else.
    attempts += 1;
    expect(await click(alice, rollback, rollback.messageTs, STAGE)).toMatch(/did not come from job \d+'s thread; nothing changed/);

    // A newer job runs on k8s-2 (someone uncordons it by hand through the bot).
    const uncordon = await h.command(alice, 'uncordon k8s-2');
    await approveGate(h, uncordon.jobId!);
    const commands = prod.commandLog.length;
    attempts += 1;
    const note = await click(alice, rollback, rollback.messageTs, PROD);
    expect(note).toContain(`This Roll back button no longer applies: job ${uncordon.jobId} (uncordon) ran on k8s-2 since. Nothing was queued`);
    expect(prod.commandLog.length).toBe(commands);
    expect(await h.app.queue.holder('prod')).toBeUndefined();
  });
  it("after Redis is reset, an old Approve button does nothing, even on the new job that got its id", async () => {
    /** Redis lost: every job, gate, decision and the id counter are gone (ids start again at 1). */
    const resetRedis = async () => {
      await h.app.queue.queue.obliterate({ force: true });
      await redis.flushall();
    };
    /** The gate message of the newest job with this id, once its parent says it waits (ids repeat here). */
    const newestGate = (jobId: string) =>
      h.slack.waitFor(() => {
        const p = h.slack.messages().filter((m) => !m.thread_ts && m.text.startsWith(`job ${jobId} `)).at(-1);
        const gateMsg = p && h.slack.thread(p.channel, p.ts).find((m) => m.buttons.some((b) => b.label === 'Approve'));
        return gateMsg && p.text.endsWith('awaiting approval') ? gateMsg : undefined;
      });
    await resetRedis();
    const { jobId } = await h.command(alice, 'upgrade k8s-1 1.23/stable', STAGE);
    const oldMsg = await newestGate(jobId!);
    const old = oldMsg.buttons.find((b) => b.label === 'Approve')!;
    await h.command(alice, `cancel ${jobId}`, STAGE);
    await h.slack.waitFor(() => h.slack.messages().filter((m) => !m.thread_ts && m.text.startsWith(`job ${jobId} `)).at(-1)?.text.endsWith(' · cancelled'));

    await resetRedis();
    const again = await h.command(alice, 'upgrade k8s-2 1.23/stable', STAGE);
    expect(again.jobId).toBe(jobId); // the same id, a different job
    const fresh = await newestGate(jobId!);
    expect(fresh.ts).not.toBe(oldMsg.ts);
    expect(fresh.buttons.find((b) => b.label === 'Approve')!.value).not.toBe(old.value);
    await hostile(jobId!, [
      ['the old button, on its old message', old, oldMsg.ts, STAGE, /gate that no longer exists/],
      ['the old button, on the new gate message', old, fresh.ts, STAGE, /gate that no longer exists/],
    ]);
    await h.command(alice, `cancel ${jobId}`, STAGE);
  });

});
