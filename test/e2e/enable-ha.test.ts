/**
 * enable-ha through Slack on an old-style cluster (no ha-cluster: k8s-1 holds the datastore,
 * k8s-2 and k8s-3 joined the pre-1.19 way): ha-cluster on the main node, then each other node
 * drained, left, given ha-cluster and joined again, one at a time, each with its own approval.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simMembership } from '../../src/sim/index.ts';
import { approveGate, words } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;

describe('enable-ha through Slack on an old-style 3-node cluster', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clusters: [{ name: 'legacy', channel: 'C0LEGACY001', haCluster: false }] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const thread = (id: string) => h.thread(id).map((x) => x.text).join('\n');

  it('--dry-run shows the plan and runs nothing', async () => {
    const from = h.sim.commandLog.length;
    const r = await h.command(alice, 'enable-ha --dry-run');
    expect(r.jobId).toBeUndefined();
    expect(r.full).toContain('microk8s enable ha-cluster');
    expect(r.full).toContain('microk8s leave');
    expect(h.sim.commandLog.length).toBe(from);
  });

  it('enables ha-cluster on the main node, then cycles k8s-2 and k8s-3 with an approval each', async () => {
    expect(h.sim.state.addons.has('ha-cluster')).toBe(false);
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'enable-ha');
    const id = jobId!;
    await h.click(bob, await h.waitButton(id, 'Approve'));
    // one approval per node, and nothing happens to a node before its own approval
    for (const node of ['k8s-2', 'k8s-3']) {
      const approve = await h.slack.waitFor(() => {
        try {
          const b = h.gateButton(id, 'Approve');
          return h.thread(id).find((x) => x.ts === b.messageTs)?.text.includes(`Cycle ${node} into the HA cluster`) ? b : undefined;
        } catch {
          return undefined;
        }
      }, 30_000);
      expect(h.sim.commandLog.slice(from).some((c) => c.node === node && words(c) === 'microk8s leave')).toBe(false);
      await h.click(bob, approve);
    }
    await h.waitState(id, 'succeeded', 60_000);

    expect(h.sim.state.addons.has('ha-cluster')).toBe(true);
    expect(Object.fromEntries(h.sim.state.nodeList().map((n) => [n.name, [n.role, n.dqliteRole]]))).toEqual({
      'k8s-1': ['control-plane', 'voter'],
      'k8s-2': ['control-plane', 'voter'],
      'k8s-3': ['control-plane', 'voter'],
    });
    expect(h.sim.state.nodeList().every((n) => !n.cordoned && h.sim.state.isReady(n))).toBe(true);
    expect(thread(id)).toMatch(/✅ report the HA state — high-availability yes · voters k8s-1, k8s-2, k8s-3/);

    const log = h.sim.commandLog.slice(from);
    const on = (node: string, cmd: string) => log.findIndex((c) => c.node === node && words(c).startsWith(cmd));
    expect(on('k8s-1', 'microk8s enable ha-cluster')).toBeGreaterThanOrEqual(0);
    // k8s-2 is done (joined, Ready, uncordoned) before k8s-3 is drained
    expect(on('k8s-1', 'microk8s kubectl uncordon k8s-2')).toBeLessThan(on('k8s-1', 'microk8s kubectl drain k8s-3'));
    for (const node of ['k8s-2', 'k8s-3']) {
      const steps = [on('k8s-1', `microk8s kubectl drain ${node}`), on(node, 'microk8s leave'), on(node, 'microk8s enable ha-cluster'), on(node, 'microk8s join'), on('k8s-1', `microk8s kubectl uncordon ${node}`)];
      expect(steps.every((i) => i >= 0)).toBe(true);
      expect(steps).toEqual(steps.toSorted((a, b) => a - b));
    }
    // add-node only ever ran on the main node, a fresh token for each join
    const addNode = log.filter((c) => words(c).startsWith('microk8s add-node'));
    expect(addNode.map((c) => c.node)).toEqual(['k8s-1', 'k8s-1']);
    const joins = simMembership(h.sim.state).joins();
    expect(joins.map((j) => [j.node, j.outcome])).toEqual([['k8s-2', 'joined'], ['k8s-3', 'joined']]);
    expect(joins[0]!.token).not.toBe(joins[1]!.token);
  });

  it('on a cluster that is already HA there is nothing to cycle', async () => {
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'enable-ha');
    const id = jobId!;
    await approveGate(h, id);
    expect(thread(id)).toContain('already in HA: k8s-2, k8s-3');
    expect(thread(id)).toContain('✅ enable ha-cluster on the main node — already enabled');
    expect(h.sim.commandLog.slice(from).some((c) => /^microk8s (enable|leave|join|add-node)/.test(words(c)))).toBe(false);
  });
});
