import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHANNELS, type SimCluster, type SimNode } from '../../src/sim/index.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const LAB = 'C0LAB000001';

/** Commands a simulator received since `from`, sudo prefix stripped. */
function commandsSince(sim: SimCluster, from: number): string[] {
  return sim.commandLog.slice(from).map((c) => c.argv.join(' '));
}

/** Someone runs `snap refresh microk8s --channel=<channel>` on the node by hand (snapd keeps 2 revisions). */
function refreshBehindTheBotsBack(node: SimNode, channel: string): void {
  const rel = CHANNELS[channel]!;
  node.sequence = [...node.sequence.filter((r) => r.revision !== rel.revision), { revision: rel.revision, version: rel.version, kubeletVersion: rel.kubeletVersion, channel }].slice(-2);
  node.current = node.sequence.length - 1;
  node.tracking = channel;
}

/** `2026-07-01T12:00:00+02:00` for an instant `ms`, written with a +02:00 offset. */
function rfc3339PlusTwo(ms: number): string {
  const local = new Date(Math.floor(ms / 1000) * 1000 + 2 * 3600_000).toISOString().replace('.000Z', '');
  return `${local}+02:00`;
}

describe('rollback, drain/cordon/uncordon, hold/unhold through Slack', () => {
  let h: Harness;
  let lab: SimCluster;
  const thread = (id: string) => h.thread(id).map((m) => m.text).join('\n');
  const approve = async (id: string, channel?: string) => {
    await h.waitState(id, 'awaiting approval');
    await h.click(bob, await h.waitButton(id, 'Approve'), undefined, channel);
  };
  const run = async (text: string, channel?: string) => {
    const r = await h.command(alice, text, channel);
    expect(r.jobId, r.text).toBeDefined();
    return r.jobId!;
  };

  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        { name: 'prod', channel: 'C0PROD00001' },
        { name: 'lab', channel: LAB, policy: { approvePlan: false } },
      ],
    });
    lab = h.sims.get('lab')!;
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => {
    for (const sim of h.sims.values()) sim.clearFaults();
  });

  it('rolls back a failed upgrade from its button, re-applies the lost hold and uncordons when asked', async () => {
    const held = await run('hold k8s-2');
    await approve(held);
    await h.waitState(held, 'succeeded');
    expect(h.sim.state.node('k8s-2').hold).toBe('forever');

    h.sim.inject({ node: '*', match: /kubectl wait --for=condition=Ready node\/k8s-2/, kind: 'fail', exitCode: 1, stderr: 'error: timed out waiting for the condition on nodes/k8s-2\n' });
    const upgrade = await run('upgrade k8s-2 1.23/stable');
    await approve(upgrade);
    await h.waitState(upgrade, 'failed', 30_000);
    h.sim.clearFaults();
    const node = h.sim.state.node('k8s-2');
    expect(node.version).toBe('v1.23.3');
    expect(node.cordoned).toBe(true);
    node.hold = undefined; // the hold is lost meanwhile

    const from = h.sim.commandLog.length;
    await h.click(alice, h.gateButton(upgrade, 'Roll back'));
    const id = await h.slack.waitFor(() => h.ephemeralsFor(alice).map((t) => /Queued as job (\d+)/.exec(t)?.[1]).find((j) => j !== undefined && Number(j) > Number(upgrade)));
    await h.waitState(id, 'awaiting approval');
    const gate = await h.waitButton(id, 'Approve');
    expect(gate.confirm).toBeDefined(); // snap revert is destructive
    expect(commandsSince(h.sim, from).some((c) => /revert|drain/.test(c))).toBe(false);
    await h.click(bob, gate);

    const uncordon = await h.waitButton(id, 'Uncordon');
    expect(h.gateButton(id, 'Leave cordoned')).toBeDefined();
    expect(node.cordoned).toBe(true); // not before someone asks
    await h.click(alice, uncordon);
    await h.waitState(id, 'succeeded', 30_000);

    expect(node.version).toBe('v1.22.3');
    expect(node.revision).toBe(2551);
    expect(node.cordoned).toBe(false);
    expect(node.hold).toBe('forever');
    const cmds = commandsSince(h.sim, from);
    expect(cmds.filter((c) => c === 'snap revert microk8s')).toHaveLength(1);
    expect(cmds).toContain('snap refresh --hold microk8s');
    const text = thread(id);
    expect(text).toContain(`back to rev 2551 (v1.22.3), recorded by job ${upgrade} before its refresh`);
    expect(text).toMatch(/re-apply k8s-2's refresh hold — the hold was gone: held again forever/);
    expect(text).toMatch(/✅ uncordon k8s-2 — uncordoned/);
    // The bot's record now says what it left: rev 2551, held.
    const record = JSON.parse((await h.app.redis.hget('mk8s:nodes:prod', 'k8s-2'))!) as { revision: string; held: boolean; byJob: string; previous?: unknown };
    expect(record).toMatchObject({ revision: '2551', held: true, byJob: id });
    expect(record.previous).toBeUndefined();
  });

  it('rolls back a node the bot upgraded, from its record, and leaves it cordoned when asked; a timed hold comes back', async () => {
    const until = Date.now() + 3 * 3600_000;
    const held = await run(`hold k8s-3 ${rfc3339PlusTwo(until)}`);
    await approve(held);
    await h.waitState(held, 'succeeded');
    const node = h.sim.state.node('k8s-3');
    expect(Math.abs(Number(node.hold) - until)).toBeLessThan(5_000);

    const upgrade = await run('upgrade k8s-3 1.23/stable');
    await approve(upgrade);
    await h.waitState(upgrade, 'succeeded', 30_000);
    expect(node.version).toBe('v1.23.3');
    node.hold = undefined;

    const id = await run('rollback k8s-3');
    await approve(id);
    await h.click(alice, await h.waitButton(id, 'Leave cordoned'));
    await h.waitState(id, 'succeeded', 30_000);
    expect(node.version).toBe('v1.22.3');
    expect(node.cordoned).toBe(true);
    expect(Math.abs(Number(node.hold) - until)).toBeLessThan(5_000);
    const text = thread(id);
    expect(text).toContain(`recorded by job ${upgrade} (upgrade) before its refresh`);
    expect(text).toMatch(/leave k8s-3 cordoned — as asked/);
    expect(text).toMatch(/re-apply k8s-3's refresh hold — the hold was gone: held again until 20\d\d-/);
    node.cordoned = false;
  });

  it('stops before touching a node that runs neither the refreshed nor the recorded revision', async () => {
    const upgrade = await run('upgrade k8s-1 1.23/stable');
    await approve(upgrade);
    await h.waitState(upgrade, 'succeeded', 30_000);
    refreshBehindTheBotsBack(h.sim.state.node('k8s-1'), '1.24/stable');

    const from = h.sim.commandLog.length;
    const id = await run('rollback k8s-1');
    await h.waitState(id, 'failed');
    expect(thread(id)).toContain('k8s-1 runs revision 3272 (v1.24.0, 1.24/stable): neither revision 2948');
    expect(thread(id)).toContain('nor revision 2551 (v1.22.3)');
    expect(commandsSince(h.sim, from).some((c) => /revert|drain|--hold/.test(c))).toBe(false);
    expect(h.sim.state.node('k8s-1').version).toBe('v1.24.0');
  });

  it('stops a rollback whose recorded revision snapd no longer keeps', async () => {
    lab.inject({ node: '*', match: /kubectl wait --for=condition=Ready node\/k8s-2/, kind: 'fail', exitCode: 1, stderr: 'error: timed out waiting for the condition on nodes/k8s-2\n' });
    const upgrade = await run('upgrade k8s-2 1.23/stable', LAB); // lab: no plan approval
    await h.waitState(upgrade, 'failed', 30_000);
    lab.clearFaults();
    refreshBehindTheBotsBack(lab.state.node('k8s-2'), '1.24/stable');
    const from = lab.commandLog.length;
    await h.click(alice, h.gateButton(upgrade, 'Roll back'), undefined, LAB);
    const id = await h.slack.waitFor(() => h.ephemeralsFor(alice).map((t) => /Queued as job (\d+)/.exec(t)?.[1]).find((j) => j !== undefined && Number(j) > Number(upgrade)));
    await h.waitState(id, 'failed');
    expect(thread(id)).toContain('Revision 2551 (v1.22.3) is no longer on k8s-2 (snap keeps 2948, 3272)');
    expect(commandsSince(lab, from).some((c) => /revert|drain/.test(c))).toBe(false);
    lab.state.node('k8s-2').cordoned = false;
  });

  it('never uncordons a node that was cordoned on purpose before the upgrade it rolls back', async () => {
    const node = lab.state.node('k8s-1');
    node.cordoned = true; // someone cordoned it on purpose
    lab.inject({ node: '*', match: /kubectl wait --for=condition=Ready node\/k8s-1/, kind: 'fail', exitCode: 1, stderr: 'error: timed out waiting for the condition on nodes/k8s-1\n' });
    const upgrade = await run('upgrade k8s-1 1.23/stable', LAB);
    await h.waitState(upgrade, 'failed', 30_000);
    lab.clearFaults();
    await h.click(alice, h.gateButton(upgrade, 'Roll back'), undefined, LAB);
    const id = await h.slack.waitFor(() => h.ephemeralsFor(alice).map((t) => /Queued as job (\d+)/.exec(t)?.[1]).find((j) => j !== undefined && Number(j) > Number(upgrade)));
    await approve(id, LAB);
    await h.waitState(id, 'succeeded', 30_000);
    expect(node.version).toBe('v1.22.3');
    expect(node.cordoned).toBe(true);
    expect(h.thread(id).some((m) => m.buttons.some((b) => b.label === 'Uncordon'))).toBe(false);
    expect(thread(id)).toContain(`leave k8s-1 cordoned — it was cordoned before job ${upgrade} drained it`);
    expect(thread(id)).toContain('it still tracks 1.23/stable (snap revert keeps the channel)');
    node.cordoned = false;
  });

  it('drains a node after an approval, listing where each pod went; draining again is fine', async () => {
    const dry = await h.command(alice, 'drain k8s-2 --dry-run');
    expect(dry.full).toContain('microk8s kubectl drain k8s-2 --ignore-daemonsets');
    const from = h.sim.commandLog.length;
    expect(dry.jobId).toBeUndefined();

    const rejected = await run('drain k8s-2');
    await h.waitState(rejected, 'awaiting approval');
    await h.click(bob, await h.waitButton(rejected, 'Reject'));
    await h.waitState(rejected, 'rejected');
    expect(commandsSince(h.sim, from).some((c) => /drain|cordon/.test(c))).toBe(false);

    const workloads = () => h.sim.state.podsOn('k8s-2').filter((p) => p.owner?.kind !== 'DaemonSet');
    const before = workloads().map((p) => `${p.namespace}/${p.name}`);
    expect(before.length).toBeGreaterThan(0);
    const id = await run('drain k8s-2');
    await approve(id);
    await h.waitState(id, 'succeeded', 30_000);
    expect(workloads()).toEqual([]);
    expect(h.sim.state.node('k8s-2').cordoned).toBe(true);
    const text = thread(id);
    expect(text).toContain(`${before.length} pod(s) evicted, now running:`);
    for (const pod of before) expect(text).toMatch(new RegExp(`${pod.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+→\\s+k8s-[13]  \\(`));
    expect(text).toMatch(/✅ check no workload pods are left on k8s-2/);

    const again = await run('drain k8s-2');
    await approve(again);
    await h.waitState(again, 'succeeded', 30_000);
    expect(thread(again)).toContain('already cordoned');
    expect(thread(again)).toContain('nothing to evict');

    const un = await run('uncordon k8s-2');
    await approve(un);
    await h.waitState(un, 'succeeded');
    expect(h.sim.state.node('k8s-2').cordoned).toBe(false);
  });

  it("drains a node whose cluster's whole pod list cannot be read (too large for one command), leaving out only the report", async () => {
    // As on a cluster of thousands of pods, past the SSH layer's cap on one command's output; a node's own pods still come back (field selector).
    h.sim.inject({ node: '*', match: /get pods -A -o json$/, kind: 'fail', exitCode: 1, stderr: 'error: output too large for this test\n' });
    try {
      const workloads = () => h.sim.state.podsOn('k8s-3').filter((p) => p.owner?.kind !== 'DaemonSet');
      expect(workloads().length).toBeGreaterThan(0);
      const id = await run('drain k8s-3');
      await approve(id);
      await h.waitState(id, 'succeeded', 30_000);
      expect(workloads()).toEqual([]);
      expect(thread(id)).toContain("(where they went is not shown: the cluster's pods could not be listed:");
      expect(thread(id)).toMatch(/✅ check no workload pods are left on k8s-3/);
    } finally {
      h.sim.clearFaults();
    }
    const un = await run('uncordon k8s-3');
    await approve(un);
    await h.waitState(un, 'succeeded');
  });

  it('cordons and uncordons idempotently (no plan approval on this cluster)', async () => {
    const node = lab.state.node('k8s-3');
    const first = await run('cordon k8s-3', LAB);
    await h.waitState(first, 'succeeded');
    expect(node.cordoned).toBe(true);
    expect(thread(first)).toMatch(/✅ cordon k8s-3 — cordoned/);
    const second = await run('cordon k8s-3', LAB);
    await h.waitState(second, 'succeeded');
    expect(thread(second)).toMatch(/✅ cordon k8s-3 — was already cordoned/);
    const third = await run('uncordon k8s-3', LAB);
    await h.waitState(third, 'succeeded');
    expect(node.cordoned).toBe(false);
    const fourth = await run('uncordon k8s-3', LAB);
    await h.waitState(fourth, 'succeeded');
    expect(thread(fourth)).toMatch(/✅ uncordon k8s-3 — was already schedulable/);
  });

  it('holds and unholds with every value form, and records each node', async () => {
    const log = () => lab.commandLog.length;
    let from = log();
    const dry = await h.command(alice, 'hold all 24h --dry-run', LAB);
    expect(dry.full).toContain('sudo snap refresh --hold=24h microk8s');
    expect(log()).toBe(from);

    const t0 = Date.now();
    const day = await run('hold k8s-1 24h', LAB);
    await h.waitState(day, 'succeeded');
    expect(commandsSince(lab, from)).toContain('snap refresh --hold=24h microk8s');
    expect(Math.abs(Number(lab.state.node('k8s-1').hold) - (t0 + 86_400_000))).toBeLessThan(5_000);

    from = log();
    const days = await run('hold k8s-1 2d', LAB);
    await h.waitState(days, 'succeeded');
    expect(commandsSince(lab, from)).toContain('snap refresh --hold=48h microk8s');

    const target = Date.now() + 90 * 60_000;
    const zulu = new Date(Math.floor(target / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    from = log();
    const at = await run(`hold k8s-3 ${zulu}`, LAB);
    await h.waitState(at, 'succeeded');
    const sent = commandsSince(lab, from);
    expect(sent).toContain('date +%s'); // the node's own clock decides the seconds left
    expect(sent.find((c) => c.startsWith('snap refresh --hold='))).toMatch(/^snap refresh --hold=1h(29m5\d|30m0)s microk8s$/);
    expect(Math.abs(Number(lab.state.node('k8s-3').hold) - target)).toBeLessThan(5_000);
    // The node's clock is read in whole seconds (`date +%s`): the end it reports may be a second either side.
    const second = (d: number) => new Date(Date.parse(zulu) + d * 1000).toISOString().replace('.000Z', 'Z');
    expect([-1, 0, 1].map(second).some((z) => thread(at).includes(`held until ${z}`)), thread(at)).toBe(true);

    from = log();
    const all = await run('hold all', LAB);
    await h.waitState(all, 'succeeded');
    expect(commandsSince(lab, from).filter((c) => c === 'snap refresh --hold microk8s')).toHaveLength(3);
    for (const n of lab.state.nodeList()) expect(n.hold).toBe('forever');
    const records = await h.app.redis.hgetall('mk8s:nodes:lab');
    for (const n of ['k8s-1', 'k8s-2', 'k8s-3']) expect(JSON.parse(records[n]!)).toMatchObject({ held: true, holdUntil: 'forever', byJob: all, verb: 'hold' });

    const one = await run('unhold k8s-1', LAB);
    await h.waitState(one, 'succeeded');
    expect(lab.state.node('k8s-1').hold).toBeUndefined();
    expect(lab.state.node('k8s-2').hold).toBe('forever');
    from = log();
    const none = await run('unhold all', LAB);
    await h.waitState(none, 'succeeded');
    expect(commandsSince(lab, from).filter((c) => c === 'snap refresh --unhold microk8s')).toHaveLength(3);
    for (const n of lab.state.nodeList()) expect(n.hold).toBeUndefined();
    expect(JSON.parse((await h.app.redis.hget('mk8s:nodes:lab', 'k8s-2'))!)).toMatchObject({ held: false, byJob: none, verb: 'unhold' });
  });

  it('after its own rollbacks the bot sees no drift; the node refreshed behind its back drifts', async () => {
    const before = h.slack.responses.length;
    await h.command(alice, 'status --drift');
    const answer = await h.slack.waitFor(() => h.slack.responses.slice(before).find((r) => String(r.body.text).startsWith('drift check of prod')));
    expect(answer.body.text).toBe('drift check of prod: drift on k8s-1');
    const body = JSON.stringify(answer.body.blocks);
    expect(body).toMatch(/k8s-2 +2551 1\.23\/stable forever +2551 1\.23\/stable forever +job \d+ rollback, [^\\]* UTC +none/);
    expect(body).toContain('revision 2948 → 3272 (v1.24.0); channel 1.23/stable → 1.24/stable');
  });

  it('dry runs show each plan and run nothing', async () => {
    const from = h.sim.commandLog.length;
    const later = new Date(Math.floor(Date.now() / 1000) * 1000 + 30 * 86_400_000).toISOString().replace('.000Z', 'Z');
    const cases: Array<[string, string[]]> = [
      ['rollback k8s-2 --dry-run', ['snap list --all microk8s', 'sudo snap revert microk8s', 'destructive', 'uncordon k8s-2 (only if asked)']],
      ['cordon k8s-2 --dry-run', ['microk8s kubectl cordon k8s-2']],
      ['uncordon k8s-2 --dry-run', ['microk8s kubectl uncordon k8s-2']],
      [`hold all ${later} --dry-run`, [`seconds left until ${later} by the node's clock`, 'hold refreshes on k8s-3']],
      ['unhold all --dry-run', ['sudo snap refresh --unhold microk8s', 'remove the refresh hold on k8s-1']],
    ];
    for (const [text, parts] of cases) {
      const answer = await h.command(alice, text);
      expect(answer.jobId, text).toBeUndefined();
      expect(answer.text, text).toContain('Dry run');
      for (const part of parts) expect(answer.full, text).toContain(part);
    }
    expect(h.sim.commandLog.length).toBe(from);
  });

  it('a hold time that has passed by the node\'s clock fails on that node, and a drain that times out says what it left', async () => {
    lab.setClockSkew('k8s-2', 3600);
    const soon = new Date(Math.floor(Date.now() / 1000) * 1000 + 600_000).toISOString().replace('.000Z', 'Z');
    const from = lab.commandLog.length;
    const id = await run(`hold k8s-2 ${soon}`, LAB);
    await h.waitState(id, 'failed');
    lab.setClockSkew('k8s-2', 0);
    expect(thread(id)).toContain(`${soon} has passed by k8s-2's clock`);
    expect(commandsSince(lab, from).some((c) => c.includes('--hold'))).toBe(false);

    lab.inject({ node: '*', match: /kubectl drain k8s-3/, kind: 'fail', exitCode: 1, stdout: 'node/k8s-3 cordoned\nevicting pod default/nginx-7848d4b86f-abcde\n', stderr: 'error when evicting pods/"nginx-7848d4b86f-abcde" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.\nThere are pending pods in node "k8s-3" when an error occurred: error when waiting for pod "nginx-7848d4b86f-abcde" in namespace "default" to terminate: global timeout reached: 30s\n' });
    const drain = await run('drain k8s-3', LAB);
    await h.waitState(drain, 'failed', 30_000);
    lab.clearFaults();
    expect(thread(drain)).toMatch(/❌ drain k8s-3/);
    expect(thread(drain)).toMatch(/k8s-3: v1\.22\.3 \(rev 2551, 1\.22\/stable\), Ready/);
  });

  it('refuses bad hold values and unknown nodes before any SSH command', async () => {
    const from = lab.commandLog.length;
    const bad: Array<[string, RegExp]> = [
      ['hold k8s-1 24hr', /not a duration snapd accepts/],
      ['hold k8s-1 1.5h', /whole numbers/],
      ['hold k8s-1 0s', /at least one second/],
      ['hold k8s-1 2020-01-01T00:00:00Z', /not in the future/],
      ['hold k8s-1 2031-02-30T10:00:00Z', /not a valid date/],
      ['hold k8s-1 2031-02-01T10:00:00', /not a refresh hold/],
      ['hold k8s-1 2031-02-01 10:00', /too many arguments/],
      ['hold k8s-1 tomorrow', /not a refresh hold/],
      ['hold k8s-1 -5h', /not a flag/],
      ['hold k8s-9', /unknown node 'k8s-9'/],
      ['hold', /missing <node>/],
      ['unhold k8s-9', /unknown node 'k8s-9'/],
      ['unhold K8S-1', /not a node name or all/],
      ['drain k8s-9', /unknown node 'k8s-9'/],
      ['cordon k8s-1;reboot', /not allowed|may contain only/],
      ['rollback k8s-9', /unknown node 'k8s-9'/],
    ];
    for (const [text, message] of bad) {
      const answer = await h.command(alice, text, LAB);
      expect(answer.jobId, text).toBeUndefined();
      expect(answer.text, text).toMatch(message);
    }
    expect(lab.commandLog.length).toBe(from);
  });
});
