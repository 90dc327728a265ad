/**
 * The process's warm SSH pool: `status`, the upgrade's precheck and the job's steps all use
 * one connection per node, kept open between them; and an ack that would wait on SSH past
 * its budget says "checking…" and the verdict follows on the command's response_url.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../src/sim/index.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;

const handshakes = (sim: SimCluster) => Object.fromEntries(sim.connectionsAccepted());

describe('warm SSH: one connection per node, shared by status, prechecks and jobs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const status = async () => {
    const before = h.slack.responses.length;
    await h.command(alice, 'status');
    await h.slack.waitFor(() => h.slack.responses.slice(before).find((r) => String(r.body.text).startsWith('status of prod')));
  };

  const upgrade = async (node: string) => {
    const { jobId, text } = await h.command(alice, `upgrade ${node} 1.23/stable`);
    expect(jobId, text).toBeDefined();
    await h.click(bob, await h.waitButton(jobId!, 'Approve'));
    await h.waitState(jobId!, 'succeeded', 30_000);
  };

  it('opens each node once for two status reads and two upgrades (prechecks included)', async () => {
    expect(handshakes(h.sim)).toEqual({ 'k8s-1': 0, 'k8s-2': 0, 'k8s-3': 0 });
    await status();
    await status();
    await upgrade('k8s-1');
    await upgrade('k8s-2');
    await status();
    expect(handshakes(h.sim)).toEqual({ 'k8s-1': 1, 'k8s-2': 1, 'k8s-3': 1 });
  });

  it('reads `addons` and `upgrade-cni --dry-run` over the same connections', async () => {
    const read = async (text: string, answer: string) => {
      const before = h.slack.responses.length;
      await h.command(alice, text);
      return h.slack.waitFor(() => h.slack.responses.slice(before).find((r) => String(r.body.text).startsWith(answer)), 30_000);
    };
    await read('addons', 'add-ons and CNI of prod');
    await read('upgrade-cni --dry-run', 'Dry run of upgrade-cni on prod');
    expect(handshakes(h.sim)).toEqual({ 'k8s-1': 1, 'k8s-2': 1, 'k8s-3': 1 });
  });

  it('reconnects after the node dropped the connection', async () => {
    await h.sim.setDown('k8s-3', true);
    await h.sim.setDown('k8s-3', false);
    await status();
    expect(handshakes(h.sim)['k8s-3']).toBe(2);
  });
});

describe('an ack that would wait on SSH: "checking…", then the verdict on response_url', () => {
  let h: Harness;
  beforeAll(async () => {
    // 0 ms: the ack never waits for the precheck, so every precheck verdict follows up.
    h = await startHarness({ precheckAckMs: 0 });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const followUp = (after: number) => h.slack.waitFor(() => h.slack.responses.slice(after).find((r) => typeof r.body.text === 'string'));

  it('queues the job in the follow-up when the precheck passes', async () => {
    const before = h.slack.responses.length;
    const ack = await h.command(alice, 'upgrade k8s-1 1.23/stable');
    expect(ack.status).toBe(200);
    expect(ack.text).toBe('Checking prod before queuing `upgrade k8s-1 1.23/stable`… the answer follows here.');
    expect(ack.jobId).toBeUndefined();
    const answer = String((await followUp(before)).body.text);
    const jobId = /^Queued as job (\d+)/.exec(answer)?.[1];
    expect(jobId, answer).toBeDefined();
    await h.click(bob, await h.waitButton(jobId!, 'Approve'));
    await h.waitState(jobId!, 'succeeded', 30_000);
  });

  it('refuses in the follow-up, and queues nothing, when the precheck finds a problem', async () => {
    await h.sim.setDown('k8s-2', true);
    try {
      const before = h.slack.responses.length;
      const commands = h.sim.commandLog.length;
      const ack = await h.command(alice, 'upgrade k8s-2 1.23/stable');
      // a refused connection may come back inside the ack's budget (then the ack is the verdict) or after it ("Checking…", verdict follows)
      const answer = ack.text.includes('Checking prod') ? String((await followUp(before)).body.text) : ack.text;
      expect(answer).toContain('Nothing was queued');
      expect(answer).toContain('k8s-2');
      expect(await h.app.queue.holder('prod')).toBeUndefined();
      expect(h.sim.commandLog.slice(commands).filter((c) => c.node === 'k8s-2')).toEqual([]);
    } finally {
      await h.sim.setDown('k8s-2', false);
    }
  });
});

describe('a cluster not read yet: a burst does not wait for the handshakes, a lone command does', () => {
  let h: Harness;
  beforeAll(async () => {
    // A warm precheck may take its time here (a loaded CI machine); a cold one in a burst not at all.
    h = await startHarness({ precheckAckMs: 10_000, precheckColdAckMs: 0 });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const verdicts = async (acks: Awaited<ReturnType<Harness['command']>>[], before: number): Promise<string[]> => {
    const checking = acks.filter((a) => a.text.startsWith('Checking prod before queuing')).length;
    await h.slack.waitFor(() => (h.slack.responses.length - before >= checking ? true : undefined));
    const followUps = h.slack.responses.slice(before).map((r) => (typeof r.body.text === 'string' ? r.body.text : ''));
    return [...acks.map((a) => a.text).filter((t) => !t.startsWith('Checking prod')), ...followUps];
  };

  it('a burst of upgrades on a cold cluster: one queued, every other refused, in the ack or on response_url', async () => {
    const before = h.slack.responses.length;
    const acks = await Promise.all(Array.from({ length: 12 }, () => h.command(alice, 'upgrade k8s-1 1.23/stable')));
    expect(acks.every((a) => a.status === 200)).toBe(true);
    const answers = await verdicts(acks, before);
    expect(answers).toHaveLength(12);
    const queued = answers.filter((t) => t.startsWith('Queued as job'));
    expect(queued, answers.join('\n')).toHaveLength(1);
    expect(answers.filter((t) => t.includes('Nothing was queued') || / is busy: job /.test(t))).toHaveLength(11);
    const jobId = /^Queued as job (\d+)/.exec(queued[0]!)![1]!;
    await h.click(bob, await h.waitButton(jobId, 'Reject'));
    await h.waitState(jobId, 'rejected', 30_000);
  });

  it('a cold precheck whose ack says "checking…" starts only once the acks in flight are out', async () => {
    await h.stop();
    // No worker in this process: a job one of these queues does not read the nodes meanwhile.
    h = await startHarness({ role: 'bot', precheckAckMs: 10_000, precheckColdAckMs: 0 });
    // An HTTP request whose body never finishes: for the bot, a request still waiting for its ack
    // (ack-first.ts), so every follow-up waits (up to 1 s) while it is open.
    const held: Socket = connect(h.app.httpPort, '127.0.0.1');
    await new Promise<void>((resolve, reject) => held.once('connect', resolve).once('error', reject));
    held.write('POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntoken=');
    try {
      const snapReads = () => h.sim.commandLog.filter((c) => c.node === 'k8s-1' && c.argv.join(' ') === 'snap list microk8s').length;
      const acks = await Promise.all(Array.from({ length: 6 }, () => h.command(alice, 'upgrade k8s-1 1.23/stable')));
      const checking = acks.filter((a) => a.text.startsWith('Checking prod before queuing')).length;
      // A command answered while no other waited may still have checked in its ack; every other waits.
      expect(checking, acks.map((a) => a.text).join('\n')).toBeGreaterThanOrEqual(5);
      expect(snapReads()).toBeLessThanOrEqual(6 - checking);
      const before = h.slack.responses.length;
      held.destroy();
      await h.slack.waitFor(() => (h.slack.responses.length - before >= checking ? true : undefined));
      expect(snapReads()).toBeGreaterThanOrEqual(1);
    } finally {
      held.destroy();
    }
  });

  it('a lone command gets its verdict in the ack, cold or warm', async () => {
    await h.stop();
    h = await startHarness({ precheckAckMs: 10_000, precheckColdAckMs: 0 });
    expect(handshakes(h.sim)).toEqual({ 'k8s-1': 0, 'k8s-2': 0, 'k8s-3': 0 });
    const cold = await h.command(alice, 'upgrade k8s-2 1.23/stable');
    expect(cold.jobId, cold.text).toBeDefined();
  });
});
