/**
 * End to end through Socket Mode: with SLACK_APP_TOKEN set the app opens a
 * WebSocket from apps.connections.open (the fake Slack hands out a local
 * ws:// URL), receives a slash-command envelope over it, acks it with the job
 * id, and the job runs; the approval click arrives as an `interactive`
 * envelope. /healthz and /metrics are served on PORT in Socket Mode too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_TOKEN, startHarness, USERS, type Harness } from '../support/harness.ts';
import { blockActionsPayload, slashCommandBody } from '../support/slack-signing.ts';

const APP_TOKEN = 'xapp-1-A0FAKE-1234567890-socketmodetesttoken7c1e';
const CHANNEL = 'C0PROD00001';

/** The `text` of an ack's payload ('' when there is none). */
const ackText = (payload: Record<string, unknown> | undefined): string => (typeof payload?.text === 'string' ? payload.text : '');

describe('e2e: Slack Socket Mode', () => {
  let h: Harness;
  let responses = 0;

  const slash = (user: string, text: string) =>
    h.slack.socketMode.send(
      {
        type: 'slash_commands',
        payload: slashCommandBody({ user, channel: CHANNEL, text, responseUrl: h.slack.responseUrl(`sock${++responses}`) }),
        accepts_response_payload: true,
      },
      5000,
    );

  beforeAll(async () => {
    h = await startHarness({ env: { SLACK_APP_TOKEN: APP_TOKEN } });
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('runs in Socket Mode: the app token opened the connection, no HTTP receiver', async () => {
    expect(h.app.mode).toBe('slack-socket');
    const opens = h.slack.callsOf('apps.connections.open');
    expect(opens.length).toBeGreaterThanOrEqual(1);
    expect(opens.every((c) => c.token === APP_TOKEN)).toBe(true);
    await h.slack.waitFor(() => h.slack.socketMode.connections() === 1);

    // /healthz answers 200 on PORT (Redis reachable, worker up, socket connected); /metrics too.
    const health = await fetch(`http://127.0.0.1:${h.app.httpPort}/healthz`);
    expect(health.status).toBe(200);
    await health.text();
    const metrics = await fetch(`http://127.0.0.1:${h.app.httpPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE');
    // Slack's HTTP events route is not served in this mode: events come only over the socket.
    const events = await fetch(`http://127.0.0.1:${h.app.httpPort}/slack/events`, { method: 'POST', body: '{}' });
    expect(events.ok).toBe(false);
    await events.text();
  });

  it('a slash-command envelope is acked with the job id, and the job runs through approval to success', async () => {
    const ack = await slash(USERS.alice, 'upgrade k8s-1 1.23/stable');
    const text = ackText(ack.payload);
    expect(text).toMatch(/^Queued as job \d+\b/);
    const id = /\bjob (\d+)\b/.exec(text)?.[1];
    expect(id).toBeDefined();
    const jobId = id!;

    await h.waitState(jobId, 'awaiting approval', 30_000);
    const parent = h.parent(jobId)!;
    expect(parent.channel).toBe(CHANNEL);
    const approve = h.gateButton(jobId, 'Approve');

    // The click comes over the socket as an interactive envelope, and is acked.
    const clickAck = await h.slack.socketMode.send({
      type: 'interactive',
      payload: blockActionsPayload({
        user: USERS.bob,
        channel: CHANNEL,
        messageTs: approve.messageTs,
        threadTs: parent.ts,
        actionId: approve.actionId,
        value: approve.value,
        label: approve.label,
        responseUrl: h.slack.responseUrl(`sock${++responses}`),
      }),
    });
    expect(clickAck.envelope_id).toBeTruthy();

    const done = await h.waitState(jobId, 'succeeded', 30_000);
    expect(done.text).toBe(`job ${jobId} · upgrade on prod · succeeded`);
    const gate = h.thread(jobId).find((m) => m.ts === approve.messageTs);
    expect(gate?.text).toMatch(/approved$/);
    expect(JSON.stringify(gate?.blocks)).toContain(`<@${USERS.bob}>`);

    // The work really happened on the simulated node.
    const node = h.sim.state.node('k8s-1');
    expect(node.version).toMatch(/^v1\.23\./);
    expect(node.cordoned).toBe(false);
    expect(h.sim.commandLog.filter((r) => r.node === 'k8s-1' && r.argv.join(' ') === 'snap refresh microk8s --channel 1.23/stable')).toHaveLength(1);

    // Web API calls used the bot token; the app token was only for the connection.
    const posts = h.slack.callsOf('chat.postMessage');
    expect(posts.length).toBeGreaterThan(0);
    expect(posts.every((c) => c.token === BOT_TOKEN)).toBe(true);
  });

  it('a request refused by the bot is acked over the socket with the reason, and queues nothing', async () => {
    const before = h.slack.messages().length;
    const ack = await slash(USERS.alice, 'upgrade k8s-9 1.23/stable');
    expect(ack.payload?.response_type).toBe('ephemeral');
    expect(ackText(ack.payload)).toContain('k8s-9');
    expect(ackText(ack.payload)).not.toMatch(/Queued as job/);
    expect(h.slack.messages().length).toBe(before);
  });

  it('the app token never reaches the logs', () => {
    expect(h.logs().length).toBeGreaterThan(0);
    expect(h.logs()).not.toContain(APP_TOKEN);
    expect(h.logs()).not.toContain(BOT_TOKEN);
  });
});
