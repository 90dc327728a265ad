/**
 * The watch through Slack with the simulator: a read-only check of every node on a
 * BullMQ job scheduler (here every second), alerts in the cluster's channel that are
 * not repeated, "resolved" replies, audit events — and with two workers each check
 * runs once per interval.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import type { StoredAuditEvent } from '../../src/audit/events.ts';
import { parseEnv } from '../../src/config/env.ts';
import { loadInventory } from '../../src/config/inventory.ts';
import { CHANNELS, type SimCluster } from '../../src/sim/index.ts';
import { words } from '../support/e2e.ts';
import type { FakeMessage } from '../support/fake-slack.ts';
import { quietLogger, startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice } = USERS;
const PROD = 'C0PROD00001';
const QUORUM = 'C0QUORUM001';
const EVERY_SECOND = { watch: { interval: '1s', notReadyAfter: '1s' } };

/** Commands the watch may send: reads only. */
const READ_ONLY = [/^snap list microk8s$/, /^snap info --abs-time microk8s$/, /^microk8s status( |$)/, /^microk8s kubectl get nodes -o json$/, /^cat \/var\/snap\/microk8s\/current\/args\/ha-conf$/];

describe('the watch', () => {
  let h: Harness;
  let second: App | undefined;
  const sim = (name: string): SimCluster => h.sims.get(name)!;
  const alerts = (channel: string, needle: string): FakeMessage[] => h.slack.messages().filter((m) => !m.thread_ts && m.channel === channel && m.text.includes('watch ·') && m.text.includes(needle));
  const replies = (m: FakeMessage) => h.slack.thread(m.channel, m.ts).map((r) => r.text);
  const events = async (cluster: string, type: string): Promise<StoredAuditEvent[]> => (await h.app.bot!['deps'].audit.recent(5000, { cluster })).filter((e: StoredAuditEvent) => e.type === type);
  const checks = (cluster: string) => events(cluster, 'watch.check');
  /** Waits until `n` more checks of the cluster have completed. */
  const moreChecks = async (cluster: string, n: number) => {
    const start = (await checks(cluster)).length;
    await h.slack.waitFor(async () => (await checks(cluster)).length >= start + n, 20_000);
  };

  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        { name: 'prod', channel: PROD, policy: { approvePlan: false }, extra: EVERY_SECOND },
        { name: 'quorum', channel: QUORUM, extra: EVERY_SECOND },
      ],
    });
  });
  afterAll(async () => {
    await second?.stop();
    await h?.stop();
  });

  it('alerts once on a node auto-refreshed out of band, offers the hold, and resolves after it; a hold ending warns', async () => {
    // The bot records every node (an unhold job), then snapd refreshes k8s-1 within its channel on its own.
    const un = await h.command(alice, 'unhold all', PROD);
    await h.waitState(un.jobId!, 'succeeded');
    const node = sim('prod').state.node('k8s-1');
    const rel = CHANNELS['1.22/stable']!;
    node.sequence = [...node.sequence, { revision: rel.revision + 7, version: 'v1.22.4', kubeletVersion: rel.kubeletVersion, channel: '1.22/stable' }];
    node.current = node.sequence.length - 1;
    const quiet = sim('prod').commandLog.length;

    const [alert] = await h.slack.waitFor(() => {
      const found = alerts(PROD, 'k8s-1 changed outside the bot');
      return found.length > 0 ? found : undefined;
    }, 20_000);
    expect(alert!.text).toContain(`k8s-1 changed outside the bot: revision ${rel.revision} → ${rel.revision + 7} (v1.22.4)`);
    expect(JSON.stringify(alert!.blocks)).toContain('Next safe action: `hold all 24h --cluster prod`');
    const button = alert!.buttons.find((b) => b.label === 'hold all 24h')!;
    expect(button.value).toBe('hold all 24h --cluster prod');

    // Not repeated while it stays the same.
    await moreChecks('prod', 3);
    expect(alerts(PROD, 'k8s-1 changed outside the bot')).toHaveLength(1);
    expect(replies(alert!)).toEqual([]);
    // Everything the watch sent in that time was a read.
    const sent = sim('prod').commandLog.slice(quiet).map(words);
    expect(sent.length).toBeGreaterThan(0);
    for (const c of sent) expect(READ_ONLY.some((re) => re.test(c)), c).toBe(true);

    // The alert's button runs `hold all 24h` as alice (an operator), like typing it.
    expect(await h.click(alice, { ...button, messageTs: alert!.ts } as typeof button & { messageTs: string }, alert!.ts, PROD)).toBe(200);
    const hold = await h.slack.waitFor(() => h.slack.messages().find((m) => !m.thread_ts && /^job \d+ · hold on prod/.test(m.text)));
    await h.waitState(/^job (\d+)/.exec(hold.text)![1]!, 'succeeded');
    await h.slack.waitFor(() => replies(alert!).some((r) => r.startsWith('✅ Resolved: k8s-1 changed outside the bot')), 20_000);

    // The holds it set end within 24 h: one warning for the cluster (a check in the middle of the job saw some
    // nodes held: the alert's thread then says what it is now), naming every node.
    const latest = (m: FakeMessage) => replies(m).filter((r) => r.startsWith('Still open, now:')).at(-1) ?? m.text;
    const ending = await h.slack.waitFor(() => {
      const found = alerts(PROD, 'Refresh holds end within 24 h');
      return found.length === 1 && ['k8s-1', 'k8s-2', 'k8s-3'].every((n) => latest(found[0]!).includes(`${n} at `)) ? found[0] : undefined;
    }, 20_000);
    expect(ending.buttons.map((b) => b.label)).toEqual(['hold all forever']);

    const opened = (await events('prod', 'alert')).map((e) => `${(e as { state: string }).state} ${(e as { key: string }).key}`);
    expect(opened).toEqual(expect.arrayContaining(['open drift:k8s-1', 'resolved drift:k8s-1', 'open hold-ending']));
  }, 90_000);

  it('two voters lost: a quorum alert at the next check, resolved when they are back', async () => {
    const before = (await h.app.bot!['deps'].audit.recent(5000, { cluster: 'quorum' })).length;
    await sim('quorum').setDown('k8s-2', true);
    await sim('quorum').setDown('k8s-3', true);
    const [alert] = await h.slack.waitFor(() => {
      const found = alerts(QUORUM, 'Datastore quorum lost');
      return found.length > 0 ? found : undefined;
    }, 20_000);
    expect(alert!.text).toContain('🚨');
    expect(JSON.stringify(alert!.blocks)).toContain('`recover-quorum --dry-run --cluster quorum`');
    // Within one interval: raised by the check in flight when the voters went, or by the one after it —
    // at most one full check completed between the outage and the alert.
    const since = (await h.app.bot!['deps'].audit.recent(5000, { cluster: 'quorum' })).slice(before);
    const raised = since.findIndex((e: StoredAuditEvent) => e.type === 'alert' && e.key === 'quorum-lost');
    const completedBefore = since.slice(0, raised).filter((e: StoredAuditEvent) => e.type === 'watch.check' && !e.skipped);
    expect(raised).toBeGreaterThan(-1);
    expect(completedBefore.length).toBeLessThanOrEqual(1);
    await sim('quorum').setDown('k8s-2', false);
    await sim('quorum').setDown('k8s-3', false);
    await h.slack.waitFor(() => replies(alert!).some((r) => r.startsWith('✅ Resolved: Datastore quorum lost')), 30_000);
  }, 60_000);

  it('a voter NotReady too long: NotReady and HA-lost alerts; a node cordoned by hand: its uncordon offered', async () => {
    const k3 = sim('prod').state.node('k8s-3');
    k3.ready = false; // its kubelet stops reporting Ready
    const notReady = await h.slack.waitFor(() => alerts(PROD, 'k8s-3 has been NotReady for')[0], 20_000);
    expect(JSON.stringify(notReady.blocks)).toContain('`inspect k8s-3 --cluster prod`');
    const haLost = await h.slack.waitFor(() => alerts(PROD, 'High availability lost')[0], 20_000);
    expect(haLost.text).toContain('2 working datastore voter(s) (k8s-1, k8s-2), 3 needed; not working: k8s-3');
    k3.ready = true;
    await h.slack.waitFor(() => replies(notReady).some((r) => r.startsWith('✅ Resolved')) && replies(haLost).some((r) => r.startsWith('✅ Resolved')), 20_000);

    sim('prod').state.node('k8s-2').cordoned = true; // `kubectl cordon` by hand
    const cordoned = await h.slack.waitFor(() => alerts(PROD, 'k8s-2 is cordoned, and no job of the bot cordoned it')[0], 20_000);
    const button = cordoned.buttons.find((b) => b.label === 'uncordon k8s-2')!;
    await h.click(alice, { ...button, messageTs: cordoned.ts } as typeof button & { messageTs: string }, cordoned.ts, PROD);
    await h.slack.waitFor(() => replies(cordoned).some((r) => r.startsWith('✅ Resolved')), 20_000);
    expect(sim('prod').state.node('k8s-2').cordoned).toBe(false);
  }, 90_000);

  it('with two workers each check runs once per interval', async () => {
    second = await startApp({ env: parseEnv({ ...h.env, MK8S_ROLE: 'worker' }), inventory: loadInventory(h.env.MK8S_INVENTORY!), logger: quietLogger(), slackRetries: 0 });
    const start = (await checks('prod')).length;
    await moreChecks('prod', 5);
    const runs = (await checks('prod')).slice(start).map((e) => (e as { iteration: string }).iteration);
    expect(new Set(runs).size).toBe(runs.length); // no iteration ran twice
    const times = runs.map((id) => Number(id.split(':').pop())).toSorted((a, b) => a - b);
    // …and none was added in between: iterations are whole intervals apart (a busy machine may skip a slot, never add one).
    for (let i = 1; i < times.length; i++) {
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
      expect((times[i]! - times[i - 1]!) % 1000).toBe(0);
    }
  }, 60_000);
});
