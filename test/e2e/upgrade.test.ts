import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob, carol, mallory } = USERS;

/** Commands the simulator received (sudo prefix stripped), newest last. */
function commandsSince(h: Harness, from: number): string[] {
  return h.sim.commandLog.slice(from).map((c) => c.argv.filter((w, i) => !(i < 3 && (w === 'sudo' || w === '-n' || w === '--'))).join(' '));
}

describe('upgrade through Slack, on the simulated cluster', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        { name: 'prod', channel: 'C0PROD00001', extra: { auditChannel: 'C0AUDIT0001' } },
        { name: 'stage', channel: 'C0STAGE0001', policy: { approvalTtl: '2s' } },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => {
    for (const sim of h.sims.values()) sim.clearFaults();
  });

  it('runs a full upgrade after an approval by another person', async () => {
    const from = h.sim.commandLog.length;
    const { status, text, jobId } = await h.command(alice, 'upgrade k8s-1 1.23/stable');
    expect(status).toBe(200);
    expect(text).toMatch(/^Queued as job \d+/);
    expect(jobId).toBeDefined();
    const id = jobId!;

    await h.waitState(id, 'awaiting approval');
    const approve = await h.waitButton(id, 'Approve');
    expect(h.gateButton(id, 'Reject')).toBeDefined();
    // Nothing was changed before the approval: only reads so far.
    expect(commandsSince(h, from).some((c) => /drain|refresh|tar /.test(c))).toBe(false);

    expect(await h.click(bob, approve)).toBe(200);
    const parent = await h.waitState(id, 'succeeded', 30_000);
    expect(parent.text).toBe(`job ${id} · upgrade on prod · succeeded`);

    const node = h.sim.state.node('k8s-1');
    expect(node.version).toMatch(/^v1\.23\./);
    expect(node.cordoned).toBe(false);
    const cmds = commandsSince(h, from);
    expect(cmds.filter((c) => c.startsWith('snap refresh microk8s')).length).toBe(1);
    expect(cmds.some((c) => c.startsWith('microk8s kubectl drain k8s-1 --ignore-daemonsets'))).toBe(true);
    expect(cmds.some((c) => c.startsWith('microk8s kubectl uncordon k8s-1'))).toBe(true);
    // The refresh ran as root; the drain ran on another control-plane node.
    const refresh = h.sim.commandLog.slice(from).find((c) => c.command.includes('snap refresh'));
    expect(refresh?.sudo).toBe(true);
    expect(h.sim.commandLog.slice(from).find((c) => c.command.includes('kubectl drain'))?.node).not.toBe('k8s-1');

    // The thread holds every step, the backup's sha256 matches the file fetched here.
    const thread = h.thread(id).map((m) => m.text);
    for (const step of ['preflight', 'back up the datastore', 'drain k8s-1', 'check no workload pods', 'refresh k8s-1 to 1.23/stable', 'wait for k8s-1', 'uncordon k8s-1']) {
      expect(thread.some((t) => t.startsWith('✅') && t.includes(step))).toBe(true);
    }
    const backupLine = thread.find((t) => t.includes('back up the datastore'))!;
    const [, sha, path] = /sha256 ([0-9a-f]{64}) .* kept at (\S+)/.exec(backupLine) ?? [];
    expect(createHash('sha256').update(readFileSync(path!)).digest('hex')).toBe(sha);
    // The approval message now says who decided.
    expect(h.thread(id).find((m) => m.ts === approve.messageTs)?.text).toContain('approved');
    expect(h.thread(id).find((m) => m.ts === approve.messageTs)?.buttons).toEqual([]);
    // The audit channel gets the job's summary.
    const summary = await h.slack.waitFor(() => h.slack.messages().find((m) => m.channel === 'C0AUDIT0001' && m.text.startsWith(`job ${id} succeeded`)));
    expect(summary.text).toContain(`<@${alice}>`);
    // Every SSH command of the job is an audit event with its exit code and duration.
    const commands = (await h.app.redis.xrange('mk8s:audit', '-', '+'))
      .map(([, fields]) => JSON.parse(fields[1]!) as { type: string; jobId?: string; command?: string; code?: number; durationMs?: number })
      .filter((e) => e.type === 'command' && e.jobId === id);
    expect(commands.some((e) => e.command?.includes('snap refresh microk8s') && e.code === 0 && typeof e.durationMs === 'number')).toBe(true);
  });

  it('stops after the approval when what the plan depended on has changed', async () => {
    const { jobId } = await h.command(alice, 'upgrade k8s-3 1.23/stable');
    await h.waitState(jobId!, 'awaiting approval');
    // Someone cordons k8s-3 by hand while the plan waits.
    h.sim.state.node('k8s-3').cordoned = true;
    await h.click(bob, await h.waitButton(jobId!, 'Approve'));
    await h.waitState(jobId!, 'failed');
    const thread = h.thread(jobId!).map((m) => m.text).join('\n');
    expect(thread).toContain('changed since the plan was approved');
    expect(thread).toContain('k8s-3 was cordoned meanwhile');
    expect(h.sim.state.node('k8s-3').version).toBe('v1.22.3');
    h.sim.state.node('k8s-3').cordoned = false;
  });

  it('stops cleanly when the plan is rejected, having changed nothing', async () => {
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'upgrade k8s-2 1.23/stable');
    await h.waitState(jobId!, 'awaiting approval');
    await h.click(bob, await h.waitButton(jobId!, 'Reject'));
    await h.waitState(jobId!, 'rejected');
    expect(commandsSince(h, from).some((c) => /drain|refresh|uncordon|tar /.test(c))).toBe(false);
    expect(h.thread(jobId!).map((m) => m.text).join('\n')).toContain(`rejected by <@${bob}>`);
    expect(h.sim.state.node('k8s-2').version).toBe('v1.22.3');
  });

  it('applies the two-person rule and ignores unauthorised, duplicate and late clicks', async () => {
    // k8s-1 is already on 1.23/stable: the same channel is allowed and every step is safe to repeat.
    const { jobId } = await h.command(alice, 'upgrade k8s-1 1.23/stable');
    const id = jobId!;
    await h.waitState(id, 'awaiting approval');
    const approve = await h.waitButton(id, 'Approve');
    const reject = h.gateButton(id, 'Reject');

    await h.click(alice, approve); // the requester
    await h.slack.waitFor(() => h.ephemeralsFor(alice).find((t) => t.includes('two-person rule')));
    await h.click(mallory, approve); // an operator, not an approver
    await h.slack.waitFor(() => h.ephemeralsFor(mallory).find((t) => t.includes('not an approver')));
    expect(h.parent(id)?.text).toContain('awaiting approval');

    await h.click(bob, approve);
    await h.slack.waitFor(() => h.ephemeralsFor(bob).find((t) => t.includes('You approved')));
    await h.click(carol, reject); // second decision: too late
    await h.slack.waitFor(() => h.ephemeralsFor(carol).find((t) => t.includes(`already approved by <@${bob}>`)));
    await h.click(bob, approve); // double click
    await h.slack.waitFor(() => h.ephemeralsFor(bob).find((t) => t.includes('already approved')));
    await h.waitState(id, 'succeeded', 30_000);

    // Every click is in the audit trail, accepted or not.
    const events = (await h.app.redis.xrange('mk8s:audit', '-', '+'))
      .map(([, fields]) => JSON.parse(fields[1]!) as { type: string; jobId?: string; user?: string; accepted?: boolean })
      .filter((e) => e.type === 'decision' && e.jobId === id)
      .map((e) => `${e.user}:${e.accepted}`);
    expect(events).toEqual([`${alice}:false`, `${mallory}:false`, `${bob}:true`, `${carol}:false`, `${bob}:false`]);
    const audit = await h.command(alice, 'audit 50');
    expect(audit.text).toMatch(/decision\(s\) on prod, newest first/);
  });

  it('expires an approval nobody answers, and the hold ends with it', async () => {
    const { jobId } = await h.command(alice, 'upgrade k8s-1 1.23/stable', 'C0STAGE0001');
    const id = jobId!;
    await h.waitState(id, 'awaiting approval');
    const approve = await h.waitButton(id, 'Approve');
    await h.waitState(id, 'expired', 15_000);
    // The gate message lost its buttons; a click from an old copy is answered and changes nothing.
    expect(h.thread(id).find((m) => m.ts === approve.messageTs)?.buttons).toEqual([]);
    await h.click(bob, approve, undefined, 'C0STAGE0001');
    await h.slack.waitFor(() => h.ephemeralsFor(bob).find((t) => t.includes('expired')));
    expect(h.sims.get('stage')!.state.node('k8s-1').version).toBe('v1.22.3');
    // The cluster is free again.
    const next = await h.command(alice, 'upgrade k8s-1 1.23/stable --cluster stage', 'C0STAGE0001');
    expect(next.jobId).toBeDefined();
    await h.waitState(next.jobId!, 'awaiting approval');
    await h.command(alice, `cancel ${next.jobId} --cluster stage`);
    await h.waitState(next.jobId!, 'cancelled');
  });

  it('refuses a second mutating job on a busy cluster, naming the holder; another cluster runs', async () => {
    const first = await h.command(alice, 'upgrade k8s-3 1.23/stable');
    expect(first.jobId).toBeDefined();
    const second = await h.command(alice, 'upgrade k8s-2 1.23/stable');
    expect(second.jobId).toBeUndefined();
    expect(second.text).toContain(`job ${first.jobId}`);
    expect(second.text).toContain('upgrade');
    expect(second.text).toMatch(/busy/);
    // A change to another cluster is asked for in that cluster's channel, not here.
    const elsewhere = await h.command(alice, 'upgrade k8s-3 1.23/stable --cluster stage');
    expect(elsewhere.jobId).toBeUndefined();
    expect(elsewhere.text).toContain("only in that cluster's channel <#C0STAGE0001>");
    const other = await h.command(alice, 'upgrade k8s-3 1.23/stable --cluster stage', 'C0STAGE0001');
    expect(other.jobId).toBeDefined();
    await h.waitState(other.jobId!, 'awaiting approval');
    await h.waitState(first.jobId!, 'awaiting approval');
    // Both clusters run at once.
    await h.click(bob, await h.waitButton(other.jobId!, 'Approve'));
    await h.click(bob, await h.waitButton(first.jobId!, 'Approve'));
    await h.waitState(first.jobId!, 'succeeded', 30_000);
    await h.waitState(other.jobId!, 'succeeded', 30_000);
  });

  it('cancels a job waiting for approval and says what was left', async () => {
    const { jobId, text } = await h.command(alice, 'upgrade k8s-2 1.23/stable');
    expect(jobId, text).toBeDefined();
    await h.waitState(jobId!, 'awaiting approval');
    const answer = await h.command(alice, `cancel ${jobId}`);
    expect(answer.text).toContain('next step boundary');
    await h.waitState(jobId!, 'cancelled');
    const last = h.thread(jobId!).map((m) => m.text).join('\n');
    expect(last).toContain(`Cancelled by <@${alice}>`);
    expect(last).toMatch(/k8s-2: v1\.22\.3/);
  });

  it('offers a rollback when the node does not come back, and the rollback reverts it', async () => {
    h.sim.inject({ node: '*', match: /kubectl wait --for=condition=Ready node\/k8s-2/, kind: 'fail', exitCode: 1, stderr: 'error: timed out waiting for the condition on nodes/k8s-2\n' });
    const { jobId } = await h.command(alice, 'upgrade k8s-2 1.23/stable');
    const id = jobId!;
    await h.click(bob, await h.waitButton(id, 'Approve'));
    await h.waitState(id, 'failed', 30_000);
    const thread = h.thread(id).map((m) => m.text).join('\n');
    expect(thread).toContain('failed after the refresh started');
    expect(h.sim.state.node('k8s-2').version).toMatch(/^v1\.23\./);
    expect(h.sim.state.node('k8s-2').cordoned).toBe(true);

    h.sim.clearFaults();
    const rollback = h.gateButton(id, 'Roll back');
    await h.click(alice, rollback);
    const queued = await h.slack.waitFor(() => h.ephemeralsFor(alice).map((t) => /Queued as job (\d+)/.exec(t)?.[1]).find(Boolean));
    await h.waitState(queued, 'awaiting approval');
    const gate = await h.waitButton(queued, 'Approve');
    expect(gate.confirm?.title).toBeDefined(); // destructive: a confirm dialog
    await h.click(bob, gate);
    await h.click(alice, await h.waitButton(queued, 'Uncordon')); // uncordoned only when asked
    await h.waitState(queued, 'succeeded', 30_000);
    const node = h.sim.state.node('k8s-2');
    expect(node.version).toBe('v1.22.3');
    expect(node.cordoned).toBe(false);
  });

  it('refuses a node whose host key changed, naming the offered fingerprint, and queues nothing', async () => {
    h.sim.rotateHostKey('k8s-3');
    const offered = h.sim.nodes.find((n) => n.name === 'k8s-3')!.hostKeyFingerprint;
    const answer = await h.command(alice, 'upgrade k8s-3 1.24/stable');
    expect(answer.jobId).toBeUndefined();
    expect(answer.text).toMatch(/host key/i);
    expect(answer.text).toContain(offered);
    expect(answer.text).toContain('Nothing was queued');
  });
});
