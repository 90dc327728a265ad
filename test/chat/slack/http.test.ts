import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSlackChat, type SlackChat } from '../../../src/chat/slack/app.ts';
import { startFakeSlack, type FakeSlack } from '../../support/fake-slack.ts';
import { deferred } from '../../support/deferred.ts';
import { blockActionsBody, signedRequest, slashCommandBody } from '../../support/slack-signing.ts';
import { ackBody, BOT_TOKEN, captureLogs, chatOptions, holdJobsAnswer, LogLine, RecordingCore, SIGNING_SECRET } from './helpers.ts';

describe('Slack adapter over HTTP (Bolt HTTPReceiver, signed requests, fake Web API)', () => {
  let fake: FakeSlack;
  let chat: SlackChat | undefined;
  let core: RecordingCore;
  let events: string;
  let base: string;
  let ok = true;
  const logs = captureLogs('debug');

  const start = async (extra: { ackDeadlineMs?: number; followUpYieldMs?: number } = {}) => {
    chat = createSlackChat(
      chatOptions('http', fake.url, { health: async () => ({ ok, detail: { redis: ok ? 'up' : 'down' } }), logger: logs.logger, ...extra }),
    );
    chat.attach(core);
    const { port } = await chat.start();
    base = `http://127.0.0.1:${port}`;
    events = `${base}/slack/events`;
  };

  beforeEach(async () => {
    ok = true;
    fake = await startFakeSlack();
    core = new RecordingCore();
  });

  afterEach(async () => {
    await chat?.stop();
    await fake.stop();
  });

  it('acks a signed slash command with the core answer and passes user, channel and text', async () => {
    await start();
    const res = await signedRequest(
      events,
      slashCommandBody({ user: 'U1', channel: 'C1', text: 'upgrade k8s-1 1.23/stable', responseUrl: fake.responseUrl('r1') }),
      SIGNING_SECRET,
    );
    expect(res.status).toBe(200);
    const body = await ackBody(res);
    expect(body).toMatchObject({
      text: 'job 1 queued: upgrade k8s-1 1.23/stable',
      response_type: 'in_channel',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'job 1 queued: upgrade k8s-1 1.23/stable' } }],
    });
    expect(core.commands).toEqual([{ user: 'U1', channel: 'C1', text: 'upgrade k8s-1 1.23/stable' }]);
    // auth.test ran once at start, with the bot token.
    expect(fake.callsOf('auth.test').map((c) => c.token)).toEqual([BOT_TOKEN]);
  });

  it('answers 401 to a bad signature and to a stale timestamp; no handler runs', async () => {
    await start();
    const body = slashCommandBody({ user: 'U1', channel: 'C1', text: 'status', responseUrl: fake.responseUrl('r') });
    const bad = await signedRequest(events, body, SIGNING_SECRET, { badSignature: true });
    expect(bad.status).toBe(401);
    const stale = await signedRequest(events, body, SIGNING_SECRET, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    const click = await signedRequest(
      events,
      blockActionsBody({ user: 'U2', channel: 'C1', messageTs: '1.2', actionId: 'mk8s.approve', value: 'x', responseUrl: fake.responseUrl('r') }),
      SIGNING_SECRET,
      { badSignature: true },
    );
    expect(click.status).toBe(401);
    expect(core.commands).toEqual([]);
    expect(core.actions).toEqual([]);
    expect(fake.calls.filter((c) => c.method !== 'auth.test')).toEqual([]);
    // A good one still works after the rejected ones.
    const good = await signedRequest(events, body, SIGNING_SECRET);
    expect(good.status).toBe(200);
    expect(core.commands).toHaveLength(1);
  });

  it('hands a block_actions click to the core and posts its note ephemerally to the clicker', async () => {
    await start();
    const res = await signedRequest(
      events,
      blockActionsBody({
        user: 'U2',
        channel: 'C1',
        messageTs: '1700000000.000200',
        threadTs: '1700000000.000100',
        actionId: 'mk8s.approve',
        value: 'gate:42:1',
        responseUrl: fake.responseUrl('click'),
      }),
      SIGNING_SECRET,
    );
    expect(res.status).toBe(200);
    const note = await fake.waitFor(() => fake.ephemerals()[0]);
    expect(core.actions).toEqual([{ user: 'U2', channel: 'C1', messageTs: '1700000000.000200', actionId: 'mk8s.approve', value: 'gate:42:1' }]);
    expect(note).toMatchObject({ channel: 'C1', user: 'U2', text: 'recorded mk8s.approve by U2' });
  });

  it('posts nothing when the core has no note, and ignores buttons that are not mk8s.*', async () => {
    await start();
    core.onAction = async () => undefined;
    const click = (actionId: string) =>
      signedRequest(
        events,
        blockActionsBody({ user: 'U2', channel: 'C1', messageTs: '1.2', actionId, value: 'v', responseUrl: fake.responseUrl('c') }),
        SIGNING_SECRET,
      );
    expect((await click('mk8s.reject')).status).toBe(200);
    expect((await click('other.button')).status).toBe(200);
    await fake.waitFor(() => core.actions.length === 1);
    expect(core.actions.map((a) => a.actionId)).toEqual(['mk8s.reject']);
    expect(fake.callsOf('chat.postEphemeral')).toEqual([]);
  });

  it('delivers a followUp through response_url with the same visibility', async () => {
    await start();
    core.onCommand = async () => ({
      ack: { text: 'reading cluster prod…' },
      visibility: 'ephemeral',
      followUp: async () => ({ text: 'prod: 3 nodes Ready', body: '```k8s-1 Ready v1.22.3```' }),
    });
    const res = await signedRequest(
      events,
      slashCommandBody({ user: 'U1', channel: 'C1', text: 'status', responseUrl: fake.responseUrl('follow') }),
      SIGNING_SECRET,
    );
    const ack = await ackBody(res);
    expect(ack).toMatchObject({ text: 'reading cluster prod…', response_type: 'ephemeral' });
    const followed = await fake.waitFor(() => fake.responses.find((r) => r.id === 'follow'));
    expect(followed.body).toMatchObject({ text: 'prod: 3 nodes Ready', response_type: 'ephemeral', replace_original: false });
    expect(JSON.stringify(followed.body.blocks)).toContain('k8s-1 Ready v1.22.3');
  });

  it('starts a follow-up only once the acks still in flight have gone out', async () => {
    await start({ followUpYieldMs: 60_000 });
    const order: string[] = [];
    const { release } = holdJobsAnswer(core, order);
    const slow = signedRequest(events, slashCommandBody({ user: 'U1', channel: 'C1', text: 'jobs', responseUrl: fake.responseUrl('slow') }), SIGNING_SECRET);
    await fake.waitFor(() => core.commands.some((c) => c.text === 'jobs'));
    const fast = await signedRequest(events, slashCommandBody({ user: 'U2', channel: 'C1', text: 'status', responseUrl: fake.responseUrl('fast') }), SIGNING_SECRET);
    expect(await ackBody(fast)).toMatchObject({ text: 'reading cluster prod…' });
    order.push('status acked');
    order.push('jobs released');
    release();
    expect(await ackBody(await slow)).toMatchObject({ text: 'no jobs' });
    const followed = await fake.waitFor(() => fake.responses.find((r) => r.id === 'fast'));
    expect(followed.body).toMatchObject({ text: 'prod: 3 nodes Ready' });
    expect(order).toEqual(['status acked', 'jobs released', 'follow-up started']);
  });

  it('falls back to the Web API when response_url fails', async () => {
    await start();
    fake.setResponseStatus(404);
    core.onCommand = async () => ({
      ack: { text: 'working' },
      visibility: 'in_channel',
      followUp: async () => ({ text: 'done for everyone' }),
    });
    await signedRequest(events, slashCommandBody({ user: 'U1', channel: 'C7', text: 'status', responseUrl: fake.responseUrl('gone') }), SIGNING_SECRET);
    const posted = await fake.waitFor(() => fake.messages().find((m) => m.text === 'done for everyone'));
    expect(posted.channel).toBe('C7');
  });

  it('answers a failing core with a generic ephemeral message and logs the details', async () => {
    await start();
    core.onCommand = async () => {
      throw new Error('internal detail: redis at 10.1.2.3 refused');
    };
    const res = await signedRequest(events, slashCommandBody({ user: 'U1', channel: 'C1', text: 'status', responseUrl: fake.responseUrl('e') }), SIGNING_SECRET);
    expect(res.status).toBe(200);
    const ack = await ackBody(res);
    expect(ack.response_type).toBe('ephemeral');
    expect(ack.text).toMatch(/^Something went wrong.*err-[0-9a-f]{8}/);
    expect(JSON.stringify(ack)).not.toContain('10.1.2.3');
    const ref = /err-[0-9a-f]{8}/.exec(ack.text ?? '')?.[0];
    expect(ref).toBeDefined();
    const logged = logs.lines.map((l) => LogLine.parse(JSON.parse(l))).find((l) => l.ref === ref);
    expect(logged?.err?.message).toContain('10.1.2.3');
  });

  it('treats a core that throws synchronously like one that rejects', async () => {
    await start();
    core.onCommand = () => {
      throw new Error('sync failure');
    };
    const res = await signedRequest(events, slashCommandBody({ user: 'U1', channel: 'C1', text: 'status', responseUrl: fake.responseUrl('s') }), SIGNING_SECRET);
    expect(res.status).toBe(200);
    expect(await ackBody(res)).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/^Something went wrong/) });
  });

  it('says the bot is starting when no core is attached yet', async () => {
    chat = createSlackChat(chatOptions('http', fake.url, { health: async () => ({ ok: true, detail: {} }), logger: logs.logger }));
    const { port } = await chat.start();
    const url = `http://127.0.0.1:${port}/slack/events`;
    const res = await signedRequest(url, slashCommandBody({ user: 'U1', channel: 'C1', text: 'status', responseUrl: fake.responseUrl('n') }), SIGNING_SECRET);
    expect(await ackBody(res)).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/still starting/) });
    expect(core.commands).toEqual([]);
  });

  it('answers a failing click with a generic ephemeral message', async () => {
    await start();
    core.onAction = async () => {
      throw new Error('lost the gate');
    };
    await signedRequest(
      events,
      blockActionsBody({ user: 'U9', channel: 'C1', messageTs: '1.2', actionId: 'mk8s.approve', value: 'v', responseUrl: fake.responseUrl('c') }),
      SIGNING_SECRET,
    );
    const note = await fake.waitFor(() => fake.ephemerals()[0]);
    expect(note.user).toBe('U9');
    expect(note.text).toMatch(/^Something went wrong/);
    expect(note.text).not.toContain('lost the gate');
  });

  it('acks with a "still working" note when the core is slower than the ack deadline, then answers through response_url', async () => {
    await start({ ackDeadlineMs: 20 });
    const { promise: gate, resolve: release } = deferred();
    core.onCommand = async (input) => {
      await gate;
      return { ack: { text: `job 7 queued: ${input.text}` }, visibility: 'in_channel' };
    };
    const res = await signedRequest(events, slashCommandBody({ user: 'U1', channel: 'C1', text: 'jobs', responseUrl: fake.responseUrl('late') }), SIGNING_SECRET);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ text: 'Still working on that; the answer follows here.', response_type: 'ephemeral' });
    release();
    const answer = await fake.waitFor(() => fake.responses.find((r) => r.id === 'late'));
    expect(answer.body).toMatchObject({ text: 'job 7 queued: jobs', response_type: 'in_channel' });
  });

  it('serves /healthz (200, then 503 when not ok) and /metrics next to /slack/events', async () => {
    await start();
    const up = await fetch(`${base}/healthz`);
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ ok: true, redis: 'up', slack: { mode: 'http' } });
    ok = false;
    const down = await fetch(`${base}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ ok: false, redis: 'down' });
    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toContain('text/plain');
    expect(await m.text()).toContain('mk8s_up 1');
  });

  it('refuses to start with a token Slack rejects, with a readable error', async () => {
    await fake.stop();
    fake = await startFakeSlack({ tokens: ['xoxb-some-other-token'] });
    await expect(start()).rejects.toThrow(/auth\.test failed: invalid_auth/);
    chat = undefined;
  });
});

describe('health when the check itself throws', () => {
  it('answers 503 without the error text', async () => {
    const fake = await startFakeSlack();
    const chat = createSlackChat(
      chatOptions('http', fake.url, {
        health: async () => {
          throw new Error('redis password is hunter2');
        },
        logger: captureLogs('silent').logger,
      }),
    );
    try {
      const { port } = await chat.start();
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.text()).not.toContain('hunter2');
    } finally {
      await chat.stop();
      await fake.stop();
    }
  });
});
