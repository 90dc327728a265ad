import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readNodeFile } from '../../src/sim/node-config.ts';
import type { SimCommandRecord } from '../../src/sim/index.ts';
import { controlPlanes, expectRefused, words, workers } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const HA_CONF = '/var/snap/microk8s/current/args/ha-conf';
const BACKEND_FD = '/var/snap/microk8s/current/var/kubernetes/backend/failure-domain';

/**
 * Walks the command log in order and returns the largest number of control-plane nodes that were
 * stopped at the same time (between a `microk8s stop` and the next `microk8s start` on that node).
 */
function maxStoppedAtOnce(log: SimCommandRecord[]): number {
  const stopped = new Set<string>();
  let max = 0;
  for (const c of log.toSorted((a, b) => a.startedAt - b.startedAt)) {
    const w = words(c);
    if (w === 'microk8s stop') stopped.add(c.node);
    if (w === 'microk8s start') stopped.delete(c.node);
    max = Math.max(max, stopped.size);
  }
  return max;
}

describe('failure-domain through Slack, on a 3 control-plane + 2 worker cluster', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        {
          name: 'prod',
          channel: 'C0PROD00001',
          nodes: [...controlPlanes(2), { name: 'k8s-3', failureDomain: 3 }, ...workers(2)],
        },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => h.sim.clearFaults());

  const file = (node: string, path: string) => readNodeFile(h.sim.state, h.sim.state.node(node), path);
  const thread = (id: string) => h.thread(id).map((m) => m.text).join('\n');

  it('writes ha-conf, restarts the node, waits until it is Ready in the new domain; a second run skips it', async () => {
    const from = h.sim.commandLog.length;
    const { text, jobId } = await h.command(alice, 'failure-domain k8s-1 2');
    expect(text).toMatch(/^Queued as job \d+/);
    const id = jobId!;
    await h.waitState(id, 'awaiting approval');
    const approve = await h.waitButton(id, 'Approve');
    // Before the approval: reads only.
    const before = h.sim.commandLog.slice(from).map(words);
    expect(before.some((c) => /^(microk8s (stop|start)|cp |mv |sftp-put)/.test(c))).toBe(false);
    expect(h.thread(id).find((m) => m.ts === approve.messageTs)?.text).toContain('Set failure domains and restart MicroK8s on k8s-1');
    await h.click(bob, approve);
    await h.waitState(id, 'succeeded', 30_000);

    expect(file('k8s-1', HA_CONF)).toBe('failure-domain=2\n');
    expect(file('k8s-1', BACKEND_FD)).toBe('2\n');
    expect(h.sim.state.node('k8s-1').failureDomain).toBe(2);
    expect(h.sim.state.isReady(h.sim.state.node('k8s-1'))).toBe(true);
    const log = h.sim.commandLog.slice(from);
    const cmds = log.map(words);
    // stop, then start, on k8s-1, as root; the backup kept the old file
    const stop = log.findIndex((c) => words(c) === 'microk8s stop');
    const start = log.findIndex((c) => words(c) === 'microk8s start');
    expect(stop).toBeGreaterThan(-1);
    expect(start).toBeGreaterThan(stop);
    expect(log[stop]?.node).toBe('k8s-1');
    expect(log[stop]?.sudo).toBe(true);
    const backup = cmds.find((c) => c.startsWith(`cp -p ${HA_CONF} ${HA_CONF}.mk8s-`))!;
    expect(backup).toBeDefined();
    expect(file('k8s-1', backup.split(' ')[3]!)).toBe('failure-domain=1\n');
    // the new content went up over SFTP and was renamed into place
    expect(cmds.some((c) => c.startsWith('sftp-put /home/ubuntu/.mk8s-ops-'))).toBe(true);
    expect(cmds).toContain(`mv -f ${HA_CONF}.mk8s-next ${HA_CONF}`);
    // no shell redirection anywhere
    expect(log.every((c) => !/[>|;&]/.test(c.command))).toBe(true);
    // the kubelet heartbeat and Ready were checked from another control-plane node
    const lease = log.find((c) => words(c).startsWith('microk8s kubectl get lease k8s-1'));
    expect(lease && lease.node !== 'k8s-1').toBe(true);
    expect(log.find((c) => words(c).startsWith('microk8s kubectl wait --for=condition=Ready node/k8s-1'))?.node).not.toBe('k8s-1');
    const t = thread(id);
    for (const step of ['check quorum before restarting k8s-1', 'write failure-domain=2 to k8s-1', 'restart MicroK8s on k8s-1', 'wait for k8s-1 to be Ready in failure domain 2']) {
      expect(h.thread(id).some((m) => m.text.startsWith('✅') && m.text.includes(step))).toBe(true);
    }
    // the inventory does not record the new value: the thread says to update it
    expect(t).toContain('k8s-1: the inventory records no failureDomain; set `failureDomain: 2`');

    // Again: nothing to change, no approval, no restart.
    const again = h.sim.commandLog.length;
    const second = await h.command(alice, 'failure-domain k8s-1 2');
    await h.waitState(second.jobId!, 'succeeded');
    expect(thread(second.jobId!)).toContain('Nothing to do: k8s-1 is already in failure domain 2');
    expect(h.sim.commandLog.slice(again).map(words).some((c) => /^(microk8s (stop|start)|cp |mv |sftp-put)/.test(c))).toBe(false);
  });

  it('--plan does the nodes one at a time, with one approval listing each, never two stopped at once', async () => {
    const from = h.sim.commandLog.length;
    const dry = await h.command(alice, 'failure-domain --plan k8s-1=1,k8s-2=2,k8s-3=3 --dry-run');
    expect(dry.full).toContain('restart MicroK8s on k8s-2');
    expect(h.sim.commandLog.length).toBe(from);

    const { jobId } = await h.command(alice, 'failure-domain --plan k8s-1=1,k8s-2=2,k8s-3=3');
    const id = jobId!;
    await h.waitState(id, 'awaiting approval');
    const approve = await h.waitButton(id, 'Approve');
    const gate = h.thread(id).find((m) => m.ts === approve.messageTs)!;
    expect(gate.text).toContain('k8s-1, k8s-2');
    const body = JSON.stringify(gate.blocks);
    expect(body).toContain('k8s-1: failure-domain 2 → 1 (voter): write ha-conf, restart');
    expect(body).toContain('k8s-2: failure-domain 1 → 2 (voter): write ha-conf, restart');
    expect(body).toContain('k8s-3: already failure-domain 3 (voter): skipped');
    await h.click(bob, approve);
    await h.waitState(id, 'succeeded', 30_000);
    // exactly one approval gate in the thread, for the whole plan
    expect(h.thread(id).filter((m) => m.text.includes('Set failure domains and restart MicroK8s')).length).toBe(1);

    const log = h.sim.commandLog.slice(from);
    expect(maxStoppedAtOnce(log)).toBe(1);
    // k8s-3 was already in domain 3: not restarted; k8s-1 back to 1, then k8s-2 to 2, in that order
    const stops = log.filter((c) => words(c) === 'microk8s stop').map((c) => c.node);
    expect(stops).toEqual(['k8s-1', 'k8s-2']);
    // k8s-2 was stopped only after k8s-1's heartbeat was seen again
    const k1Heartbeat = log.findLastIndex((c) => words(c).startsWith('microk8s kubectl get lease k8s-1'));
    const k2Stop = log.findIndex((c) => c.node === 'k8s-2' && words(c) === 'microk8s stop');
    expect(k1Heartbeat).toBeGreaterThan(-1);
    expect(k2Stop).toBeGreaterThan(k1Heartbeat);
    expect([1, 2, 3].map((n) => file(`k8s-${n}`, BACKEND_FD))).toEqual(['1\n', '2\n', '3\n']);
    expect(thread(id)).toContain('k8s-3: already failure-domain 3');
  });

  it('changes nothing when the approval is rejected', async () => {
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'failure-domain k8s-3 9');
    await h.click(bob, await h.waitButton(jobId!, 'Reject'));
    await h.waitState(jobId!, 'rejected');
    expect(h.sim.commandLog.slice(from).map(words).some((c) => /^(microk8s (stop|start)|cp |mv |sftp-put)/.test(c))).toBe(false);
    expect(file('k8s-3', HA_CONF)).toBe('failure-domain=3\n');
  });

  it('refuses bad domains, workers and unknown nodes before any SSH command', async () => {
    const from = h.sim.commandLog.length;
    const cases: Array<[string, RegExp]> = [
      ['failure-domain k8s-1 abc', /'abc' is not a failure domain/],
      ['failure-domain k8s-1 1.5', /'1.5' is not a failure domain/],
      ['failure-domain k8s-1 -1', /not a flag/],
      ['failure-domain k8s-1 1e3', /'1e3' is not a failure domain/],
      ['failure-domain k8s-1 99999999999', /is not a failure domain/],
      ['failure-domain k8s-1', /missing <domain>/],
      ['failure-domain w1 2', /w1 is a worker node/],
      ['failure-domain nope 2', /unknown node 'nope'/],
      ['failure-domain --plan k8s-1=1,w1=2', /w1 is a worker node/],
      ['failure-domain --plan k8s-1=1,k8s-1=2', /k8s-1 is in the plan twice/],
      ['failure-domain --plan k8s-1:1', /is not node=domain/],
      ['failure-domain --plan k8s-1=x', /'x' is not a failure domain/],
      ['failure-domain k8s-1 2 --plan k8s-2=1', /not both/],
    ];
    await expectRefused(h, cases);
    expect(h.sim.commandLog.length).toBe(from);
  });

  it('does not restart a control-plane node while another one is NotReady', async () => {
    const k3 = h.sim.state.node('k8s-3');
    k3.ready = false;
    try {
      const from = h.sim.commandLog.length;
      const { jobId } = await h.command(alice, 'failure-domain k8s-2 5');
      await h.waitState(jobId!, 'failed');
      expect(thread(jobId!)).toMatch(/k8s-3 are NotReady: restarting another control-plane node now could lose the dqlite quorum/);
      expect(h.sim.commandLog.slice(from).map(words).some((c) => /^microk8s (stop|start)/.test(c))).toBe(false);
    } finally {
      k3.ready = true;
    }
  });

  it('a node that does not come back offers to restart it again; stopping leaves a thread that says what to do', async () => {
    // k8s-2's start fails once (a real start can fail, e.g. a service that does not come up)
    h.sim.inject({ node: 'k8s-2', match: 'microk8s start', kind: 'fail', exitCode: 1, stderr: 'error: cannot perform the following tasks:\n- start of [microk8s.daemon-kubelite] (systemctl command failed)\n', times: 1 });
    const { jobId } = await h.command(alice, 'failure-domain k8s-2 7');
    const id = jobId!;
    await h.click(bob, await h.waitButton(id, 'Approve'));
    const retry = await h.waitButton(id, 'Restart again', 30_000);
    expect(h.sim.state.node('k8s-2').stopped).toBe(true);
    expect(thread(id)).toContain('systemctl command failed');
    await h.click(alice, retry);
    await h.waitState(id, 'succeeded', 30_000);
    expect(file('k8s-2', BACKEND_FD)).toBe('7\n');
    expect(h.sim.state.node('k8s-2').stopped).toBe(false);
    expect(h.thread(id).some((m) => m.text.startsWith('✅') && m.text.includes('restart MicroK8s on k8s-2 (attempt 2)'))).toBe(true);

    // the same failure, and "Stop here": the job fails and says what state k8s-2 is in
    h.sim.inject({ node: 'k8s-2', match: 'microk8s start', kind: 'fail', exitCode: 1, stderr: 'error: cannot perform the following tasks:\n- start of [microk8s.daemon-kubelite]\n', times: 1 });
    const second = await h.command(alice, 'failure-domain k8s-2 8');
    await h.click(bob, await h.waitButton(second.jobId!, 'Approve'));
    await h.click(alice, await h.waitButton(second.jobId!, 'Stop here', 30_000));
    await h.waitState(second.jobId!, 'failed');
    const t = thread(second.jobId!);
    expect(t).toContain("Stopped at k8s-2");
    expect(t).toContain('sudo microk8s start');
    expect(t).toMatch(/k8s-2: ha-conf failure-domain=8, dqlite uses 7/);
    expect(h.sim.state.node('k8s-2').stopped).toBe(true);
    // as the thread advises: the same request again restarts k8s-2 (ha-conf is already written)
    const from = h.sim.commandLog.length;
    const { jobId: again } = await h.command(alice, 'failure-domain k8s-2 8');
    const approve = await h.waitButton(again!, 'Approve');
    expect(JSON.stringify(h.thread(again!).find((m) => m.ts === approve.messageTs)?.blocks)).toContain('k8s-2 is NotReady now; it is restarted first');
    await h.click(bob, approve);
    await h.waitState(again!, 'succeeded', 30_000);
    expect(file('k8s-2', BACKEND_FD)).toBe('8\n');
    expect(h.sim.commandLog.slice(from).map(words).some((c) => c.startsWith('mv -f'))).toBe(false);
  });
});
