import { describe, expect, it } from 'vitest';
import { createSlackChat } from '../../../src/chat/slack/app.ts';
import { REDACTED, secretScrubber } from '../../../src/chat/slack/logger.ts';
import { createSlackPort } from '../../../src/chat/slack/port.ts';
import { startFakeSlack } from '../../support/fake-slack.ts';
import { blockActionsBody, blockActionsPayload, signedRequest, slashCommandBody } from '../../support/slack-signing.ts';
import { APP_TOKEN, BOT_TOKEN, captureLogs, chatOptions, healthy, RecordingCore, SIGNING_SECRET } from './helpers.ts';

const SECRETS = [BOT_TOKEN, SIGNING_SECRET, APP_TOKEN];

function expectClean(text: string) {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  expect(text).not.toContain('fake-ticket');
}

describe('secretScrubber', () => {
  it('removes the given secrets and anything shaped like a Slack token', () => {
    const scrub = secretScrubber([SIGNING_SECRET, undefined, '']);
    expect(scrub(`secret=${SIGNING_SECRET} bot=xoxb-1-2-abc app=xapp-1-A1-2-def url=wss://x/?ticket=abc&app_id=A1`)).toBe(
      `secret=${REDACTED} bot=${REDACTED} app=${REDACTED} url=wss://x/?ticket=${REDACTED}&app_id=A1`,
    );
  });
});

describe('no token or signing secret in the logs', () => {
  it('HTTP mode, with trace logging and errors that carry secrets', async () => {
    const fake = await startFakeSlack();
    const logs = captureLogs('trace');
    const core = new RecordingCore();
    core.onCommand = async (input) => {
      if (input.text === 'explode') throw new Error(`cannot use ${BOT_TOKEN} with ${SIGNING_SECRET}`);
      return {
        ack: { text: 'ok' },
        visibility: 'ephemeral',
        followUp: async () => {
          throw new Error(`follow-up saw ${BOT_TOKEN}`);
        },
      };
    };
    core.onAction = async () => {
      throw new Error(`action saw ${SIGNING_SECRET}`);
    };
    const chat = createSlackChat(chatOptions('http', fake.url, { health: healthy, logger: logs.logger }));
    chat.attach(core);
    try {
      const { port } = await chat.start();
      const events = `http://127.0.0.1:${port}/slack/events`;
      const cmd = (text: string) => slashCommandBody({ user: 'U1', channel: 'C1', text, responseUrl: fake.responseUrl(text) });
      expect((await signedRequest(events, cmd('status'), SIGNING_SECRET, { badSignature: true })).status).toBe(401);
      const exploded = await signedRequest(events, cmd('explode'), SIGNING_SECRET);
      expectClean(await exploded.text());
      fake.setResponseStatus(404);
      await signedRequest(events, cmd('status'), SIGNING_SECRET);
      await fake.waitFor(() => fake.ephemerals().length >= 1);
      await signedRequest(
        events,
        blockActionsBody({ user: 'U2', channel: 'C1', messageTs: '1.2', actionId: 'mk8s.approve', value: 'v', responseUrl: fake.responseUrl('a') }),
        SIGNING_SECRET,
      );
      await fake.waitFor(() => fake.ephemerals().length >= 2);
      for (const e of fake.ephemerals()) expectClean(JSON.stringify(e));
    } finally {
      await chat.stop();
      await fake.stop();
    }
    const text = logs.text();
    expect(text).toContain('apiCall'); // the Web API client's own debug lines were captured
    expect(text).toContain(REDACTED); // the secrets in the errors were there, and were scrubbed
    expectClean(text);
  });

  it('Socket Mode and the standalone port', async () => {
    const fake = await startFakeSlack();
    const logs = captureLogs('trace');
    const chat = createSlackChat(chatOptions('socket', fake.url, { health: healthy, logger: logs.logger }));
    chat.attach(new RecordingCore());
    try {
      await chat.start();
      await fake.socketMode.send({ type: 'slash_commands', payload: slashCommandBody({ user: 'U1', channel: 'C1', text: 'help', responseUrl: fake.responseUrl('h') }) });
      await fake.socketMode.send({
        type: 'interactive',
        payload: blockActionsPayload({ user: 'U1', channel: 'C1', messageTs: '1.2', actionId: 'mk8s.approve', value: 'v', responseUrl: fake.responseUrl('i') }),
      });
      await fake.waitFor(() => fake.ephemerals().length === 1);
      const port = createSlackPort({ botToken: BOT_TOKEN, apiUrl: fake.url, retries: 0, logger: logs.logger });
      await port.post('C1', { text: 'hello' });
      fake.failNext('chat.update', 'invalid_auth');
      await expect(port.update({ channel: 'C1', ts: '1.1' }, { text: 'x' })).rejects.toThrow(/invalid_auth/);
    } finally {
      await chat.stop();
      await fake.stop();
    }
    const text = logs.text();
    expect(text).toContain('apps.connections.open');
    expectClean(text);
  });
});
