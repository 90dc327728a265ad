import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { addLoadBalancer, proxyEndpoints, proxyRestarts, readNodeFile } from '../../src/sim/node-config.ts';
import type { SimCommandRecord } from '../../src/sim/index.ts';
import { approveGate, controlPlanes, expectRefused, words, workers } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const ARGS = '/var/snap/microk8s/current/args/apiserver-proxy';
const PROVIDER = '/var/snap/microk8s/current/args/traefik/provider.yaml';
const CONTROL_PLANES = ['10.0.0.11:16443', '10.0.0.12:16443', '10.0.0.13:16443'];

type Provider = { tcp: { routers: Record<string, unknown>; services: { 'kube-apiserver': { loadBalancer: { servers: Array<{ address: string }> } } } } };

describe('apiserver-proxy through Slack, on a 3 control-plane + 2 worker cluster', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        {
          name: 'prod',
          channel: 'C0PROD00001',
          nodes: [...controlPlanes(3), ...workers(2)],
          // a broken proxy shows as a missing kubelet heartbeat: do not wait 30 s for it
          policy: { readyTimeout: '2s' },
        },
      ],
    });
    addLoadBalancer(h.sim.state, '10.0.0.100:16443');
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => h.sim.clearFaults());

  const file = (node: string, path: string) => readNodeFile(h.sim.state, h.sim.state.node(node), path);
  const servers = (node: string) => (parse(file(node, PROVIDER) ?? '') as Provider).tcp.services['kube-apiserver'].loadBalancer.servers.map((s) => s.address);
  const thread = (id: string) => h.thread(id).map((m) => m.text).join('\n');
  const changes = (log: SimCommandRecord[]) => log.map(words).filter((c) => /^(cp |mv |sftp-put|snap restart|chmod )/.test(c));

  it('--lb writes the load balancer into provider.yaml and --refresh-interval 0, keeps backups, restarts the proxy; w1 stays Ready', async () => {
    const argsBefore = file('w1', ARGS)!;
    const from = h.sim.commandLog.length;
    const restarts = proxyRestarts(h.sim.state, h.sim.state.node('w1'));
    const dry = await h.command(alice, 'apiserver-proxy w1 --lb 10.0.0.100:16443 --dry-run');
    expect(dry.full).toContain('restart the API-server proxy on w1');
    expect(h.sim.commandLog.length).toBe(from);

    const { jobId } = await h.command(alice, 'apiserver-proxy w1 --lb 10.0.0.100:16443');
    const id = jobId!;
    const approve = await h.waitButton(id, 'Approve');
    expect(changes(h.sim.commandLog.slice(from))).toEqual([]);
    const gate = JSON.stringify(h.thread(id).find((m) => m.ts === approve.messageTs)?.blocks);
    expect(gate).toContain(`provider.yaml API servers: ${CONTROL_PLANES.join(', ')} → 10.0.0.100:16443`);
    expect(gate).toContain('--refresh-interval: 30s → 0');
    await h.click(bob, approve);
    await h.waitState(id, 'succeeded', 30_000);

    // provider.yaml: valid YAML of the same structure, the router kept, only the LB listed
    const doc = parse(file('w1', PROVIDER)!) as Provider;
    expect(doc.tcp.services['kube-apiserver'].loadBalancer.servers).toEqual([{ address: '10.0.0.100:16443' }]);
    expect(doc.tcp.routers['Router-1']).toEqual({ rule: 'HostSNI(`*`)', service: 'kube-apiserver', tls: { passthrough: true } });
    // args: only the refresh line changed
    expect(file('w1', ARGS)).toBe(argsBefore.replace('--refresh-interval 30s', '--refresh-interval 0'));
    // backups of both files, with the old content
    const log = h.sim.commandLog.slice(from);
    const cmds = log.map(words);
    const backups = cmds.filter((c) => /^cp -p \S+ \S+\.mk8s-\d{8}T\d{6}Z$/.test(c)).map((c) => c.split(' ')[3]!);
    expect(backups).toHaveLength(2);
    expect(file('w1', backups.find((b) => b.startsWith(ARGS))!)).toBe(argsBefore);
    expect(parse(file('w1', backups.find((b) => b.startsWith(PROVIDER))!)!)).toMatchObject({ tcp: { services: { 'kube-apiserver': { loadBalancer: { servers: CONTROL_PLANES.map((address) => ({ address })) } } } } });
    // everything ran on w1 (kubectl on a control-plane node), as root where it writes; no redirection
    expect(log.filter((c) => /^(cp|mv|snap restart)/.test(words(c))).every((c) => c.node === 'w1' && c.sudo)).toBe(true);
    expect(log.filter((c) => words(c).startsWith('microk8s kubectl')).every((c) => c.node.startsWith('k8s-'))).toBe(true);
    expect(log.every((c) => !/[>|;&]/.test(c.command))).toBe(true);
    // the proxy was restarted once and uses the LB; w1's heartbeat was seen and it is Ready
    expect(cmds.filter((c) => c === 'snap restart microk8s.daemon-apiserver-proxy')).toHaveLength(1);
    expect(proxyRestarts(h.sim.state, h.sim.state.node('w1'))).toBe(restarts + 1);
    expect(proxyEndpoints(h.sim.state, h.sim.state.node('w1'))).toEqual(['10.0.0.100:16443']);
    expect(cmds.some((c) => c === 'microk8s kubectl get lease w1 -n kube-node-lease -o json')).toBe(true);
    expect(h.sim.state.isReady(h.sim.state.node('w1'))).toBe(true);
    expect(thread(id)).toContain('w1 reaches the API through 10.0.0.100:16443');
    // w2 was not touched
    expect(servers('w2')).toEqual(CONTROL_PLANES);

    // the same request again: nothing to do, nothing written or restarted
    const again = h.sim.commandLog.length;
    const second = await h.command(alice, 'apiserver-proxy w1 --lb 10.0.0.100:16443');
    await h.waitState(second.jobId!, 'succeeded');
    expect(thread(second.jobId!)).toContain('Nothing to do');
    expect(changes(h.sim.commandLog.slice(again))).toEqual([]);
  });

  it('--auto goes back to the control-plane nodes and --refresh-interval 30s', async () => {
    const { jobId } = await h.command(alice, 'apiserver-proxy w1 --auto');
    await approveGate(h, jobId!);
    expect(servers('w1')).toEqual(CONTROL_PLANES);
    expect(file('w1', ARGS)).toContain('--refresh-interval 30s\n');
    expect(file('w1', ARGS)).not.toContain('--refresh-interval 0');
    expect(proxyEndpoints(h.sim.state, h.sim.state.node('w1'))).toEqual(CONTROL_PLANES);
    expect(h.sim.state.isReady(h.sim.state.node('w1'))).toBe(true);
  });

  it('an address the worker cannot use: its heartbeat stops, and Restore puts the old files back', async () => {
    const before = { args: file('w2', ARGS), provider: file('w2', PROVIDER) };
    const { jobId } = await h.command(alice, 'apiserver-proxy w2 --lb 10.9.9.9:6443');
    const id = jobId!;
    await h.click(bob, await h.waitButton(id, 'Approve'));
    const restore = await h.waitButton(id, 'Restore the previous settings', 30_000);
    expect(thread(id)).toMatch(/w2 did not show a kubelet heartbeat within 2 s/);
    expect(h.sim.state.isReady(h.sim.state.node('w2'))).toBe(false);
    await h.click(alice, restore);
    await h.waitState(id, 'failed', 30_000);
    expect(thread(id)).toContain('The previous settings were restored and w2 is healthy again');
    expect(file('w2', ARGS)).toBe(before.args);
    expect(file('w2', PROVIDER)).toBe(before.provider);
    expect(h.sim.state.isReady(h.sim.state.node('w2'))).toBe(true);
  });

  it('refuses control-plane nodes and bad --lb values before any SSH command', async () => {
    const from = h.sim.commandLog.length;
    const cases: Array<[string, RegExp]> = [
      ['apiserver-proxy k8s-1 --lb 10.0.0.100:16443', /k8s-1 is a control-plane node: the API-server proxy runs only on worker nodes/],
      ['apiserver-proxy w1 --lb host', /'host' has no port/],
      ['apiserver-proxy w1 --lb host:99999', /port 99999 is out of range/],
      ['apiserver-proxy w1 --lb a;b:1', /';'/],
      ['apiserver-proxy w1 --lb 10.0.0.256:6443', /'10.0.0.256' is not a host name or IPv4 address/],
      ['apiserver-proxy w1 --lb :6443', /has no host/],
      ['apiserver-proxy w1 --lb lb.example.com:0', /port 0 is out of range/],
      ['apiserver-proxy w1 --lb -x-.example:80', /is not a host name/],
      ['apiserver-proxy w1', /--lb host:port .* or --auto/],
      ['apiserver-proxy w1 --lb 10.0.0.100:16443 --auto', /not both/],
      ['apiserver-proxy nope --auto', /unknown node 'nope'/],
    ];
    await expectRefused(h, cases);
    expect(h.sim.commandLog.length).toBe(from);
  });

  it('changes nothing when the approval is rejected', async () => {
    const before = file('w2', PROVIDER);
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'apiserver-proxy w2 --lb 10.0.0.100:16443');
    await h.click(bob, await h.waitButton(jobId!, 'Reject'));
    await h.waitState(jobId!, 'rejected');
    expect(changes(h.sim.commandLog.slice(from))).toEqual([]);
    expect(file('w2', PROVIDER)).toBe(before);
  });
});
