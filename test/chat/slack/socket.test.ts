import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSlackChat, type SlackChat } from '../../../src/chat/slack/app.ts';
import { startFakeSlack, type FakeSlack } from '../../support/fake-slack.ts';
import { blockActionsPayload, slashCommandBody } from '../../support/slack-signing.ts';
import { APP_TOKEN, BOT_TOKEN, captureLogs, chatOptions, holdJobsAnswer, RecordingCore } from './helpers.ts';

describe('Slack adapter in Socket Mode (apps.connections.open → WebSocket on the fake)', () => {
  let fake: FakeSlack;
  let chat: SlackChat;
  let core: RecordingCore;
  let healthBase: string;
  let ok = true;

  beforeEach(async () => {
    ok = true;
    fake = await startFakeSlack();
    core = new RecordingCore();
    chat = createSlackChat(
      // followUpYieldMs: a follow-up never starts early on a slow machine just because its wait ran out.
      chatOptions('socket', fake.url, { health: async () => ({ ok, detail: { redis: ok ? 'up' : 'down' } }), logger: captureLogs('silent').logger, followUpYieldMs: 60_000 }),
    );
    chat.attach(core);
    const { port } = await chat.start();
    healthBase = `http://127.0.0.1:${port}`;
  });

  afterEach(async () => {
    await chat.stop();
    await fake.stop();
  });

  it('opens the connection with the app token at the configured API URL', () => {
    const opens = fake.callsOf('apps.connections.open');
    expect(opens).toHaveLength(1);
    expect(opens[0]?.token).toBe(APP_TOKEN);
    expect(fake.callsOf('auth.test')[0]?.token).toBe(BOT_TOKEN);
    expect(fake.socketMode.connections()).toBe(1);
  });

  it('acks a slash_commands envelope with the core answer and calls handleCommand', async () => {
    const ack = await fake.socketMode.send({
      type: 'slash_commands',
      payload: slashCommandBody({ user: 'U1', channel: 'C1', text: 'status', responseUrl: fake.responseUrl('s1') }),
    });
    expect(ack.payload).toMatchObject({ text: 'job 1 queued: status', response_type: 'in_channel' });
    expect(core.commands).toEqual([{ user: 'U1', channel: 'C1', text: 'status' }]);
  });

  it('starts a follow-up only once the other commands in flight are acked', async () => {
    const order: string[] = [];
    const { release } = holdJobsAnswer(core, order);
    const slow = fake.socketMode.send({ type: 'slash_commands', payload: slashCommandBody({ user: 'U1', channel: 'C1', text: 'jobs', responseUrl: fake.responseUrl('slow') }) });
    await fake.waitFor(() => core.commands.some((c) => c.text === 'jobs'));
    const fast = await fake.socketMode.send({ type: 'slash_commands', payload: slashCommandBody({ user: 'U2', channel: 'C1', text: 'status', responseUrl: fake.responseUrl('fast') }) });
    expect(fast.payload).toMatchObject({ text: 'reading cluster prod…' });
    order.push('status acked', 'jobs released');
    release();
    expect((await slow).payload).toMatchObject({ text: 'no jobs' });
    expect((await fake.waitFor(() => fake.responses.find((r) => r.id === 'fast'))).body).toMatchObject({ text: 'prod: 3 nodes Ready' });
    expect(order).toEqual(['status acked', 'jobs released', 'follow-up started']);
  });

  it('acks an interactive envelope and posts the core note ephemerally', async () => {
    const ack = await fake.socketMode.send({
      type: 'interactive',
      payload: blockActionsPayload({
        user: 'U2',
        channel: 'C1',
        messageTs: '1700000000.000300',
        actionId: 'mk8s.reject',
        value: 'gate:9:1',
        responseUrl: fake.responseUrl('s2'),
      }),
    });
    expect(ack.envelope_id).toBeTruthy();
    const note = await fake.waitFor(() => fake.ephemerals()[0]);
    expect(note).toMatchObject({ channel: 'C1', user: 'U2', text: 'recorded mk8s.reject by U2' });
    expect(core.actions[0]).toEqual({ user: 'U2', channel: 'C1', messageTs: '1700000000.000300', actionId: 'mk8s.reject', value: 'gate:9:1' });
  });

  it('serves /healthz and /metrics on PORT, reporting the socket state', async () => {
    const up = await fetch(`${healthBase}/healthz`);
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ ok: true, redis: 'up', slack: { mode: 'socket', connected: true } });
    ok = false;
    const down = await fetch(`${healthBase}/healthz`);
    expect(down.status).toBe(503);
    const m = await fetch(`${healthBase}/metrics`);
    expect(await m.text()).toContain('mk8s_up 1');
    expect((await fetch(`${healthBase}/slack/events`, { method: 'POST' })).status).toBe(405);
  });

  it('turns /healthz 503 while the socket is down', async () => {
    expect((await fetch(`${healthBase}/healthz`)).status).toBe(200);
    fake.socketMode.drop();
    await fake.waitFor(async () => (await fetch(`${healthBase}/healthz`)).status === 503);
    const body: unknown = await (await fetch(`${healthBase}/healthz`)).json();
    expect(body).toMatchObject({ ok: false, slack: { mode: 'socket', connected: false } });
  });
});
