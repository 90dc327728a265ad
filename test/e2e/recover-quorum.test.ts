/**
 * recover-quorum through Slack against the simulator: lost quorum on a 3-voter cluster (one
 * survivor) and on a 5-node control plane (3 survivors, HA again), the refusals (quorum intact,
 * a lost node still answering on :19001), the two-approver destructive gate, and --dry-run.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { datastoreOf } from '../../src/sim/dqlite.ts';
import { simMembership } from '../../src/sim/index.ts';
import { controlPlanes, words, workers } from '../support/e2e.ts';
import { approveBoth, approvePlanThenDestructiveButton, lose, MUTATING, text } from '../support/recover-quorum.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob, carol } = USERS;
describe('recover-quorum: 3 voters (and a worker), 2 voters lost → a single-node cluster', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clusters: [{ name: 'prod', channel: 'C0PROD00001', nodes: [...controlPlanes(3, { channel: '1.28/stable' }), ...workers(1, { channel: '1.28/stable' })] }] });
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
    // the worker, a spare in cluster.yaml, was neither lost nor removed, and is left out of the new file
    expect(s.nodes.has('w1')).toBe(true);
    expect(log.some((c) => words(c).startsWith('microk8s remove-node w1'))).toBe(false);
    expect(datastoreOf(s).reconfigures[0]!.members.map((m) => m.address)).toEqual(['10.0.0.11:19001']);
    const t = text(h, id);
    expect(t).toMatch(/high-availability no · voters k8s-1/);
    expect(t).toMatch(/add-node <node>/);
    // the step-1 backup is kept with the other backups (sha256 checked there), and the node keeps no copy
    const backup = /(\/\S+\/backups\/prod\/k8s-1\/mk8s-backup-\d{8}T\d{6}Z\.tar\.gz)/.exec(t)?.[1];
    expect(backup).toBeDefined();
    const sha = /1\. back up k8s-1's whole backend — sha256 ([0-9a-f]{64})/.exec(t)?.[1];
    expect(createHash('sha256').update(readFileSync(backup!)).digest('hex')).toBe(sha);
    const removed = log.filter((c) => c.node === 'k8s-1' && /^rm -f \/tmp\/tmp\.\w+\/backend-k8s-1-/.test(words(c)));
    expect(removed).toHaveLength(1);
  });
});

describe('recover-quorum: 5 control-plane nodes (3 voters, 2 stand-by), 2 voters lost → 3 survivors, HA again', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clusters: [{ name: 'prod', channel: 'C0PROD00001', nodes: controlPlanes(5, { channel: '1.28/stable' }) }] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('picks the survivor with the newest log as the template, updates the other two, and gets three voters back', { timeout: 120_000 }, async () => {
    const s = h.sim.state;
    expect(['k8s-1', 'k8s-2', 'k8s-3'].map((n) => s.node(n).dqliteRole)).toEqual(['voter', 'voter', 'voter']);
    expect(['k8s-4', 'k8s-5'].map((n) => s.node(n).dqliteRole)).toEqual(['standby', 'standby']);
    // k8s-3 (the surviving voter) is a few entries behind the stand-by k8s-4
    s.node('k8s-3').raftLag = 5;
    s.node('k8s-5').raftLag = 2;
    await lose(h.sim, ['k8s-1', 'k8s-2']);
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'recover-quorum');
    const id = jobId!;
    await approveBoth(h, id);
    await h.waitState(id, 'succeeded', 60_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${text(h, id).slice(0, 6000)}`);
    });
    const log = h.sim.commandLog.slice(from);
    expect(log.filter((c) => c.argv[0] === '/snap/microk8s/current/bin/dqlite').map((c) => c.node)).toEqual(['k8s-4']);
    // the other survivors lost their leftovers before the template's files arrived
    for (const n of ['k8s-3', 'k8s-5']) {
      const rm = log.find((c) => c.node === n && words(c).startsWith('rm -f /var/snap/microk8s/current/var/kubernetes/backend/'));
      expect(rm, n).toBeDefined();
      expect(words(rm!)).toMatch(/open-1/);
      expect(words(rm!)).toMatch(/metadata1/);
      expect(log.some((c) => c.node === n && words(c).startsWith('tar -xzf'))).toBe(true);
    }
    expect(['k8s-3', 'k8s-4', 'k8s-5'].map((n) => s.node(n).dqliteRole)).toEqual(['voter', 'voter', 'voter']);
    expect(['k8s-3', 'k8s-4', 'k8s-5'].map((n) => s.node(n).datastoreFault)).toEqual([undefined, undefined, undefined]);
    expect(s.hasQuorum()).toBe(true);
    expect(s.nodes.has('k8s-1') || s.nodes.has('k8s-2')).toBe(false);
    const t = text(h, id);
    expect(t).toMatch(/template k8s-4/);
    expect(t).toMatch(/k8s-4 has the most recent log: last index \d+ \(k8s-5 \d+, k8s-3 \d+\)/);
    expect(t).toMatch(/high-availability yes · voters/);
  });
});

describe('recover-quorum: refusals, the two-approver gate, the binding and --dry-run (3 voters)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clusters: [{ name: 'prod', channel: 'C0PROD00001', nodes: controlPlanes(3, { channel: '1.28/stable' }) }] });
  });
  afterAll(async () => {
    await h?.stop();
  });
  afterEach(async () => {
    for (const n of ['k8s-2', 'k8s-3']) {
      h.sim.state.node(n).portAnswersWhenDown = false;
      await h.sim.setDown(n, false);
    }
  });
  const mutating = (from: number) => h.sim.commandLog.slice(from).filter((c) => MUTATING.test(words(c)));

  it('refuses when quorum is intact: names the answering voters, suggests remove-node --force, runs nothing', { timeout: 60_000 }, async () => {
    await lose(h.sim, ['k8s-3']);
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'recover-quorum');
    const done = await h.waitState(jobId!, 'failed', 30_000);
    expect(done.text).toBe(`job ${jobId} · recover-quorum on prod · failed`);
    const t = text(h, jobId!);
    expect(t).toMatch(/quorum is not lost — 2 of 3 datastore voters answer \(k8s-1 \(10\.0\.0\.11:19001\), k8s-2 \(10\.0\.0\.12:19001\)\)/);
    expect(t).toMatch(/remove-node k8s-3 --force/);
    expect(mutating(from)).toEqual([]);
  });

  it('refuses --survivors naming a node that does not answer, before anything runs', { timeout: 60_000 }, async () => {
    await lose(h.sim, ['k8s-2', 'k8s-3']);
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'recover-quorum --survivors k8s-1,k8s-2');
    await h.waitState(jobId!, 'failed', 30_000);
    expect(text(h, jobId!)).toMatch(/Refused: --survivors names k8s-2 \(.*\) — every survivor must answer over SSH and have its datastore\. Nothing was run\./);
    expect(mutating(from)).toEqual([]);
    const bad = await h.command(alice, 'recover-quorum --survivors k8s-1,w9');
    expect(bad.jobId).toBeUndefined();
    expect(bad.text).toMatch(/--survivors: unknown node 'w9' in cluster prod; its nodes are k8s-1, k8s-2, k8s-3/);
  });

  it('refuses when a lost node still answers on 19001', { timeout: 60_000 }, async () => {
    await lose(h.sim, ['k8s-2', 'k8s-3']);
    h.sim.state.node('k8s-3').portAnswersWhenDown = true;
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'recover-quorum');
    await h.waitState(jobId!, 'failed', 30_000);
    expect(text(h, jobId!)).toMatch(/Refused: k8s-3 \(10\.0\.0\.13:19001\) answers on :19001 from k8s-1 — a lost member must not answer/);
    expect(mutating(from)).toEqual([]);
  });

  it('--dry-run shows the whole plan (survivors, template, diff, commands) without a mutating command', { timeout: 60_000 }, async () => {
    await lose(h.sim, ['k8s-2', 'k8s-3']);
    const from = h.sim.commandLog.length;
    const before = h.slack.responses.length;
    const ack = await h.command(alice, 'recover-quorum --dry-run');
    expect(ack.jobId).toBeUndefined();
    const answer = await h.slack.waitFor(() => h.slack.responses.slice(before).find((r) => typeof r.body.text === 'string' && r.body.text.includes('nothing was changed')), 30_000);
    const body = JSON.stringify(answer.body.blocks).replaceAll('\\n', '\n');
    expect(body).toMatch(/k8s-1: ID 3297041220608546238, 10\.0\.0\.11:19001, voter; last index \d+/);
    expect(body).toMatch(/Template:\* k8s-1/);
    // the diff: k8s-1's entry kept, the lost voters' entries removed
    expect(body).toMatch(/\n {4}ID: 3297041220608546238\n/);
    expect(body).toMatch(/\n- - Address: 10\.0\.0\.12:19001\n- {3}ID: \d+/);
    expect(body).toMatch(/step 4: reconfigure dqlite once, on k8s-1 only/);
    expect(body).toMatch(/sudo \/snap\/microk8s\/current\/bin\/dqlite -s 127\.0\.0\.1:19001 -c/);
    expect(body).toMatch(/must never be started again/);
    expect(mutating(from)).toEqual([]);
    // A second dry run reads the nodes over the process's warm connections: no new handshake.
    const opened = Object.fromEntries(h.sim.connectionsAccepted());
    const again = h.slack.responses.length;
    await h.command(alice, 'recover-quorum --dry-run');
    await h.slack.waitFor(() => h.slack.responses.slice(again).find((r) => typeof r.body.text === 'string' && r.body.text.includes('nothing was changed')), 30_000);
    expect(Object.fromEntries(h.sim.connectionsAccepted())).toEqual(opened);
  });

  it('one approver cannot give both approvals, nor the requester; the gate keeps waiting', { timeout: 60_000 }, async () => {
    await lose(h.sim, ['k8s-2', 'k8s-3']);
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'recover-quorum');
    const id = jobId!;
    const gate = await approvePlanThenDestructiveButton(h, id);
    expect(await h.click(bob, gate)).toBe(200);
    const shown = await h.slack.waitFor(() => h.thread(id).find((m) => m.ts === gate.messageTs && m.text.includes('(1 of 2 approvals)')), 10_000);
    expect(JSON.stringify(shown.blocks)).toMatch(/1 of 2 approvals\*? — approved by <@U0BOB>/);
    expect(await h.click(bob, gate)).toBe(200);
    expect(await h.click(alice, gate)).toBe(200);
    await h.slack.waitFor(() => h.ephemeralsFor(bob).some((e) => /already gave approval 1 of 2/.test(e)) || h.slack.responses.some((r) => /already gave approval 1 of 2/.test(JSON.stringify(r.body))), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(h.parent(id)?.text).toBe(`job ${id} · recover-quorum on prod · awaiting approval`);
    expect(mutating(from)).toEqual([]);
    expect(await h.click(carol, h.gateButton(id, 'Reject'))).toBe(200);
    await h.waitState(id, 'rejected', 30_000);
    expect(mutating(from)).toEqual([]);
  });

  it('stops without running anything when a lost node answers again before the second approval', { timeout: 60_000 }, async () => {
    await lose(h.sim, ['k8s-2', 'k8s-3']);
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'recover-quorum');
    const id = jobId!;
    const gate = await approvePlanThenDestructiveButton(h, id);
    expect(await h.click(bob, gate)).toBe(200);
    h.sim.state.node('k8s-3').portAnswersWhenDown = true;
    expect(await h.click(carol, gate)).toBe(200);
    await h.waitState(id, 'failed', 30_000);
    expect(text(h, id)).toMatch(/k8s-3 \(10\.0\.0\.13:19001\) answers on :19001/);
    expect(mutating(from)).toEqual([]);
  });
});

describe('recover-quorum: the destructive gate is bound to what the plan read', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clusters: [{ name: 'prod', channel: 'C0PROD00001', nodes: controlPlanes(3, { channel: '1.28/stable' }) }] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("stops, running nothing, when a survivor's last index moved before the second approval", { timeout: 60_000 }, async () => {
    await lose(h.sim, ['k8s-2', 'k8s-3']);
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'recover-quorum');
    const id = jobId!;
    const gate = await approvePlanThenDestructiveButton(h, id);
    expect(JSON.stringify(h.thread(id).find((m) => m.ts === gate.messageTs)?.blocks)).toMatch(/Binding: sha256 `[0-9a-f]{64}`/);
    expect(await h.click(bob, gate)).toBe(200);
    h.sim.state.node('k8s-1').raftLag = 3;
    expect(await h.click(carol, gate)).toBe(200);
    await h.waitState(id, 'failed', 30_000);
    expect(text(h, id)).toMatch(/The plan no longer holds: k8s-1's last index moved (\d+) → (\d+)\. Nothing was run; request recover-quorum again\./);
    expect(h.sim.commandLog.slice(from).filter((c) => MUTATING.test(words(c)))).toEqual([]);
  });
});

describe('recover-quorum: a failed step after the stop offers retry or restore (k8s-1..3 voters, k8s-4 stand-by)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clusters: [{ name: 'prod', channel: 'C0PROD00001', nodes: controlPlanes(4, { channel: '1.28/stable' }) }] });
    await lose(h.sim, ['k8s-1', 'k8s-2']);
  });
  afterAll(async () => {
    await h?.stop();
  });
  // the delete of step 5 on k8s-4 "succeeds" without deleting anything (a skipped delete)
  const skipDelete = () => h.sim.inject({ node: 'k8s-4', match: 'rm -f /var/snap/microk8s/current/var/kubernetes/backend/', kind: 'fail', exitCode: 0, stderr: '', times: 1 });
  const choiceButton = (id: string, label: string) => h.waitButton(id, label, 60_000);

  it('restore: every survivor gets its step-1 backup back and starts as it was', { timeout: 120_000 }, async () => {
    skipDelete();
    const { jobId } = await h.command(alice, 'recover-quorum');
    const id = jobId!;
    await approveBoth(h, id);
    const restore = await choiceButton(id, 'Restore every survivor');
    const t = text(h, id);
    expect(t).toMatch(/k8s-4 still has .*open-1.* after deleting its leftovers: it would fail to rejoin/);
    expect(t).toMatch(/Survivors now: k8s-3: microk8s is not running, try microk8s start, \d+ raft file\(s\); k8s-4: microk8s is not running/);
    // the requester may not pick the destructive option
    expect(await h.click(alice, restore)).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.parent(id)?.text).toMatch(/awaiting approval$/);
    expect(await h.click(carol, restore)).toBe(200);
    await h.waitState(id, 'failed', 60_000);
    expect(text(h, id)).toMatch(/Every survivor was restored from its step-1 backup and started as it was; quorum is still lost/);
    const s = h.sim.state;
    expect(['k8s-3', 'k8s-4'].map((n) => [s.node(n).stopped, s.node(n).datastoreFault, s.node(n).dqliteRole])).toEqual([[false, undefined, 'voter'], [false, undefined, 'standby']]);
    expect(s.hasQuorum()).toBe(false);
  });

  it('retry: the step runs again and the recovery finishes', { timeout: 120_000 }, async () => {
    skipDelete();
    const { jobId } = await h.command(alice, 'recover-quorum');
    const id = jobId!;
    await approveBoth(h, id);
    expect(await h.click(alice, await choiceButton(id, 'Retry the step'))).toBe(200);
    await h.waitState(id, 'succeeded', 60_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${text(h, id).slice(0, 6000)}`);
    });
    const s = h.sim.state;
    expect(['k8s-3', 'k8s-4'].map((n) => [s.node(n).datastoreFault, s.node(n).dqliteRole])).toEqual([[undefined, 'voter'], [undefined, 'voter']]);
    expect(s.hasQuorum()).toBe(true);
  });
});

describe('recover-quorum: afterwards status marks the lost nodes and add-node refuses them until reinstalled', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clusters: [{ name: 'prod', channel: 'C0PROD00001', nodes: controlPlanes(3, { channel: '1.28/stable' }) }] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('shows k8s-2 and k8s-3 as LOST; add-node k8s-2 is refused while its datastore names the old cluster, allowed after a reinstall', { timeout: 120_000 }, async () => {
    await lose(h.sim, ['k8s-2', 'k8s-3']);
    const { jobId } = await h.command(alice, 'recover-quorum --survivors k8s-1');
    await approveBoth(h, jobId!);
    await h.waitState(jobId!, 'succeeded', 60_000);

    const before = h.slack.responses.length;
    await h.command(alice, 'status');
    const status = await h.slack.waitFor(() => h.slack.responses.slice(before).find((r) => typeof r.body.text === 'string' && r.body.text.startsWith('status of prod')), 30_000);
    const body = JSON.stringify(status.body.blocks).replaceAll('\\n', '\n');
    expect(body).toMatch(/k8s-2 +control-plane +- +\S+ +\S+ +\S+ +\S+ +LOST/);
    expect(body).toMatch(new RegExp(`⛔ k8s-3 is lost \\(recover-quorum job ${jobId}, .*\\): never start it with its old data; reinstall MicroK8s on it before \`add-node k8s-3\``));

    // k8s-2 comes back with its old data
    await h.sim.setDown('k8s-2', false);
    const from = h.sim.commandLog.length;
    const { jobId: addId } = await h.command(alice, 'add-node k8s-2');
    await h.waitState(addId!, 'failed', 30_000);
    expect(text(h, addId!)).toMatch(/k8s-2 was declared lost by recover-quorum job \d+, and its datastore still names the old cluster \(10\.0\.0\.11:19001, 10\.0\.0\.12:19001, 10\.0\.0\.13:19001\)/);
    expect(h.sim.commandLog.slice(from).filter((c) => /^microk8s (join|add-node)/.test(words(c)))).toEqual([]);

    // reinstalled: its datastore is its own again → the mark is cleared and it joins
    h.sim.state.node('k8s-2').staleMembers = undefined;
    const again = await h.command(alice, 'add-node k8s-2');
    await h.waitState(again.jobId!, 'awaiting approval', 30_000);
    expect(await h.click(bob, await h.waitButton(again.jobId!, 'Approve'))).toBe(200);
    await h.waitState(again.jobId!, 'succeeded', 60_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${text(h, again.jobId!).slice(0, 4000)}`);
    });
    expect(simMembership(h.sim.state).isMember('k8s-2')).toBe(true);
    expect((await h.app.redis.hkeys('mk8s:lost:prod')).toSorted()).toEqual(['k8s-3']);
  });
});
