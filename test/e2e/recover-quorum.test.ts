/**
 * recover-quorum through Slack against the simulator: lost quorum on a 3-voter cluster (one
 * survivor) and on a 5-node control plane (3 survivors, HA again), the refusals (quorum intact,
 * a lost node still answering on :19001), the two-approver destructive gate, and --dry-run.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { datastoreOf } from '../../src/sim/dqlite.ts';
import type { SimCluster } from '../../src/sim/index.ts';
import { controlPlanes, words } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob, carol } = USERS;
const MUTATING = /^(microk8s (stop|start|remove-node|leave|join)|rm |cp |mv |tar -x|\/snap\/microk8s\/current\/bin\/dqlite)/;

export const text = (h: Harness, id: string) => h.thread(id).map((m) => `${m.text}\n${JSON.stringify(m.blocks)}`).join('\n');

/** Plan gate (bob), then the destructive gate: bob's approval is 1 of 2, carol's opens it. */
export async function approveBoth(h: Harness, id: string): Promise<void> {
  await h.waitState(id, 'awaiting approval', 30_000);
  expect(await h.click(bob, await h.waitButton(id, 'Approve'))).toBe(200);
  const destructive = await destructiveButton(h, id);
  expect(await h.click(bob, destructive)).toBe(200);
  await h.slack.waitFor(() => h.thread(id).find((m) => m.ts === destructive.messageTs && m.text.includes('(1 of 2 approvals)')), 10_000);
  expect(await h.click(carol, destructive)).toBe(200);
}

/** The destructive gate's Approve button, once it is posted. */
export function destructiveButton(h: Harness, id: string) {
  return h.slack.waitFor(() => {
    const msg = h.thread(id).find((m) => m.text.includes('Stop every survivor') && m.buttons.some((b) => b.label === 'Approve'));
    const b = msg?.buttons.find((x) => x.label === 'Approve');
    return b && msg ? { ...b, messageTs: msg.ts } : undefined;
  }, 30_000);
}

/** Takes `lost` down for good (SSH and dqlite). */
async function lose(sim: SimCluster, lost: readonly string[]): Promise<void> {
  for (const n of lost) await sim.setDown(n, true);
}

describe('recover-quorum: 3 voters, 2 lost → a single-node cluster', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clusters: [{ name: 'prod', channel: 'C0PROD00001', nodes: controlPlanes(3, { channel: '1.28/stable' }) }] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('backs up and stops k8s-1, reconfigures it alone, starts it, removes k8s-2 and k8s-3', { timeout: 120_000 }, async () => {
    await lose(h.sim, ['k8s-2', 'k8s-3']);
    // lost quorum as a person sees it: kubectl times out
    expect(h.sim.state.hasQuorum()).toBe(false);
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'recover-quorum');
    const id = jobId!;
    await approveBoth(h, id);
    await h.waitState(id, 'succeeded', 60_000).catch((e: unknown) => { throw new Error(`${String(e)}\n${text(h, id).slice(0, 6000)}`); });
    const log = h.sim.commandLog.slice(from);
    const reconf = log.filter((c) => c.argv[0] === '/snap/microk8s/current/bin/dqlite');
    expect(reconf.map((c) => c.node)).toEqual(['k8s-1']);
    expect(reconf[0]!.argv.at(-1)).toBe('.reconfigure /var/snap/microk8s/current/var/kubernetes/backend/ /var/snap/microk8s/current/var/kubernetes/backend/cluster.yaml');
    expect(log.some((c) => words(c) === 'microk8s leave')).toBe(false);
    // the order of the seed: backup, stop, reconfigure, start, remove-node
    const at = (p: RegExp) => log.findIndex((c) => p.test(words(c)));
    const order = [/^tar -czf .* backend$/, /^microk8s stop$/, /dqlite/, /^microk8s start$/, /^microk8s remove-node k8s-2/].map(at);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual(order.toSorted((a, b) => a - b));
    const s = h.sim.state;
    expect(s.node('k8s-1').dqliteRole).toBe('voter');
    expect(s.hasQuorum()).toBe(true);
    expect(s.nodes.has('k8s-2')).toBe(false);
    expect(s.nodes.has('k8s-3')).toBe(false);
    expect(datastoreOf(s).reconfigures).toHaveLength(1);
    const t = text(h, id);
    expect(t).toMatch(/high-availability no · voters k8s-1/);
    expect(t).toMatch(/add-node <node>/);
    expect(t).toMatch(/\.tar\.gz/);
  });
});

export { lose, MUTATING };
