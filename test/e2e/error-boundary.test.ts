/**
 * The error boundary and the escaping of untrusted text, through the chat layer: an internal
 * error in a runbook path shows in Slack only as "internal error (ref X)" while the log has X
 * with the stack; a node's hostile stderr reaches the thread escaped; a refused command's text
 * comes back escaped through `audit`; and `audit` shows decisions first, `audit job` the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveConstructs, sentToSlack } from '../support/abuse.ts';
import { requestApproved } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const HOSTILE = '<!channel> <https://evil.example|Approve job 42>';
const ESCAPED = '&lt;!channel&gt; &lt;https://evil.example|Approve job 42&gt;';
const ALLOWED = new Set<string>([...Object.values(USERS), 'C0PROD00001', 'C0STAGE0001']);

describe('e2e: only user-facing errors reach chat, and untrusted text is escaped', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        { name: 'prod', channel: 'C0PROD00001' },
        { name: 'stage', channel: 'C0STAGE0001', policy: { approvalTtl: '2s' } },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** The section texts of an ack, as Slack shows them. */
  const bodyOf = (answer: { text: string; full: string }): string =>
    (JSON.parse(answer.full.slice(answer.text.length + 1)) as Array<{ type: string; text?: { text: string } }>)
      .filter((b) => b.type === 'section')
      .slice(1)
      .map((b) => b.text?.text ?? '')
      .join('\n');
  /** The job's thread as sent to Slack (entities and all). */
  const threadTexts = (jobId: string) => {
    const p = h.slack.messages().find((m) => !m.thread_ts && m.text.startsWith(`job ${jobId} `));
    return p ? h.slack.thread(p.channel, p.ts).map((m) => `${m.text}\n${JSON.stringify(m.blocks)}`) : [];
  };

  it('an internal error in a runbook shows only "internal error (ref X)"; the log has X with the stack', async () => {
    // The plan gate's post fails inside Slack: the runbook cannot show its buttons, an error no one wrote for people.
    h.slack.failNext('chat.postMessage', 'fatal_error', (args) => String(args.text).includes(': approval needed — '));
    const { jobId } = await h.command(alice, 'drain k8s-3');
    const id = jobId!;
    await h.waitState(id, 'failed', 30_000);

    const shown = threadTexts(id).join('\n');
    const ref = /internal error \(ref (err-[0-9a-f]{8})\)/.exec(shown)?.[1];
    expect(ref, shown).toBeDefined();
    expect(h.parent(id)?.blocks.map((b) => JSON.stringify(b)).join('')).toContain(`internal error (ref ${ref})`);
    // Nothing of the internal error itself reached Slack.
    expect(sentToSlack(h).filter((t) => t.includes('fatal_error') || t.includes('SlackApiError'))).toEqual([]);

    const logged = h
      .logs()
      .split('\n')
      .filter((l) => l.includes(`"ref":"${ref}"`))
      .map((l) => JSON.parse(l) as { err?: { type?: string; message?: string; stack?: string } });
    expect(logged.length).toBeGreaterThan(0);
    expect(logged[0]?.err?.message).toContain(`could not post to job ${id}'s thread`);
    expect(logged[0]?.err?.stack).toMatch(/\n\s+at /);
  }, 60_000);

  it("a node's hostile stderr reaches the thread escaped: no live mention, no live link", async () => {
    h.sim.inject({ node: 'k8s-1', match: 'snap refresh', kind: 'fail', exitCode: 1, stderr: `${HOSTILE}\nerror: cannot refresh\n`, times: 1 });
    const id = await requestApproved(h, 'upgrade k8s-1 1.23/stable', 'failed');
    const texts = threadTexts(id);
    expect(texts.some((t) => t.includes(ESCAPED)), texts.join('\n')).toBe(true);
    expect(liveConstructs(texts, ALLOWED)).toEqual([]);
    expect(liveConstructs(sentToSlack(h), ALLOWED)).toEqual([]);
  }, 60_000);

  it("a refused command's text comes back escaped through audit", async () => {
    const refused = await h.command(alice, `upgrade ${HOSTILE}`);
    expect(refused.jobId).toBeUndefined();
    expect(liveConstructs([refused.raw], ALLOWED)).toEqual([]);
    const audit = await h.command(alice, 'audit 20');
    expect(audit.raw).toContain(`asked \`upgrade ${ESCAPED}\` → refused`);
    expect(liveConstructs([audit.raw], ALLOWED)).toEqual([]);
  });

  it('audit shows decisions first, newest first; audit job <id> shows the steps and commands', async () => {
    // A job that expires with no decision, on stage.
    const expiring = (await h.command(alice, 'drain k8s-2', 'C0STAGE0001')).jobId!;
    await h.waitState(expiring, 'expired', 30_000);
    // A job cancelled while it waits for approval, on prod.
    const cancelled = (await h.command(alice, 'drain k8s-2')).jobId!;
    await h.waitState(cancelled, 'awaiting approval');
    expect((await h.command(alice, `cancel ${cancelled}`)).text).toContain(`Cancel requested for job ${cancelled}`);
    await h.waitState(cancelled, 'cancelled', 30_000);
    const done = await requestApproved(h, 'drain k8s-3');

    const audit = await h.command(alice, 'audit 8');
    const lines = bodyOf(audit).split('\n').filter((l) => l.trim() !== '');
    // The newest first: the last job's result, its approval, its request, then the cancel before it.
    expect(lines[0]).toMatch(new RegExp(`^\\S+ \\S+ job ${done} drain succeeded: `));
    expect(lines[1]).toMatch(new RegExp(`job ${done} <@${bob}> approved "`));
    expect(lines[2]).toMatch(new RegExp(`<@${alice}> asked \`drain k8s-3\` → queued as job ${done}$`));
    expect(lines.some((l) => new RegExp(`job ${cancelled} <@${alice}> asked to cancel`).test(l))).toBe(true);
    expect(lines.some((l) => new RegExp(`job ${cancelled} drain cancelled: `).test(l))).toBe(true);
    // Steps and commands are not decisions.
    expect(lines.filter((l) => l.includes(' step ') || l.includes('$ `'))).toEqual([]);
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect(lines.length).toBeLessThanOrEqual(8);

    const stage = await h.command(alice, 'audit', 'C0STAGE0001');
    expect(bodyOf(stage)).toMatch(new RegExp(`job ${expiring} "[^"]+" expired with no decision`));

    const detail = await h.command(alice, `audit job ${done}`);
    expect(detail.text).toContain(`audit of job ${done} on prod`);
    expect(bodyOf(detail)).toMatch(/step done: /);
    expect(bodyOf(detail)).toMatch(/k8s-\d\$ `[^`]*drain k8s-3[^`]*` → 0/);
    expect(bodyOf(detail)).toMatch(new RegExp(`<@${bob}> approved "`));

    expect((await h.command(alice, 'audit job x1')).text).toMatch(/not a job id/);
    expect((await h.command(alice, 'audit job')).text).toMatch(/missing <id>.*audit job <id>/);
  }, 90_000);
});
