/**
 * remove-node through Slack against the simulator: the graceful path (drain, leave, NotReady,
 * remove-node on another control-plane node), a worker, the quorum guard in the approval's first
 * line, an unreachable node (--force with a destructive approval), --i-understand-quorum-loss,
 * and refusals before anything runs.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { simMembership } from '../../src/sim/index.ts';
import { controlPlanes, words, workers } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const CHANNEL = '1.24/stable';

describe('remove-node through Slack (k8s-1..k8s-4 control plane: 3 voters + a stand-by; w1 worker)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        {
          name: 'prod',
          channel: 'C0PROD00001',
          nodes: [...controlPlanes(4, { channel: CHANNEL }), ...workers(1, { channel: CHANNEL })],
        },
        { name: 'solo', channel: 'C0SOLO00001', nodes: [{ name: 's-1', channel: CHANNEL }, { name: 's-w1', role: 'worker', channel: CHANNEL }] },
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
  const roles = () => Object.fromEntries(h.sim.state.nodeList().map((n) => [n.name, n.dqliteRole]));
  /** The approval message's first line (its plain text, then the first line of its body). */
  const gateFirstLine = (id: string, ts: string) => {
    const msg = h.thread(id).find((x) => x.ts === ts)!;
    // blocks: the text line, then the body's sections
    const body = msg.blocks.map((b) => (b as { text?: { text?: unknown } }).text?.text).filter((t): t is string => typeof t === 'string')[1] ?? '';
    return { text: msg.text, body: body.split('\n')[0] ?? '' };
  };

  it('removes a worker: drain, leave on it, NotReady, remove-node on a control-plane node', async () => {
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'remove-node w1');
    const id = jobId!;
    const approve = await h.waitButton(id, 'Approve');
    expect(gateFirstLine(id, approve.messageTs).text).toBe(`job ${id}: approval needed — Remove w1 from the cluster (worker)`);
    await h.click(bob, approve);
    await h.waitState(id, 'succeeded', 30_000);
    expect(h.sim.state.nodes.has('w1')).toBe(false);
    expect(m().isStandalone('w1')).toBe(true);
    const log = since(from);
    const order = ['microk8s kubectl drain w1', 'microk8s leave', 'microk8s remove-node w1'].map((p) => log.findIndex((c) => words(c).startsWith(p)));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual(order.toSorted((a, b) => a - b));
    expect(log.find((c) => words(c) === 'microk8s leave')?.node).toBe('w1');
    const remove = log.find((c) => words(c).startsWith('microk8s remove-node'))!;
    expect(['k8s-1', 'k8s-2', 'k8s-3', 'k8s-4']).toContain(remove.node);
    expect(words(remove)).toBe('microk8s remove-node w1');
    expect(thread(id)).toMatch(/✅ check w1 is gone and report the HA state — high-availability yes · voters k8s-1, k8s-2, k8s-3 · standby k8s-4/);
  });

  it('removes a voter: the commands run on another Ready control-plane node and the stand-by is promoted', async () => {
    // k8s-2 is NotReady: the bot must not pick it to run the cluster commands
    h.sim.state.node('k8s-2').ready = false;
    const from = h.sim.commandLog.length;
    try {
      const { jobId } = await h.command(alice, 'remove-node k8s-1');
      const id = jobId!;
      const approve = await h.waitButton(id, 'Approve');
      // 4 control-plane nodes: k8s-4 takes k8s-1's seat, HA stays yes — no warning
      expect(gateFirstLine(id, approve.messageTs).body).toBe('*Remove k8s-1 from the cluster*');
      await h.click(bob, approve);
      await h.waitState(id, 'succeeded', 30_000);
    } finally {
      h.sim.state.node('k8s-2').ready = true;
    }
    const log = since(from);
    const cluster = log.filter((c) => /^microk8s (remove-node|kubectl drain)/.test(words(c)));
    expect(cluster.length).toBe(2);
    expect(cluster.every((c) => c.node === 'k8s-3' || c.node === 'k8s-4')).toBe(true);
    expect(log.some((c) => c.node === 'k8s-2' && /^microk8s (remove-node|kubectl drain|add-node)/.test(words(c)))).toBe(false);
    expect(roles()).toEqual({ 'k8s-2': 'voter', 'k8s-3': 'voter', 'k8s-4': 'voter' });
    expect(h.sim.state.nodes.has('k8s-1')).toBe(false);
  });

  it('--dry-run shows the plan and runs nothing', async () => {
    const from = h.sim.commandLog.length;
    const r = await h.command(alice, 'remove-node k8s-4 --dry-run');
    expect(r.jobId).toBeUndefined();
    expect(r.full).toContain('microk8s remove-node k8s-4');
    expect(r.full).toContain('microk8s leave');
    expect(h.sim.commandLog.length).toBe(from);
  });

  it('the quorum guard: HA going from yes to no is the first line of the approval; rejecting changes nothing', async () => {
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'remove-node k8s-4');
    const id = jobId!;
    const approve = await h.waitButton(id, 'Approve');
    const first = gateFirstLine(id, approve.messageTs);
    expect(first.text).toBe(`job ${id}: approval needed — ⚠️ HA LOST: high-availability goes from yes to no (3 → 2 voters) — Remove k8s-4 from the cluster`);
    expect(first.body).toMatch(/^\*⚠️ HA LOST: high-availability goes from yes to no \(3 → 2 voters\)/);
    await h.click(bob, h.gateButton(id, 'Reject'));
    await h.waitState(id, 'rejected');
    expect(since(from).map(words).some((c) => /drain|leave|remove-node/.test(c))).toBe(false);
    expect(m().isMember('k8s-4')).toBe(true);
  });

  it('an unreachable node: the bot stops and offers --force; then a destructive approval of remove-node --force', async () => {
    await h.sim.setDown('k8s-3', true);
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'remove-node k8s-3');
    const id = jobId!;
    const force = await h.waitButton(id, 'Remove with --force', 30_000);
    expect(thread(id)).toContain('k8s-3 cannot be reached: remove it with --force?');
    expect(since(from).some((c) => /remove-node/.test(words(c)))).toBe(false);
    await h.click(alice, force);
    const approve = await h.waitButton(id, 'Approve', 30_000);
    const first = gateFirstLine(id, approve.messageTs);
    expect(first.text).toBe(`job ${id}: approval needed — ⚠️ HA LOST: high-availability goes from yes to no (3 → 2 voters) — remove-node k8s-3 --force`);
    expect(first.body).toMatch(/^\*⚠️ Destructive: ⚠️ HA LOST/);
    expect(approve.confirm).toBeDefined(); // Slack asks "are you sure" on a destructive gate
    await h.click(bob, approve);
    await h.waitState(id, 'succeeded', 30_000);
    const log = since(from);
    const remove = log.find((c) => words(c).startsWith('microk8s remove-node'))!;
    expect(words(remove)).toBe('microk8s remove-node k8s-3 --force');
    expect(['k8s-2', 'k8s-4']).toContain(remove.node);
    expect(log.some((c) => words(c) === 'microk8s leave')).toBe(false);
    expect(h.sim.state.nodes.has('k8s-3')).toBe(false);
    expect(roles()).toEqual({ 'k8s-2': 'voter', 'k8s-4': 'voter' });
  });

  it('refuses to leave fewer than two voters unless --i-understand-quorum-loss (which is still approved)', async () => {
    const from = h.sim.commandLog.length;
    const refused = await h.command(alice, 'remove-node k8s-4');
    expect(refused.jobId).toBeUndefined();
    expect(refused.text).toContain('--i-understand-quorum-loss');
    expect(since(from).some((c) => c.node === 'k8s-4')).toBe(false);

    const { jobId } = await h.command(alice, 'remove-node k8s-4 --i-understand-quorum-loss');
    const id = jobId!;
    const approve = await h.waitButton(id, 'Approve');
    expect(gateFirstLine(id, approve.messageTs).text).toBe(
      `job ${id}: approval needed — ⚠️ ONE VOTER LEFT: removing k8s-4 leaves 1 datastore voter(s); losing that node loses the cluster — Remove k8s-4 from the cluster`,
    );
    await h.click(bob, approve);
    await h.waitState(id, 'succeeded', 30_000);
    expect(roles()).toEqual({ 'k8s-2': 'voter' });
  });

  it('refuses before any SSH to remove the last control-plane node', async () => {
    const from = h.sim.commandLog.length;
    const solo = h.sims.get('solo')!;
    const soloFrom = solo.commandLog.length;
    const r = await h.command(alice, 'remove-node s-1 --cluster solo');
    expect(r.jobId).toBeUndefined();
    expect(r.text).toContain('s-1 is the last control-plane node of solo');
    expect(solo.commandLog.length).toBe(soloFrom);
    // prod: k8s-2 is the only member left; nothing else answers for the cluster
    const last = await h.command(alice, 'remove-node k8s-2');
    expect(last.jobId).toBeUndefined();
    expect(last.text).toContain('No other Ready control-plane node of prod answers kubectl');
    expect(since(from).some((c) => c.node === 'k8s-2')).toBe(false);
    expect(m().isMember('k8s-2')).toBe(true);
  });

  it('never asks a worker to run add-node or remove-node', () => {
    const all = [...h.sim.commandLog, ...h.sims.get('solo')!.commandLog];
    expect(all.filter((c) => (c.node === 'w1' || c.node === 's-w1') && /^microk8s (add-node|remove-node)/.test(words(c)))).toEqual([]);
  });
});
