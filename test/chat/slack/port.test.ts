import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../src/chat/port.ts';
import { createSlackPort, SlackApiError, SlackChatPort } from '../../../src/chat/slack/port.ts';
import { startFakeSlack, type FakeSlack } from '../../support/fake-slack.ts';
import { blockIds, BOT_TOKEN, captureLogs } from './helpers.ts';

const approval: ChatMessage = {
  text: 'job 42 awaiting approval: upgrade k8s-1 to 1.23/stable',
  body: '*Plan*\n1. back up the datastore\n2. drain k8s-1\n3. `snap refresh microk8s --channel 1.23/stable`',
  context: 'requested by <@U1>',
  buttons: [
    {
      label: 'Approve',
      actionId: 'mk8s.approve',
      value: 'gate:42:1',
      style: 'primary',
      confirm: { title: 'Upgrade k8s-1?', text: 'k8s-1 will be drained and refreshed.', confirm: 'Upgrade', deny: 'Cancel' },
    },
    { label: 'Reject', actionId: 'mk8s.reject', value: 'gate:42:1', style: 'danger' },
  ],
};

describe('SlackChatPort against the fake Web API', () => {
  let fake: FakeSlack;
  let port: SlackChatPort;

  beforeEach(async () => {
    fake = await startFakeSlack({ usergroups: { S0OPS: ['U1', 'U2'] } });
    port = createSlackPort({ botToken: BOT_TOKEN, apiUrl: fake.url, retries: 0, logger: captureLogs('silent').logger });
  });

  afterEach(async () => {
    await fake.stop();
  });

  it('posts a parent and a thread reply with Approve/Reject buttons and a confirm dialog', async () => {
    const parent = await port.post('C1', { text: 'job 42 queued' });
    expect(parent.channel).toBe('C1');
    expect(parent.ts).toMatch(/^\d{10}\.\d{6}$/);
    const reply = await port.post('C1', approval, parent.ts);
    expect(reply.ts > parent.ts).toBe(true);

    const [first, second] = fake.callsOf('chat.postMessage');
    expect(first?.token).toBe(BOT_TOKEN);
    expect(first?.args.thread_ts).toBeUndefined();
    expect(second?.args).toMatchObject({ channel: 'C1', thread_ts: parent.ts, text: approval.text });

    const [msg] = fake.thread('C1', parent.ts);
    expect(msg?.buttons).toEqual([
      {
        label: 'Approve',
        actionId: 'mk8s.approve',
        value: 'gate:42:1',
        style: 'primary',
        confirm: { title: 'Upgrade k8s-1?', text: 'k8s-1 will be drained and refreshed.', confirm: 'Upgrade', deny: 'Cancel' },
      },
      { label: 'Reject', actionId: 'mk8s.reject', value: 'gate:42:1', style: 'danger' },
    ]);
    expect(JSON.stringify(msg?.blocks)).toContain('snap refresh microk8s --channel 1.23/stable');
  });

  it('updates a message in place: new text, new blocks, fresh block ids', async () => {
    const ref = await port.post('C1', approval);
    const before = blockIds(fake.messages()[0]?.blocks ?? []);
    await port.update(ref, { text: 'job 42 approved by <@U2>', context: 'approved at 12:00 UTC' });
    const [msg] = fake.messages();
    expect(msg).toMatchObject({ ts: ref.ts, text: 'job 42 approved by <@U2>', updates: 1, buttons: [] });
    const after = blockIds(msg?.blocks ?? []);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
    expect(fake.callsOf('chat.update')[0]?.args).toMatchObject({ channel: 'C1', ts: ref.ts });
  });

  it('sends ephemeral messages to one user', async () => {
    await port.ephemeral('C1', 'U3', { text: 'unknown node k8s-9' });
    expect(fake.callsOf('chat.postEphemeral')[0]?.args).toMatchObject({ channel: 'C1', user: 'U3', text: 'unknown node k8s-9' });
  });

  it('uploads a file into a thread with files.uploadV2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mk8s-slack-'));
    try {
      const path = join(dir, 'backup-k8s-1.sha256');
      await writeFile(path, 'abc123  backup.tar.gz\n');
      await port.uploadFile('C1', '1700000000.000100', path, 'datastore backup checksum');
      expect(fake.uploads).toHaveLength(1);
      expect(fake.uploads[0]).toMatchObject({
        filename: 'backup-k8s-1.sha256',
        title: 'datastore backup checksum',
        channel: 'C1',
        thread_ts: '1700000000.000100',
      });
      expect(fake.uploads[0]?.bytes.toString()).toBe('abc123  backup.tar.gz\n');
      expect(fake.callsOf('files.getUploadURLExternal')[0]?.args).toMatchObject({ filename: 'backup-k8s-1.sha256', length: '22' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('expands usergroups with a short cache and does not cache failures', async () => {
    expect(await port.usergroupMembers('S0OPS')).toEqual(['U1', 'U2']);
    fake.setUsergroup('S0OPS', ['U9']);
    expect(await port.usergroupMembers('S0OPS')).toEqual(['U1', 'U2']); // cached
    expect(fake.callsOf('usergroups.users.list')).toHaveLength(1);

    await expect(port.usergroupMembers('S0NONE')).rejects.toThrow(new SlackApiError('usergroups.users.list', 'no_such_subteam'));
    fake.setUsergroup('S0NONE', ['U5']);
    expect(await port.usergroupMembers('S0NONE')).toEqual(['U5']);
  });

  it('expires the usergroup cache', async () => {
    let now = 1_000;
    const p = new SlackChatPort(port.client, { usergroupCacheMs: 100, now: () => now });
    expect(await p.usergroupMembers('S0OPS')).toEqual(['U1', 'U2']);
    fake.setUsergroup('S0OPS', ['U7']);
    now += 101;
    expect(await p.usergroupMembers('S0OPS')).toEqual(['U7']);
  });

  it('names the method and Slack error on failure, never the token', async () => {
    fake.failNext('chat.postMessage', 'channel_not_found');
    const err = await port.post('C404', { text: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlackApiError);
    expect(String(err)).toContain('chat.postMessage failed: channel_not_found');
    expect(String(err)).not.toContain(BOT_TOKEN);
    fake.failNext('chat.update', 'message_not_found');
    await expect(port.update({ channel: 'C1', ts: '1.1' }, { text: 'y' })).rejects.toThrow(/chat\.update failed: message_not_found/);
  });
});
