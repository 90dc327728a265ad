/**
 * `upgrade-cluster` through Slack against simulated clusters of 3 control-plane nodes and
 * workers in failure domains: the order (control plane one at a time, then workers), batches
 * that never hold two voters or two nodes of one failure domain (checked on the simulator's
 * command timeline), the pause after the first node, skipped nodes, and a failure at the
 * second node answered with Retry, Stop or Roll back. (A worker killed mid-refresh:
 * upgrade-cluster-crash.test.ts.)
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimCluster, SimCommandRecord, SimNodeSpec } from '../../src/sim/index.ts';
import { addDisruptionBudget, removeDisruptionBudget } from '../../src/sim/disruption.ts';
import { failConfigureHook, setNotReadyAfterRefresh } from '../../src/sim/refresh-faults.ts';
import { workloadStore } from '../../src/sim/workloads.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const TO = '1.23/stable';

/** 3 control-plane nodes (voters) and 3 workers; w1 and w2 share failure domain 2. */
const NODES: SimNodeSpec[] = [
  { name: 'k8s-1', failureDomain: 1 },
  { name: 'k8s-2', failureDomain: 2 },
  { name: 'k8s-3', failureDomain: 3 },
  { name: 'w1', role: 'worker', failureDomain: 2 },
  { name: 'w2', role: 'worker', failureDomain: 2 },
  { name: 'w3', role: 'worker', failureDomain: 3 },
];
const DOMAIN: Record<string, number> = Object.fromEntries(NODES.map((n) => [n.name, n.failureDomain ?? 1]));
const CONTROL_PLANE = new Set(['k8s-1', 'k8s-2', 'k8s-3']);
const POLICY = { readyTimeout: '2s', drainTimeout: '5s' };

const CLUSTERS = [
  { name: 'roll', channel: 'C0ROLL00001' },
  { name: 'skip', channel: 'C0SKIP00001', nodes: NODES.map((n) => (n.name === 'k8s-3' || n.name === 'w2' ? { ...n, channel: TO } : n)) },
  { name: 'retry', channel: 'C0RETRY0001' },
  { name: 'stop', channel: 'C0STOP00001' },
  { name: 'back', channel: 'C0BACK00001' },
  { name: 'pdb', channel: 'C0PDB000001', nodes: NODES.slice(0, 3), policy: { ...POLICY, drainTimeout: '1s' } },
];

/** Commands since `from`, sudo prefix stripped, as `node: words`. */
function ran(sim: SimCluster, from = 0): SimCommandRecord[] {
  return sim.commandLog.slice(from);
}

function refreshes(sim: SimCluster, node: string, from = 0): SimCommandRecord[] {
  return ran(sim, from).filter((r) => r.node === node && r.argv[0] === 'snap' && r.argv[1] === 'refresh' && r.argv.some((a) => a.startsWith('--channel')));
}

/**
 * When each node was out of service: from the start of its drain to the end of its uncordon
 * (or to now, if it never came back), read from the simulator's command log.
 */
function downIntervals(sim: SimCluster, from: number): Map<string, { start: number; end: number }> {
  const out = new Map<string, { start: number; end: number }>();
  for (const r of ran(sim, from)) {
    const k = r.argv.indexOf('kubectl');
    if (k < 0) continue;
    const verb = r.argv[k + 1];
    const node = r.argv[k + 2] ?? '';
    if (verb === 'drain' && !out.has(node)) out.set(node, { start: r.startedAt, end: Number.POSITIVE_INFINITY });
    if (verb === 'uncordon' && out.has(node)) out.get(node)!.end = r.startedAt + r.durationMs;
  }
  return out;
}

function overlap(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start < b.end && b.start < a.end;
}

describe('upgrade-cluster through Slack', () => {
  let h: Harness;
  const sim = (name: string) => h.sims.get(name)!;
  const thread = (id: string) => h.thread(id).map((m) => m.text).join('\n');

  beforeAll(async () => {
    h = await startHarness({ clusters: CLUSTERS.map((c) => ({ nodes: NODES, policy: POLICY, ...c })) });
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => {
    for (const s of h.sims.values()) s.clearFaults();
  });

  /** Requests, approves the plan (bob), and returns the job id. */
  async function start(text: string, channel: string): Promise<string> {
    const res = await h.command(alice, text, channel);
    expect(res.jobId, res.text).toBeDefined();
    const id = res.jobId!;
    await h.waitState(id, 'awaiting approval');
    await h.click(bob, await h.waitButton(id, 'Approve'), undefined, channel);
    return id;
  }

  it('--dry-run shows the order and the commands, and runs nothing', async () => {
    const before = sim('roll').commandLog.length;
    const res = await h.command(alice, `upgrade-cluster ${TO} --batch 2 --dry-run`, 'C0ROLL00001');
    expect(res.jobId).toBeUndefined();
    expect(res.text).toContain('Dry run');
    const plan = res.full;
    const at = (s: string) => plan.indexOf(s);
    for (const s of ['upgrade k8s-1 (control plane, 1 of 5)', 'upgrade k8s-2 (control plane, 2 of 5)', 'upgrade k8s-3 (control plane, 3 of 5)', 'upgrade w1, w3 (workers, 4 of 5)', 'upgrade w2 (worker, 5 of 5)']) {
      expect(at(s), s).toBeGreaterThan(0);
    }
    expect(at('back up the datastore')).toBeLessThan(at('upgrade k8s-1'));
    expect(at('upgrade k8s-1')).toBeLessThan(at('upgrade k8s-2'));
    expect(at('upgrade w1, w3')).toBeLessThan(at('upgrade w2'));
    expect(at('pause: an approver decides whether to go on after k8s-1')).toBeGreaterThan(at('upgrade k8s-1'));
    expect(plan).toContain('sudo snap refresh microk8s --channel 1.23/stable');
    expect(plan).toContain('microk8s kubectl drain w2 --ignore-daemonsets');
    expect(plan).toContain('create deploy --image dontrebootme/microbot:v1 microbot-verify-');
    expect(sim('roll').commandLog.length).toBe(before);
  });

  it('refuses bad requests before any SSH command', async () => {
    const before = sim('roll').commandLog.length;
    for (const [text, expected] of [
      [`upgrade-cluster ${TO} --batch 0`, /--batch: '0' is not a whole number from 1 to 50/],
      [`upgrade-cluster ${TO} --batch two`, /--batch/],
      [`upgrade-cluster ${TO} --pause-after sometimes`, /use first .*each .*or none/],
      ['upgrade-cluster 1.23/stabel', /unknown risk/],
      ['upgrade-cluster 1.23/stable;reboot', /./],
      ['upgrade-cluster', /missing <channel>/],
    ] as const) {
      const res = await h.command(alice, text, 'C0ROLL00001');
      expect(res.jobId, text).toBeUndefined();
      expect(res.text, text).toMatch(expected);
    }
    expect(sim('roll').commandLog.length).toBe(before);
    // A skip-level target is refused after a read-only look at the nodes: nothing is changed, nothing queued.
    const skip = await h.command(alice, 'upgrade-cluster 1.24/stable', 'C0ROLL00001');
    expect(skip.jobId).toBeUndefined();
    expect(skip.text).toContain('Nothing was queued');
    expect(skip.text).toMatch(/1\.23\/stable/);
    expect(ran(sim('roll'), before).every((r) => r.argv[0] === 'snap' && r.argv[1] === 'list')).toBe(true);
  });

  it('upgrades control plane one at a time, then workers two at a time, pausing after the first node', async () => {
    const s = sim('roll');
    const from = s.commandLog.length;
    const id = await start(`upgrade-cluster ${TO} --batch 2`, 'C0ROLL00001');

    // Paused after the first node: k8s-1 is done, nothing else has been touched.
    const gate = await h.slack.waitFor(() => h.thread(id).find((m) => m.text.includes('Go on with the rollout after k8s-1?') && m.buttons.length > 0), 30_000);
    const pause = { ...gate.buttons.find((b) => b.label === 'Approve')!, messageTs: gate.ts };
    await h.waitState(id, 'awaiting approval');
    expect(s.state.node('k8s-1').version).toBe('v1.23.3');
    for (const n of ['k8s-2', 'k8s-3', 'w1', 'w2', 'w3']) {
      expect(s.state.node(n).version).toBe('v1.22.3');
      expect(refreshes(s, n, from)).toHaveLength(0);
    }
    // The requester cannot approve the pause (two-person rule); an approver can.
    await h.click(alice, pause, undefined, 'C0ROLL00001');
    await h.slack.waitFor(() => h.ephemeralsFor(alice).find((t) => t.includes('two-person rule')));
    await h.click(bob, pause, undefined, 'C0ROLL00001');
    await h.waitState(id, 'succeeded', 60_000);

    for (const n of NODES) {
      const node = s.state.node(n.name);
      expect(node.version, n.name).toBe('v1.23.3');
      expect(node.tracking).toBe(TO);
      expect(node.cordoned, n.name).toBe(false);
      expect(refreshes(s, n.name, from), n.name).toHaveLength(1);
    }

    // The timeline: control plane one at a time, in order, before any worker; w1 + w3 together; w2 alone.
    const down = downIntervals(s, from);
    expect([...down.keys()].toSorted()).toEqual(['k8s-1', 'k8s-2', 'k8s-3', 'w1', 'w2', 'w3']);
    const at = (n: string) => down.get(n)!;
    expect(at('k8s-1').end).toBeLessThanOrEqual(at('k8s-2').start);
    expect(at('k8s-2').end).toBeLessThanOrEqual(at('k8s-3').start);
    for (const w of ['w1', 'w2', 'w3']) expect(at('k8s-3').end).toBeLessThanOrEqual(at(w).start);
    expect(overlap(at('w1'), at('w3'))).toBe(true); // a real batch
    const names = [...down.keys()];
    for (const a of names) {
      for (const b of names) {
        if (a >= b || !overlap(at(a), at(b))) continue;
        expect(CONTROL_PLANE.has(a) && CONTROL_PLANE.has(b), `${a} and ${b} (voters) down at once`).toBe(false);
        expect(DOMAIN[a] === DOMAIN[b], `${a} and ${b} share failure domain ${DOMAIN[a]}`).toBe(false);
      }
    }
    // The refreshes follow the same order.
    const t = (n: string) => refreshes(s, n, from)[0]!.startedAt;
    expect(t('k8s-1')).toBeLessThan(t('k8s-2'));
    expect(t('k8s-2')).toBeLessThan(t('k8s-3'));
    expect(t('k8s-3')).toBeLessThan(Math.min(t('w1'), t('w3')));
    expect(Math.max(t('w1'), t('w3'))).toBeLessThan(t('w2'));

    // One backup, before the first node went down.
    const tar = ran(s, from).filter((r) => r.argv[0] === 'tar');
    expect(tar).toHaveLength(1);
    expect(tar[0]!.startedAt).toBeLessThan(at('k8s-1').start);

    // The verification workload ran on every node and was deleted.
    const name = `microbot-verify-${id}`;
    const cmds = ran(s, from).map((r) => `${r.node}: ${r.argv.join(' ')}`);
    expect(cmds.some((c) => c.includes(`kubectl create deploy --image dontrebootme/microbot:v1 ${name}`))).toBe(true);
    expect(cmds.some((c) => c.includes(`kubectl scale deploy ${name} --replicas 7`))).toBe(true);
    // Each node's NodePort, at its InternalIP, from the next node (the network path between them).
    NODES.forEach((n, i) => {
      const source = NODES[(i + 1) % NODES.length]!.name;
      expect(cmds.filter((c) => c.startsWith(`${source}: curl --silent --max-time 5 http://${s.state.node(n.name).ip}:`)), n.name).toHaveLength(2);
    });
    expect(workloadStore(s.state).deployment('default', name)).toBeUndefined();
    expect(s.state.pods.filter((p) => p.labels.app === name)).toEqual([]);

    const text = thread(id);
    expect(text).toContain('Order: 1. k8s-1 (control plane) · 2. k8s-2 (control plane) · 3. k8s-3 (control plane) · 4. w1 + w3 (workers) · 5. w2 (worker)');
    for (const step of ['back up the datastore', 'drain k8s-1', 'refresh k8s-2 to 1.23/stable', 'drain w1, w3', 'wait for w1, w3 to be Ready on 1.23/stable', 'uncordon w2', `delete the verification workload ${name}`]) {
      expect(text).toMatch(new RegExp(`✅ ${step.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    }
    expect(text).toMatch(/different pods answered 12 requests/);
    expect(text).toContain('Rollout to 1.23/stable done.');
    expect(text).toMatch(/k8s-1: v1\.23\.3 \(rev 2948, 1\.23\/stable\), Ready; .*w3: v1\.23\.3 \(rev 2948, 1\.23\/stable\), Ready\. Cordoned: none\./);
  });

  it('skips nodes already on the target and says so', async () => {
    const s = sim('skip');
    const from = s.commandLog.length;
    const id = await start(`upgrade-cluster ${TO} --pause-after none`, 'C0SKIP00001');
    await h.waitState(id, 'succeeded', 60_000);
    expect(thread(id)).toContain('Order: 1. k8s-1 (control plane) · 2. k8s-2 (control plane) · 3. w1 (worker) · 4. w3 (worker); skipped, already on 1.23/stable: k8s-3, w2');
    for (const n of ['k8s-3', 'w2']) {
      expect(refreshes(s, n, from)).toHaveLength(0);
      expect(ran(s, from).some((r) => r.argv.includes('drain') && r.argv.includes(n))).toBe(false);
    }
    for (const n of ['k8s-1', 'k8s-2', 'w1', 'w3']) expect(refreshes(s, n, from)).toHaveLength(1);
    expect(NODES.every((n) => s.state.node(n.name).version === 'v1.23.3')).toBe(true);

    // Everything is there now: a second request has nothing to do, and refreshes nothing.
    const again = await h.command(alice, `upgrade-cluster ${TO}`, 'C0SKIP00001');
    await h.waitState(again.jobId!, 'succeeded');
    expect(thread(again.jobId!)).toContain('Nothing to upgrade: every node already runs 1.23/stable; skipped, already on 1.23/stable: k8s-1, k8s-2, k8s-3, w1, w2, w3');
    expect(NODES.every((n) => refreshes(s, n.name, from).length === (n.name === 'k8s-3' || n.name === 'w2' ? 0 : 1))).toBe(true);
  });

  it('stops at a failed refresh of the second node and offers retry / roll back / stop; Retry finishes the rollout', async () => {
    const s = sim('retry');
    const from = s.commandLog.length;
    failConfigureHook(s.state.node('k8s-2'), { times: 1 });
    const id = await start(`upgrade-cluster ${TO} --pause-after none`, 'C0RETRY0001');
    const retry = await h.waitButton(id, 'Retry the step', 30_000);
    await h.waitState(id, 'awaiting approval');
    const gate = h.thread(id).find((m) => m.ts === retry.messageTs)!;
    expect(gate.text).toContain('The refresh failed on k8s-2');
    expect(gate.buttons.map((b) => b.label)).toEqual(['Retry the step', 'Roll back this node', 'Stop']);
    expect(gate.buttons[1]!.confirm).toBeDefined(); // destructive: a confirm dialog
    const body = JSON.stringify(gate.blocks);
    expect(body).toContain('Run configure hook of \\"microk8s\\" snap if present');
    expect(body).toContain('Upgraded to 1.23/stable: k8s-1.');
    expect(body).toContain('Not started, still on the old version: k8s-3, w1, w2, w3.');
    // Nothing beyond k8s-2 was touched while the rollout waits.
    expect(s.state.node('k8s-2').version).toBe('v1.22.3');
    expect(s.state.node('k8s-2').cordoned).toBe(true);
    for (const n of ['k8s-3', 'w1', 'w2', 'w3']) expect(refreshes(s, n, from)).toHaveLength(0);

    // The requester (an operator) may retry.
    await h.click(alice, retry, undefined, 'C0RETRY0001');
    await h.waitState(id, 'succeeded', 60_000);
    expect(refreshes(s, 'k8s-2', from)).toHaveLength(2); // the failed one and the retry
    for (const n of NODES) {
      expect(s.state.node(n.name).version, n.name).toBe('v1.23.3');
      expect(s.state.node(n.name).cordoned, n.name).toBe(false);
      if (n.name !== 'k8s-2') expect(refreshes(s, n.name, from), n.name).toHaveLength(1);
    }
    expect(thread(id)).toContain('The refresh failed on k8s-2: retry, roll back or stop? — chose Retry the step');
  });

  it('a drain held up by a PodDisruptionBudget stops at that node (nothing refreshed: retry or stop); Retry after the budget is lifted goes on', async () => {
    const s = sim('pdb');
    const from = s.commandLog.length;
    s.state.addPod({ name: 'db-0', app: 'db', owner: { kind: 'StatefulSet', name: 'db' }, nodeName: 'k8s-2' });
    addDisruptionBudget(s.state, { namespace: 'default', name: 'db', matchLabels: { app: 'db' }, retryMs: 300 });
    const id = await start(`upgrade-cluster ${TO} --pause-after none`, 'C0PDB000001');
    const retry = await h.waitButton(id, 'Retry the step', 30_000);
    const gate = h.thread(id).find((m) => m.ts === retry.messageTs)!;
    expect(gate.text).toContain('The drain failed on k8s-2');
    expect(gate.buttons.map((b) => b.label)).toEqual(['Retry the step', 'Stop']); // nothing was refreshed: no rollback
    const body = JSON.stringify(gate.blocks);
    expect(body).toContain('error when evicting pods/\\"db-0\\" -n \\"default\\" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.');
    expect(body).toContain('global timeout reached: 1s');
    expect(body).toContain('k8s-2 is cordoned; nothing was refreshed.');
    expect(s.state.node('k8s-2').version).toBe('v1.22.3');
    expect(refreshes(s, 'k8s-3', from)).toHaveLength(0);

    removeDisruptionBudget(s.state, 'db');
    await h.click(alice, retry, undefined, 'C0PDB000001');
    await h.waitState(id, 'succeeded', 30_000);
    expect(['k8s-1', 'k8s-2', 'k8s-3'].map((n) => s.state.node(n).version)).toEqual(['v1.23.3', 'v1.23.3', 'v1.23.3']);
    expect(s.state.podsOn('k8s-2').some((p) => p.name === 'db-0')).toBe(false);
    expect(ran(s, from).filter((r) => r.argv.includes('drain') && r.argv.includes('k8s-2'))).toHaveLength(2);
  });

  it('Stop leaves the rest on the old version and the final message lists versions and what is cordoned', async () => {
    const s = sim('stop');
    const from = s.commandLog.length;
    setNotReadyAfterRefresh(s.state.node('k8s-2'), true);
    const id = await start(`upgrade-cluster ${TO} --pause-after none`, 'C0STOP00001');
    const stop = await h.waitButton(id, 'Stop', 30_000);
    expect(h.thread(id).find((m) => m.ts === stop.messageTs)?.text).toContain('The wait for the new version and Ready failed on k8s-2');
    await h.click(alice, stop, undefined, 'C0STOP00001');
    await h.waitState(id, 'failed', 30_000);
    setNotReadyAfterRefresh(s.state.node('k8s-2'), false);

    const last = h.thread(id).at(-1)!.text;
    expect(last).toContain('Stopped as asked: the wait for the new version and Ready failed on k8s-2');
    expect(last).toContain('k8s-2 was refreshed but is not Ready on 1.23/stable; it is cordoned.');
    expect(last).toContain('Upgraded to 1.23/stable: k8s-1.');
    expect(last).toContain('Not started, still on the old version: k8s-3, w1, w2, w3.');
    expect(last).toContain('k8s-1: v1.23.3 (rev 2948, 1.23/stable), Ready;');
    expect(last).toContain('k8s-2: v1.23.3 (rev 2948, 1.23/stable), NotReady, cordoned;');
    expect(last).toContain('k8s-3: v1.22.3 (rev 2551, 1.22/stable), Ready;');
    expect(last).toContain('w3: v1.22.3 (rev 2551, 1.22/stable), Ready. Cordoned: k8s-2.');
    for (const n of ['k8s-3', 'w1', 'w2', 'w3']) {
      expect(s.state.node(n).version).toBe('v1.22.3');
      expect(refreshes(s, n, from)).toHaveLength(0);
    }
    expect(ran(s, from).some((r) => r.argv.includes('create'))).toBe(false); // no verification after a stop

    // Asked again: k8s-1 and k8s-2 are on the channel and skipped, and k8s-3 — a voter — is not
    // taken down while k8s-2 is NotReady (the preflight before each node re-checks the control plane).
    const again = s.commandLog.length;
    const id2 = await start(`upgrade-cluster ${TO} --pause-after none`, 'C0STOP00001');
    const stop2 = await h.waitButton(id2, 'Stop', 30_000);
    const gate = h.thread(id2).find((m) => m.ts === stop2.messageTs)!;
    expect(gate.text).toContain('The preflight failed on k8s-3');
    expect(gate.buttons.map((b) => b.label)).toEqual(['Retry the step', 'Stop']);
    expect(JSON.stringify(gate.blocks)).toContain('Control-plane node(s) k8s-2 are NotReady: taking k8s-3 down too could lose the dqlite quorum');
    expect(thread(id2)).toContain('skipped, already on 1.23/stable: k8s-1, k8s-2');
    expect(ran(s, again).some((r) => r.argv.includes('drain') || (r.argv[0] === 'snap' && r.argv[1] === 'refresh'))).toBe(false);
    await h.click(alice, stop2, undefined, 'C0STOP00001');
    await h.waitState(id2, 'failed', 30_000);
    expect(h.thread(id2).at(-1)!.text).toContain('k8s-3 has not been touched.');
  });

  it('Roll back this node (an approver) reverts it to the recorded revision and stops the rollout', async () => {
    const s = sim('back');
    const from = s.commandLog.length;
    setNotReadyAfterRefresh(s.state.node('k8s-2'), true);
    const id = await start(`upgrade-cluster ${TO} --pause-after none`, 'C0BACK00001');
    const back = await h.waitButton(id, 'Roll back this node', 30_000);
    // The requester is not an approver of this (two-person rule for a destructive option).
    await h.click(alice, back, undefined, 'C0BACK00001');
    await h.slack.waitFor(() => h.ephemeralsFor(alice).find((t) => t.includes('two-person rule') && t.includes('Nothing changed')));
    await h.click(bob, back, undefined, 'C0BACK00001');
    await h.waitState(id, 'failed', 30_000);

    const node = s.state.node('k8s-2');
    expect(node.version).toBe('v1.22.3');
    expect(node.revision).toBe(2551);
    expect(s.state.isReady(node)).toBe(true);
    expect(node.cordoned).toBe(true); // left cordoned: uncordon once checked
    expect(ran(s, from).filter((r) => r.node === 'k8s-2' && r.argv[0] === 'snap' && r.argv[1] === 'revert')).toHaveLength(1);
    const text = thread(id);
    expect(text).toMatch(/✅ revert k8s-2 — reverted to v1\.22\.3 \(rev 2551\)/);
    const last = h.thread(id).at(-1)!.text;
    expect(last).toContain('k8s-2 was rolled back to v1.22.3 (rev 2551) and is left cordoned');
    expect(last).toContain('Not started, still on the old version: k8s-3, w1, w2, w3.');
    expect(last).toContain('k8s-2: v1.22.3 (rev 2551, 1.23/stable), Ready, cordoned;');
    expect(last).toContain('Cordoned: k8s-2.');
    for (const n of ['k8s-3', 'w1', 'w2', 'w3']) expect(refreshes(s, n, from)).toHaveLength(0);
    node.cordoned = false;
  });
});
