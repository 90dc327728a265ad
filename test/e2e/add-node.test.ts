/**
 * add-node through Slack against the simulator: a control-plane join that makes the cluster
 * HA, a worker join, refusals before anything runs, a preflight failure, a failed join with
 * its first real error and a retry with a new token — and the join tokens never leave the
 * step that used them (logs, thread, Slack calls, Redis).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { simMembership } from '../../src/sim/index.ts';
import { dumpRedis } from '../support/redis-dump.ts';
import { approveGate, words } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const CHANNEL = '1.24/stable';

describe('add-node through Slack (k8s-1, k8s-2 in the cluster; k8s-3, k8s-4, w1, k8s-5 outside)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        {
          name: 'prod',
          channel: 'C0PROD00001',
          nodes: [
            { name: 'k8s-1', channel: CHANNEL },
            { name: 'k8s-2', channel: CHANNEL },
            { name: 'k8s-3', channel: CHANNEL, joined: false },
            { name: 'k8s-4', channel: CHANNEL, joined: false },
            { name: 'w1', role: 'worker', channel: CHANNEL, joined: false },
            { name: 'k8s-5', channel: '1.23/stable', joined: false },
            { name: 'x1', channel: CHANNEL, joined: false, otherCluster: 'control-plane' },
          ],
        },
        { name: 'duo', channel: 'C0DUO000001', nodes: [{ name: 'd-1' }, { name: 'd-2', joined: false }, { name: 'd-3', joined: false }] },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => h.sim.clearFaults());

  const m = () => simMembership(h.sim.state);
  const thread = (id: string) => h.thread(id).map((x) => x.text).join('\n');
  const since = (from: number) => h.sim.commandLog.slice(from);

  it('joins a control-plane node after an approval: high-availability goes yes at 3 voters', async () => {
    expect(h.sim.state.voters().length).toBe(2);
    const from = h.sim.commandLog.length;
    const { text, jobId } = await h.command(alice, 'add-node k8s-3');
    expect(text).toMatch(/^Queued as job \d+/);
    const id = jobId!;
    const approve = await h.waitButton(id, 'Approve');
    expect(h.thread(id).find((x) => x.ts === approve.messageTs)?.text).toContain('Add k8s-3 to prod');
    // before the approval: reads only, no token made
    expect(since(from).map(words).some((c) => /microk8s (add-node|join)/.test(c))).toBe(false);
    await h.click(bob, approve);
    await h.waitState(id, 'succeeded', 30_000);

    expect(m().isMember('k8s-3')).toBe(true);
    expect(h.sim.state.voters().map((n) => n.name).toSorted()).toEqual(['k8s-1', 'k8s-2', 'k8s-3']);
    const t = thread(id);
    expect(t).toMatch(/✅ report the new HA state — high-availability yes · voters k8s-1, k8s-2, k8s-3/);
    expect(t).toMatch(/✅ join k8s-3 — joined via 10\.0\.0\.1[12]:25000/);

    const log = since(from);
    const addNode = log.filter((c) => words(c).startsWith('microk8s add-node'));
    expect(addNode.length).toBe(1);
    // on a Ready control-plane member picked by the bot, with a short TTL; the join on the new node
    expect(['k8s-1', 'k8s-2']).toContain(addNode[0]!.node);
    expect(words(addNode[0]!)).toBe('microk8s add-node --token-ttl 300');
    const join = log.find((c) => words(c).startsWith('microk8s join'))!;
    expect(join.node).toBe('k8s-3');
    expect(join.sudo).toBe(true);
    expect(words(join)).toMatch(/^microk8s join 10\.0\.0\.1[12]:25000\/[0-9a-f]{32}\/[0-9a-f]{12}$/); // no --controlplane, no --worker
    // the preflight checks ran on the new node
    const onNew = log.filter((c) => c.node === 'k8s-3').map(words);
    expect(onNew).toEqual(expect.arrayContaining(['snap list microk8s', 'hostname', 'date +%s', 'getent hosts k8s-1', 'getent hosts k8s-2']));
    expect(onNew.some((c) => /^nc -z -v -w 5 10\.0\.0\.1[12] 25000$/.test(c))).toBe(true);
    expect(log.some((c) => c.node === addNode[0]!.node && words(c) === 'getent hosts k8s-3')).toBe(true);
  });

  it('joins a worker with --worker; high-availability stays yes', async () => {
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'add-node w1 --worker');
    const id = jobId!;
    await approveGate(h, id);
    expect(h.sim.state.node('w1').role).toBe('worker');
    expect(m().isMember('w1')).toBe(true);
    expect(thread(id)).toMatch(/high-availability yes · voters k8s-1, k8s-2, k8s-3/);
    const join = since(from).find((c) => words(c).startsWith('microk8s join'))!;
    expect(join.node).toBe('w1');
    expect(words(join)).toMatch(/ --worker$/);
  });

  it('refuses before any SSH: an unknown node, a role that does not match the inventory', async () => {
    const from = h.sim.commandLog.length;
    const unknown = await h.command(alice, 'add-node k8s-9');
    expect(unknown.jobId).toBeUndefined();
    expect(unknown.text).toContain("unknown node 'k8s-9' in cluster prod");
    const asWorker = await h.command(alice, 'add-node k8s-4 --worker');
    expect(asWorker.text).toContain('k8s-4 is a control-plane node in the inventory');
    expect(h.sim.commandLog.length).toBe(from);
  });

  it('refuses a node already in the cluster after one kubectl read, and one on another channel, before queuing', async () => {
    const from = h.sim.commandLog.length;
    const again = await h.command(alice, 'add-node k8s-3');
    expect(again.jobId).toBeUndefined();
    expect(again.text).toMatch(/^k8s-3 is already in cluster prod \(kubectl on k8s-[12] lists it Ready, control plane\)/);
    const reads = since(from);
    expect(reads.map(words)).toEqual(['microk8s kubectl get nodes -o json']);
    expect(reads.some((c) => c.node === 'k8s-3')).toBe(false);

    const other = await h.command(alice, 'add-node k8s-5');
    expect(other.jobId).toBeUndefined();
    expect(other.text).toContain('k8s-5 tracks 1.23/stable but the cluster tracks 1.24/stable');
    expect(since(from).map(words).every((c) => c === 'microk8s kubectl get nodes -o json' || c === 'snap list microk8s')).toBe(true);
  });

  it('--dry-run shows the plan and runs nothing', async () => {
    const from = h.sim.commandLog.length;
    const r = await h.command(alice, 'add-node k8s-4 --dry-run');
    expect(r.jobId).toBeUndefined();
    expect(r.full).toContain('microk8s add-node --token-ttl 300');
    expect(r.full).toContain('microk8s join');
    expect(h.sim.commandLog.length).toBe(from);
  });

  it('stops at the preflight when the clocks disagree or the host is in another cluster: nothing joined', async () => {
    h.sim.setClockSkew('k8s-4', 120);
    try {
      const { jobId } = await h.command(alice, 'add-node k8s-4');
      await h.waitState(jobId!, 'failed', 30_000);
      expect(thread(jobId!)).toContain('Clocks are out of sync');
    } finally {
      h.sim.setClockSkew('k8s-4', 0);
    }
    const { jobId } = await h.command(alice, 'add-node x1');
    await h.waitState(jobId!, 'failed', 30_000);
    expect(thread(jobId!)).toContain('x1 is already part of another cluster: its datastore lists');
    expect(m().joins().some((j) => j.node === 'k8s-4' || j.node === 'x1')).toBe(false);
    expect(m().isStandalone('k8s-4')).toBe(true);
  });

  it('a failed join shows its first real error; "Retry with a new token" runs add-node again', async () => {
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'add-node k8s-4');
    const id = jobId!;
    const approve = await h.waitButton(id, 'Approve');
    // while the plan waits, the cluster's nodes stop resolving k8s-4 (a DNS change)
    for (const n of ['k8s-1', 'k8s-2', 'k8s-3']) m().setResolvable(n, 'k8s-4', false);
    await h.click(bob, approve);
    const retry = await h.waitButton(id, 'Retry with a new token', 30_000);
    const t = thread(id);
    expect(t).toMatch(/❌ join k8s-4 — k8s-4 did not join via 10\.0\.0\.1[123]:25000 \(exit code 6\): Connection failed\. The hostname \(k8s-4\) of the joining node does not resolve to the IP "10\.0\.0\.14"\. Refusing join \(400\)\./);
    expect(t).not.toContain('Invalid token');
    for (const n of ['k8s-1', 'k8s-2', 'k8s-3']) m().setResolvable(n, 'k8s-4', true);
    await h.click(alice, retry);
    await h.waitState(id, 'succeeded', 30_000);
    expect(thread(id)).toContain('✅ join k8s-4 (attempt 2, new token) — joined via');

    const attempts = m().joins().filter((j) => j.node === 'k8s-4');
    expect(attempts.length).toBe(2);
    expect(attempts[0]!.outcome).toContain('does not resolve');
    expect(attempts[1]!.outcome).toBe('joined');
    expect(attempts[1]!.token).not.toBe(attempts[0]!.token);
    // each attempt used a token add-node had just made, on the node it contacted
    const made = m().tokens().filter((tk) => attempts.some((a) => a.token === tk.token));
    expect(made.length).toBe(2);
    expect(since(from).filter((c) => words(c).startsWith('microk8s add-node')).length).toBe(2);
    expect(h.sim.state.voters().length).toBe(3);
    expect(h.sim.state.node('k8s-4').dqliteRole).toBe('standby');
  });

  it('makes a cluster of two from a single node (1.22: the add-node format without --worker)', async () => {
    const duo = h.sims.get('duo')!;
    const { jobId } = await h.command(alice, 'add-node d-2 --cluster duo', 'C0DUO000001');
    const id = jobId!;
    await approveGate(h, id);
    expect(simMembership(duo.state).isMember('d-2')).toBe(true);
    expect(thread(id)).toMatch(/high-availability no · voters d-1, d-2/);
    const add = duo.commandLog.find((c) => words(c).startsWith('microk8s add-node'))!;
    expect(add.node).toBe('d-1');
  });

  it('keeps the token masked when add-node fails printing one and when the join connection drops', async () => {
    const duo = h.sims.get('duo')!;
    // A token in a format our parse does not take (too short), printed by a failing add-node.
    const printed = 'f00dfeedf00dfeedf00d';
    duo.inject({ node: 'd-1', match: 'microk8s add-node', kind: 'fail', exitCode: 1, times: 1, stdout: `From the node you wish to join to this cluster, run the following:\nmicrok8s join 10.0.0.9:25000/${printed}/0123456789ab\n`, stderr: 'Failed to write the token file\n' });
    const { jobId } = await h.command(alice, 'add-node d-3 --cluster duo', 'C0DUO000001');
    const id = jobId!;
    await h.click(bob, await h.waitButton(id, 'Approve'));
    const retry = await h.waitButton(id, 'Retry with a new token', 30_000);
    // The second attempt gets a real token, and the connection drops during the join.
    duo.inject({ node: 'd-3', match: 'microk8s join', kind: 'drop', times: 1 });
    await h.click(alice, retry);
    await h.slack.waitFor(() => h.thread(id).find((x) => x.text.startsWith('❌ join d-3 (attempt 2')), 30_000);
    const again = await h.slack.waitFor(() => {
      const msg = h.thread(id).find((x) => x.ts !== retry.messageTs && x.buttons.some((bt) => bt.label === 'Retry with a new token'));
      return msg ? { ...msg.buttons.find((bt) => bt.label === 'Retry with a new token')!, messageTs: msg.ts, channel: msg.channel } : undefined;
    }, 30_000);
    const t = thread(id);
    expect(t).toContain('`microk8s add-node --token-ttl 300` failed on d-1 (exit code 1):\nFailed to write the token file');
    expect(t).toMatch(/join d-3 \(attempt 2, new token\) — .*microk8s join 10\.0\.0\.\d+:25000\/\*\*\*\//);
    await h.click(alice, again);
    await h.waitState(id, 'succeeded', 30_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${JSON.stringify(h.ephemeralsFor(alice).slice(-3))}\n${thread(id)}`);
    });
    expect(simMembership(duo.state).isMember('d-3')).toBe(true);

    const tokens = [printed, ...simMembership(duo.state).tokens().map((x) => x.token)];
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    const slackSide = JSON.stringify({ calls: h.slack.calls.map((c) => ({ method: c.method, args: c.args })), ephemerals: h.slack.ephemerals() });
    const redis = await dumpRedis(h.redis.url);
    for (const token of tokens) {
      expect(h.logs(), token).not.toContain(token);
      expect(slackSide, token).not.toContain(token);
      expect(redis.text, token).not.toContain(token);
    }
  });

  it('never asks a worker to run add-node or remove-node', () => {
    const workers = new Set(['w1']);
    const offending = h.sim.commandLog.filter((c) => workers.has(c.node) && /^microk8s (add-node|remove-node)/.test(words(c)));
    expect(offending).toEqual([]);
  });

  it('the join tokens never reach the logs, the thread, the Slack calls or Redis (job data, audit)', async () => {
    const tokens = m().tokens().map((t) => t.token);
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    const logs = h.logs();
    const slackSide = JSON.stringify({ calls: h.slack.calls.map((c) => ({ method: c.method, args: c.args })), messages: h.slack.messages(), ephemerals: h.slack.ephemerals(), responses: h.slack.responses });
    const redis = await dumpRedis(h.redis.url);
    expect(redis.text).toContain('add-node k8s-4');
    expect(redis.text).toMatch(/microk8s join 10\.0\.0\.\d+:25000\/\*\*\*\//);
    for (const token of tokens) {
      expect(logs).not.toContain(token);
      expect(slackSide).not.toContain(token);
      expect(redis.text).not.toContain(token);
    }
  });
});
