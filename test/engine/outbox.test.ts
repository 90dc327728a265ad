/**
 * The job outbox over the real Slack port, against the fake Slack (with its latency and
 * rate limits where a test needs them): order, coalescing, merging under a 429, failures.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSlackPort } from '../../src/chat/slack/port.ts';
import { Outbox } from '../../src/engine/outbox.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { SLACK_RATE_LIMITS } from '../support/fake-slack/realism.ts';
import { quietLogger } from '../support/harness.ts';

const CHANNEL = 'C0OUTBOX001';

describe('Outbox', () => {
  let slack: FakeSlack | undefined;
  afterEach(async () => {
    await slack?.stop();
    slack = undefined;
  });

  const setUp = async (realism: Parameters<typeof startFakeSlack>[0] = {}) => {
    slack = await startFakeSlack(realism);
    const port = createSlackPort({ botToken: 'xoxb-outbox-test', apiUrl: slack.url, retries: 0 });
    const parent = await port.post(CHANNEL, { text: 'job 1 · upgrade · running' });
    return { port, parent, outbox: new Outbox(port, quietLogger()) };
  };

  it('posts in order, sends a waiting post with its newest content, and coalesces queued updates', async () => {
    const { outbox, parent } = await setUp({ latencyMs: 30 });
    const a = outbox.post(CHANNEL, { text: '⏳ a' }, parent.ts); // in flight at once
    const b = outbox.post(CHANNEL, { text: '⏳ b' }, parent.ts); // waits behind a
    outbox.update(b, { text: '✅ b' }); // b is still waiting: it goes out as ✅, no update call
    for (let i = 1; i <= 10; i++) outbox.update(a, { text: `✅ a (${i})` }); // one update of a, the newest
    outbox.update(parent, { text: 'job 1 · upgrade · succeeded' });
    await outbox.flush();
    expect(slack!.thread(CHANNEL, parent.ts).map((m) => m.text)).toEqual(['✅ a (10)', '✅ b']);
    const posts = slack!.callsOf('chat.postMessage').slice(1).map((c) => c.args.text);
    expect(posts).toEqual(['⏳ a', '✅ b']);
    // Two lanes: the parent's update did not wait behind the posts (it was not asked to).
    expect(new Set(slack!.callsOf('chat.update').map((c) => c.args.text))).toEqual(new Set(['✅ a (10)', 'job 1 · upgrade · succeeded']));
    expect(slack!.callsOf('chat.update')).toHaveLength(2);
    expect(a.ref?.ts).toBe(slack!.thread(CHANNEL, parent.ts)[0]?.ts);
  });

  it('while Slack rate-limits, step lines join the thread\'s last message (posted, in flight or waiting) and still update in place', async () => {
    const limits = { ...SLACK_RATE_LIMITS, postMessage: { burst: 2, perSecond: 1 } };
    const { outbox, parent, port } = await setUp({ rateLimits: limits });
    outbox.post(CHANNEL, { text: '✅ one' }, parent.ts); // the parent used the first token, this the second
    outbox.post(CHANNEL, { text: '✅ two' }, parent.ts); // 429: the port waits out Retry-After
    await slack!.waitFor(() => port.rateLimited());
    outbox.post(CHANNEL, { text: '⏳ three' }, parent.ts);
    const four = outbox.post(CHANNEL, { text: '⏳ four' }, parent.ts);
    outbox.post(CHANNEL, { text: '⏳ five' }, parent.ts);
    outbox.update(four, { text: '✅ four' });
    const gate = outbox.post(CHANNEL, { text: 'approve?', buttons: [{ label: 'Approve', actionId: 'mk8s.approve', value: '1' }] }, parent.ts);
    await outbox.flush();
    outbox.update(four, { text: '❌ four — failed' });
    await outbox.flush();
    // three, four and five joined two (in flight when they came): one post and one update for four lines.
    expect(slack!.thread(CHANNEL, parent.ts).map((m) => m.text)).toEqual(['✅ one', '✅ two\n⏳ three\n❌ four — failed\n⏳ five', 'approve?']);
    expect(slack!.callsOf('chat.postMessage').slice(1).map((c) => c.args.text)).toEqual(['✅ one', '✅ two', 'approve?']);
    expect((await gate.posted())?.ts).toBeDefined();
    expect(slack!.limited.length).toBeGreaterThan(0);
  });

  it('replies wait for a parent still on its way, the parent itself goes first, and an afterPosts update waits for the posts before it', async () => {
    const { outbox, port } = await setUp();
    let resolveTs: (ts: string | undefined) => void = () => undefined;
    const threadTs = new Promise<string | undefined>((r) => (resolveTs = r));
    const adopted = new Promise<{ channel: string; ts: string } | undefined>((r) => void threadTs.then((ts) => r(ts ? { channel: CHANNEL, ts } : undefined)));
    const parentLine = outbox.adopt(adopted);
    const step = outbox.post(CHANNEL, { text: '⏳ step' }, threadTs);
    outbox.update(parentLine, { text: 'job 2 · upgrade · running' }, { afterPosts: true });
    outbox.update(step, { text: '✅ step' });
    const audit = outbox.post('C0AUDIT0001', { text: 'job 2 succeeded' });
    await audit.posted(); // a post elsewhere does not wait behind the thread's
    expect(slack!.callsOf('chat.update')).toHaveLength(0);
    const parent = await port.post(CHANNEL, { text: 'job 2 · upgrade · queued' });
    resolveTs(parent.ts);
    await outbox.flush();
    expect(slack!.thread(CHANNEL, parent.ts).map((m) => m.text)).toEqual(['✅ step']);
    const texts = slack!.calls.filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.update').map((c) => `${c.method} ${String(c.args.text)}`);
    expect(texts.slice(-2)).toEqual(['chat.postMessage ✅ step', 'chat.update job 2 · upgrade · running']);
    expect(slack!.messages().find((m) => m.ts === parent.ts)?.text).toBe('job 2 · upgrade · running');
  });

  it('drops the replies and updates of a parent that never came', async () => {
    const { outbox } = await setUp();
    const lost = Promise.resolve(undefined);
    const parentLine = outbox.adopt(lost);
    const step = outbox.post(CHANNEL, { text: '⏳ step' }, lost.then(() => undefined));
    outbox.update(step, { text: '✅ step' });
    outbox.update(parentLine, { text: 'job 3 · upgrade · succeeded' }, { afterPosts: true });
    await outbox.flush();
    expect(await step.posted()).toBeUndefined();
    expect(slack!.callsOf('chat.postMessage')).toHaveLength(1); // setUp's parent only
    expect(slack!.callsOf('chat.update')).toHaveLength(0);
  });

  it('rate limited: the text posts waiting behind one that goes out join it; gates and reports keep their own messages; the last state is shown', async () => {
    const limits = { ...SLACK_RATE_LIMITS, postMessage: { burst: 2, perSecond: 1 } };
    const { outbox, parent, port } = await setUp({ rateLimits: limits });
    outbox.post(CHANNEL, { text: '✅ one' }, parent.ts); // the parent used the first token, this the second
    const gate = { text: 'approve?', buttons: [{ label: 'Approve', actionId: 'mk8s.approve', value: '1' }] };
    outbox.post(CHANNEL, gate, parent.ts); // 429: waits out Retry-After; the lines below queue behind it
    const lines = ['a', 'b', 'c'].map((x) => outbox.post(CHANNEL, { text: `⏳ ${x}` }, parent.ts, { linger: true }));
    outbox.post(CHANNEL, { text: 'report', body: '*report*' }, parent.ts);
    const tail = outbox.post(CHANNEL, { text: '⏳ d' }, parent.ts, { linger: true });
    await slack!.waitFor(() => port.rateLimited());
    lines.forEach((l, i) => outbox.update(l, { text: `✅ ${['a', 'b', 'c'][i]}` }));
    outbox.update(tail, { text: '✅ d' });
    outbox.update(parent, { text: 'job 1 · upgrade · succeeded' }, { afterPosts: true });
    await outbox.flush();
    const thread = slack!.thread(CHANNEL, parent.ts);
    expect(thread.map((m) => m.text)).toEqual(['✅ one', 'approve?', '✅ a\n✅ b\n✅ c', 'report', '✅ d']);
    expect(thread[1]?.buttons.map((b) => b.label)).toEqual(['Approve']);
    expect(lines.map((l) => l.index)).toEqual([0, 1, 2]);
    expect(slack!.messages().find((m) => m.ts === parent.ts)?.text).toBe('job 1 · upgrade · succeeded');
  });

  it("a step's lingering line goes out once, with its newest content, when it changes or another post follows it", async () => {
    const { outbox, parent } = await setUp();
    const short = outbox.post(CHANNEL, { text: '⏳ short' }, parent.ts, { linger: true });
    outbox.update(short, { text: '✅ short' }); // the step ended before its line went out
    const long = outbox.post(CHANNEL, { text: '⏳ long' }, parent.ts, { linger: true });
    const note = outbox.post(CHANNEL, { text: 'a note', body: '*a note*' }, parent.ts); // ends long's wait: it may not be overtaken
    await note.posted();
    outbox.update(long, { text: '✅ long' });
    await outbox.flush();
    expect(slack!.thread(CHANNEL, parent.ts).map((m) => m.text)).toEqual(['✅ short', '✅ long', 'a note']);
    expect(slack!.callsOf('chat.postMessage').slice(1).map((c) => c.args.text)).toEqual(['✅ short', '⏳ long', 'a note']);
    expect(slack!.callsOf('chat.update').map((c) => c.args.text)).toEqual(['✅ long']);
    // A line that never changes still goes out (after its wait).
    const alone = outbox.post(CHANNEL, { text: '⏳ alone' }, parent.ts, { linger: true });
    expect(await alone.posted()).toBeDefined();
  });

  it('never throws into the job: a lost post drops its updates, the next ones still go out', async () => {
    const { outbox, parent } = await setUp();
    slack!.failNext('chat.postMessage', 'channel_not_found');
    const lost = outbox.post(CHANNEL, { text: '⏳ lost' }, parent.ts);
    outbox.update(lost, { text: '✅ lost' });
    const kept = outbox.post(CHANNEL, { text: '⏳ kept' }, parent.ts);
    outbox.update(kept, { text: '✅ kept' });
    await outbox.flush();
    expect(await lost.posted()).toBeUndefined();
    expect(slack!.thread(CHANNEL, parent.ts).map((m) => m.text)).toEqual(['✅ kept']);
  });
});
