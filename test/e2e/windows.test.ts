/**
 * Maintenance windows, scheduled rollouts and --now, through Slack with the simulator and a
 * fake clock: nothing here waits for real time — the test moves the clock, and the parked
 * job is woken as it would be when its BullMQ delay ran out.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failConfigureHook } from '../../src/sim/refresh-faults.ts';
import type { SimCluster } from '../../src/sim/index.ts';
import { words } from '../support/e2e.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const WIN = 'C0WIN000001';
const ROLL = 'C0ROLL00001';
const SCHED = 'C0SCHED0001';
const PLAIN = 'C0PLAIN0001';
const WINDOWS = ['sat 02:00-06:00 UTC'];
/** Friday evening: outside the window. */
const FRIDAY = '2026-12-04T20:00:00Z';

describe('maintenance windows, --at and --now', () => {
  let h: Harness;
  const clock = new FakeClock(Date.parse(FRIDAY));
  const text = (id: string) => h.thread(id).map((m) => m.text).join('\n');
  /** The thread with its messages' bodies (Block Kit JSON). */
  const full = (id: string) => h.thread(id).map((m) => `${m.text} ${JSON.stringify(m.blocks)}`).join('\n');
  const sim = (name: string): SimCluster => h.sims.get(name)!;
  const ran = (name: string, from: number, what: string) => sim(name).commandLog.slice(from).map(words).filter((w) => w.includes(what));

  beforeAll(async () => {
    h = await startHarness({
      clock,
      clusters: [
        { name: 'win', channel: WIN, policy: { windows: WINDOWS } },
        { name: 'roll', channel: ROLL, policy: { windows: WINDOWS, readyTimeout: '5s', approvalTtl: '1h' } },
        { name: 'sched', channel: SCHED, policy: { windows: WINDOWS } },
        { name: 'plain', channel: PLAIN, nodes: [{ name: 'k8s-1' }] },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => clock.set(FRIDAY));

  it('a job approved outside the window waits parked, says when it starts, and starts when the window opens', async () => {
    const from = sim('win').commandLog.length;
    const r = await h.command(alice, 'cordon k8s-2', WIN);
    expect(r.jobId, r.text).toBeDefined();
    expect(r.text).toContain('Outside the maintenance windows (sat 02:00-06:00 UTC): once approved it waits until Sat 2026-12-05 02:00 UTC');
    const id = r.jobId!;
    await h.waitState(id, 'awaiting approval');
    expect(await h.click(bob, await h.waitButton(id, 'Approve'), undefined, WIN)).toBe(200);
    const parked = await h.waitState(id, 'queued');
    expect(parked.blocks.length).toBeGreaterThan(0);
    await h.slack.waitFor(() => text(id).includes('Waiting for the maintenance window: starts Sat 2026-12-05 02:00 UTC'));
    // Parked as a delayed BullMQ job (no worker held), and nothing was cordoned.
    await h.slack.waitFor(async () => (await (await h.app.queue.get(id))!.getState()) === 'delayed');
    expect(ran('win', from, 'kubectl cordon')).toEqual([]);
    expect(sim('win').state.node('k8s-2').cordoned).toBe(false);

    clock.set('2026-12-05T01:59:00Z'); // a minute early: still parked
    await h.slack.waitFor(async () => (await (await h.app.queue.get(id))!.getState()) === 'delayed');
    expect(ran('win', from, 'kubectl cordon')).toEqual([]);

    clock.set('2026-12-05T02:00:00Z');
    await h.waitState(id, 'succeeded');
    expect(ran('win', from, 'kubectl cordon')).toEqual(['microk8s kubectl cordon k8s-2']);
    expect(text(id)).toContain('Waiting for the maintenance window: starts Sat 2026-12-05 02:00 UTC — the time came');
  });

  it('--now overrides the window with a destructive approval that says so', async () => {
    const id = (await h.command(alice, 'uncordon k8s-2 --now', WIN)).jobId!;
    await h.waitState(id, 'awaiting approval');
    await h.click(bob, await h.waitButton(id, 'Approve'), undefined, WIN);
    await h.slack.waitFor(() => text(id).includes('Run outside the maintenance window (--now)'));
    const gate = h.thread(id).find((m) => m.text.includes('Run outside the maintenance window'))!;
    const approve = gate.buttons.find((b) => b.label === 'Approve')!;
    expect(approve.confirm?.title).toBe('Approve a destructive step?');
    expect(JSON.stringify(gate.blocks)).toContain('Requested with --now: this job changes the cluster now, outside its maintenance windows (sat 02:00-06:00 UTC)');
    await h.click(bob, { ...approve, messageTs: gate.ts } as typeof approve & { messageTs: string }, gate.ts, WIN);
    await h.waitState(id, 'succeeded');
    expect(sim('win').state.node('k8s-2').cordoned).toBe(false);
  });

  it('refuses --now where there are no windows, and an --at outside them', async () => {
    const none = await h.command(alice, 'cordon k8s-1 --now', PLAIN);
    expect(none.jobId).toBeUndefined();
    expect(none.text).toContain('cluster plain has no maintenance windows (policy.windows), so --now overrides nothing');
    const outside = await h.command(alice, 'upgrade-cluster 1.23/stable --at 2026-12-05T07:00:00Z', SCHED);
    expect(outside.jobId).toBeUndefined();
    expect(outside.text).toContain('is outside the maintenance windows (sat 02:00-06:00 UTC); the next one opens Sat 2026-12-12 02:00 UTC');
    const past = await h.command(alice, 'upgrade-cluster 1.23/stable --at 2026-12-01T03:00:00Z', SCHED);
    expect(past.text).toContain('is not in the future');
    const bad = await h.command(alice, 'upgrade-cluster 1.23/stable --at tomorrow', SCHED);
    expect(bad.text).toContain("--at 'tomorrow' is not a time; use RFC 3339");
  });

  it('a rolling upgrade stops at the next node boundary when the window closes and resumes in the next window', async () => {
    clock.set('2026-12-05T05:50:00Z'); // inside the window
    const from = sim('roll').commandLog.length;
    failConfigureHook(sim('roll').state.node('k8s-1'), { times: 1 });
    const r = await h.command(alice, 'upgrade-cluster 1.23/stable --pause-after none', ROLL);
    const id = r.jobId!;
    await h.waitState(id, 'awaiting approval');
    await h.click(bob, await h.waitButton(id, 'Approve'), undefined, ROLL);
    // k8s-1's refresh fails; while it waits for a decision the window closes.
    const retry = await h.waitButton(id, 'Retry the step', 30_000);
    clock.set('2026-12-05T06:01:00Z');
    await h.click(alice, retry, undefined, ROLL);
    await h.slack.waitFor(() => text(id).includes('Paused until the next maintenance window: Sat 2026-12-12 02:00 UTC'), 30_000).catch((err: unknown) => {
      throw new Error(`${String(err).slice(0, 80)}\n${text(id)}`);
    });
    expect(full(id)).toContain('The maintenance window closed: the rollout stopped after k8s-1, at a node boundary. It resumes when the next window opens');
    await h.waitState(id, 'queued');
    const refreshed = () => ['k8s-1', 'k8s-2', 'k8s-3'].filter((n) => sim('roll').state.node(n).tracking === '1.23/stable');
    expect(refreshed()).toEqual(['k8s-1']);
    expect(ran('roll', from, 'drain k8s-2')).toEqual([]);

    clock.set('2026-12-12T02:00:00Z');
    await h.waitState(id, 'succeeded', 60_000);
    expect(refreshed()).toEqual(['k8s-1', 'k8s-2', 'k8s-3']);
  }, 90_000);

  it('--at schedules a rollout: approved ahead of time, the cluster held (busy names it), re-checked when it starts', async () => {
    const r = await h.command(alice, 'upgrade-cluster 1.23/stable --pause-after none --at 2026-12-05T03:00:00Z', SCHED);
    expect(r.text).toMatch(/^Queued as job \d+/);
    expect(r.text).toContain('Scheduled: nothing changes before Sat 2026-12-05 03:00 UTC');
    const id = r.jobId!;
    await h.waitState(id, 'awaiting approval');
    await h.click(bob, await h.waitButton(id, 'Approve'), undefined, SCHED);
    await h.slack.waitFor(() => text(id).includes('Scheduled: starts at Sat 2026-12-05 03:00 UTC'));
    await h.waitState(id, 'queued');
    const busy = await h.command(alice, 'cordon k8s-2', SCHED);
    expect(busy.jobId).toBeUndefined();
    expect(busy.text).toContain(`job ${id} (upgrade-cluster, queued, scheduled to start at 2026-12-05 03:00 UTC`);
    expect(sim('sched').state.node('k8s-1').tracking).toBe('1.22/stable');
    const jobs = await h.command(alice, 'jobs', SCHED);
    expect(jobs.full).toContain(`job ${id} · queued · \`upgrade-cluster 1.23/stable --pause-after none --at 2026-12-05T03:00:00Z\``);
    expect(jobs.full).toContain('scheduled for 2026-12-05 03:00');

    clock.set('2026-12-05T03:00:00Z');
    await h.waitState(id, 'succeeded', 60_000);
    const steps = h.thread(id).map((m) => m.text);
    const recheck = steps.findIndex((t) => t.includes('re-check what the plan depended on'));
    const scheduled = steps.findIndex((t) => t.includes('Scheduled: starts at'));
    expect(scheduled).toBeGreaterThan(-1);
    expect(recheck).toBeGreaterThan(scheduled);
  }, 90_000);

  it('cancelling a scheduled job ends it before it starts and frees the cluster', async () => {
    const r = await h.command(alice, 'cordon k8s-3 --at next-window', SCHED);
    const id = r.jobId!;
    await h.waitState(id, 'awaiting approval');
    await h.click(bob, await h.waitButton(id, 'Approve'), undefined, SCHED);
    await h.waitState(id, 'queued');
    const c = await h.command(alice, `cancel ${id}`, SCHED);
    expect(c.text).toContain(`Cancel requested for job ${id}`);
    await h.waitState(id, 'cancelled');
    expect(await h.app.queue.holder('sched')).toBeUndefined();
    expect(sim('sched').state.node('k8s-3').cordoned).toBe(false);
  });
});
