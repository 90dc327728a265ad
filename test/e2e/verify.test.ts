/**
 * `verify` through Slack against the simulator: the seed's verification workload — deploy
 * microbot with one more replica than nodes, expose it as a NodePort, curl it on every node,
 * require answers from more than one pod — and its cleanup, also when curl fails or the job
 * is cancelled.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { simMembership, type SimCluster } from '../../src/sim/index.ts';
import { workloadStore } from '../../src/sim/workloads.ts';
import { approveGate, controlPlanes, workers } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const NODES = [...controlPlanes(3), ...workers(1)];

describe('verify through Slack', () => {
  let h: Harness;
  let s: SimCluster;
  const lines = (id: string) => h.thread(id).map((m) => m.text);
  const verifyObjects = () => ({
    deployments: [...workloadStore(s.state).deployments.keys()].filter((k) => k.includes('microbot-verify')),
    services: [...workloadStore(s.state).services.keys()].filter((k) => k.includes('microbot-verify')),
    pods: s.state.pods.filter((p) => p.labels.app?.startsWith('microbot-verify')).map((p) => p.name),
  });

  beforeAll(async () => {
    h = await startHarness({ clusters: [{ name: 'prod', channel: 'C0PROD00001', nodes: NODES }] });
    s = h.sim;
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => s.clearFaults());

  it('--dry-run prints the plan and runs nothing; bad input is refused with zero SSH commands', async () => {
    const before = s.commandLog.length;
    const dry = await h.command(alice, 'verify --dry-run');
    expect(dry.jobId).toBeUndefined();
    expect(dry.full).toContain('create deploy --image dontrebootme/microbot:v1 microbot-verify-');
    expect(dry.full).toContain('scale deploy microbot-verify-<job> --replicas 5');
    expect(dry.full).toContain('expose deploy microbot-verify-<job> --port 80 --type NodePort');
    expect(dry.full).toContain('on k8s-2: curl --silent --max-time 5 http://<k8s-1 InternalIP, else its host>:<nodePort>/');
    expect(dry.full).toContain('on k8s-1: curl --silent --max-time 5 http://<w1 InternalIP, else its host>:<nodePort>/');
    expect(dry.full).toContain('delete deploy microbot-verify-<job> --ignore-not-found');
    for (const text of ['verify now', 'verify --batch 2', 'verify --cluster nope']) {
      const res = await h.command(alice, text);
      expect(res.jobId, text).toBeUndefined();
    }
    expect((await h.command(USERS.carol, 'verify')).text).toMatch(/Not allowed/); // an approver, not an operator
    expect(s.commandLog.length).toBe(before);
  });

  it('deploys, curls every node, reports which pod answered, requires more than one pod, then deletes the workload', async () => {
    const from = s.commandLog.length;
    const res = await h.command(alice, 'verify');
    const id = res.jobId!;
    await h.waitState(id, 'awaiting approval');
    // It takes the cluster hold like any mutating verb.
    const busy = await h.command(alice, 'upgrade k8s-1 1.23/stable');
    expect(busy.jobId).toBeUndefined();
    expect(busy.text).toContain(`job ${id}`);
    expect(s.commandLog.length).toBe(from); // nothing on the nodes before the approval
    await approveGate(h, id);

    const name = `microbot-verify-${id}`;
    const cmds = s.commandLog.slice(from).map((r) => `${r.node}: ${r.argv.join(' ')}`);
    expect(cmds).toContainEqual(expect.stringMatching(new RegExp(`: microk8s kubectl create deploy --image dontrebootme/microbot:v1 ${name}$`)));
    expect(cmds).toContainEqual(expect.stringMatching(new RegExp(`: microk8s kubectl scale deploy ${name} --replicas 5$`)));
    expect(cmds).toContainEqual(expect.stringMatching(new RegExp(`: microk8s kubectl expose deploy ${name} --port 80 --type NodePort$`)));
    expect(cmds).toContainEqual(expect.stringMatching(new RegExp(`: microk8s kubectl get svc ${name} -o json$`)));
    // Each node's NodePort is curled at its InternalIP from another node (the next one): the network path.
    NODES.forEach((n, i) => {
      const source = NODES[(i + 1) % NODES.length]!.name;
      const ip = s.state.node(n.name).ip.replaceAll('.', '\\.');
      expect(cmds.filter((c) => new RegExp(`^${source}: curl --silent --max-time 5 http://${ip}:3\\d{4}/$`).test(c)), n.name).toHaveLength(2);
    });
    expect(cmds.filter((c) => c.includes('curl') && c.includes('127.0.0.1'))).toEqual([]);

    const curlLine = lines(id).find((t) => t.startsWith(`✅ curl the NodePort of every node of ${name}`))!;
    const pods = new Set([...curlLine.matchAll(new RegExp(`${name}-[a-z0-9]+-[a-z0-9]{5}`, 'g'))].map((m) => m[0]));
    expect(pods.size).toBeGreaterThan(1);
    NODES.forEach((n, i) => expect(curlLine).toContain(`${n.name} (${s.state.node(n.name).ip}, from ${NODES[(i + 1) % NODES.length]!.name}): ${name}-`));
    expect(curlLine).toMatch(/\d+ different pods answered 8 requests/);
    expect(lines(id)).toContainEqual(expect.stringMatching(new RegExp(`^✅ delete the verification workload ${name} — service "${name}" deleted; deployment.apps "${name}" deleted`)));
    expect(verifyObjects()).toEqual({ deployments: [], services: [], pods: [] });
  });

  it('fails when a node gets no answer, says which, and still deletes the workload', async () => {
    // k8s-2's NodePort is curled from k8s-3.
    s.inject({ node: 'k8s-3', match: /^curl /, kind: 'fail', exitCode: 7, stderr: '' });
    const res = await h.command(alice, 'verify');
    const id = res.jobId!;
    await h.click(bob, await h.waitButton(id, 'Approve'));
    await h.waitState(id, 'failed', 30_000);
    const name = `microbot-verify-${id}`;
    const text = lines(id).join('\n');
    expect(text).toContain('The verification workload failed: no pod answered on k8s-2');
    expect(text).toContain(`k8s-2 (${s.state.node('k8s-2').ip}, from k8s-3): (curl exit 7: connection refused), (curl exit 7: connection refused)`);
    expect(text).toMatch(new RegExp(`✅ delete the verification workload ${name}`));
    expect(verifyObjects()).toEqual({ deployments: [], services: [], pods: [] });
  });

  it('fails when the network path to a node is cut, though kube-proxy on the node itself answers', async () => {
    const ip = s.state.node('w1').ip;
    simMembership(s.state).setBlocked('k8s-1', ip, true); // k8s-1 drops packets to w1
    try {
      const res = await h.command(alice, 'verify');
      const id = res.jobId!;
      await h.click(bob, await h.waitButton(id, 'Approve'));
      await h.waitState(id, 'failed', 45_000);
      const text = lines(id).join('\n');
      expect(text).toContain('The verification workload failed: no pod answered on w1');
      expect(text).toContain(`w1 (${ip}, from k8s-1): (curl exit 28: no answer within 5 s), (curl exit 28: no answer within 5 s)`);
      expect(text).toMatch(/k8s-1 \(10\.[0-9.]+, from k8s-2\): microbot-verify-/);
      expect(verifyObjects()).toEqual({ deployments: [], services: [], pods: [] });
    } finally {
      simMembership(s.state).setBlocked('k8s-1', ip, false);
    }
  });

  it('fails when only one pod answers (no load balancing), and cleans up', async () => {
    // Every curl is answered by the same pod: the page names one hostname whatever the pod.
    s.inject({ node: '*', match: /^curl /, kind: 'fail', exitCode: 0, stderr: '', stdout: '<p class="centered">Container hostname: microbot-verify-x-5484459568-g299z</p>\n' });
    const res = await h.command(alice, 'verify');
    const id = res.jobId!;
    await h.click(bob, await h.waitButton(id, 'Approve'));
    await h.waitState(id, 'failed', 30_000);
    expect(lines(id).join('\n')).toContain('only one pod (microbot-verify-x-5484459568-g299z) answered 8 requests: the service does not spread the load');
    expect(verifyObjects()).toEqual({ deployments: [], services: [], pods: [] });
  });

  it('a cancel in the middle still deletes the workload', async () => {
    s.inject({ node: '*', match: 'rollout status', kind: 'delay', ms: 800, times: 1 });
    const res = await h.command(alice, 'verify');
    const id = res.jobId!;
    await h.click(bob, await h.waitButton(id, 'Approve'));
    const name = `microbot-verify-${id}`;
    await h.slack.waitFor(() => h.thread(id).find((m) => m.text.startsWith(`⏳ wait for the ${name} pods to run`)), 20_000);
    expect(workloadStore(s.state).deployment('default', name)).toBeDefined();
    await h.command(alice, `cancel ${id}`);
    await h.waitState(id, 'cancelled', 20_000);
    expect(lines(id).join('\n')).toContain(`Deleted the verification workload ${name} before stopping.`);
    expect(verifyObjects()).toEqual({ deployments: [], services: [], pods: [] });
  });
});
