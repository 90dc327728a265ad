import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { addLoadBalancer, proxyEndpoints, readNodeFile } from '../../src/sim/node-config.ts';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { SshConnection } from '../../src/ssh/connection.ts';
import type { SshTarget } from '../../src/ssh/types.ts';
import { SUDO, clientFiles, connect, type Conn } from './helpers.ts';

let cluster: SimCluster;
let files: Awaited<ReturnType<typeof clientFiles>>;
let k1: Conn;
let w1: Conn;
const shells: SshConnection[] = [];

function shell(node: string): SshConnection {
  const info = cluster.nodes.find((n) => n.name === node)!;
  const target: SshTarget = {
    node, host: info.host, port: info.port, user: cluster.user, privateKeyPath: files.privateKeyPath, knownHostsPath: files.knownHostsPath,
    sudo: true, connectTimeoutMs: 5_000, commandTimeoutMs: 10_000,
  };
  const s = new SshConnection(target);
  shells.push(s);
  return s;
}

beforeAll(async () => {
  cluster = await startSimCluster({
    nodes: [{ name: 'k8s-1' }, { name: 'k8s-2', failureDomain: 7 }, { name: 'k8s-3' }, { name: 'w1', role: 'worker' }],
    latency: { defaultMs: 0, restartMs: 40 },
    workloads: false,
  });
  files = await clientFiles(cluster);
  k1 = await connect(cluster, 'k8s-1', { privateKey: files.privateKey });
  w1 = await connect(cluster, 'w1', { privateKey: files.privateKey });
});
afterAll(async () => {
  for (const s of shells) s.close();
  k1.close();
  w1.close();
  await cluster.stop();
});

describe('args files', () => {
  it('has the default ha-conf and apiserver-proxy args, readable only as root', async () => {
    expect(await k1.exec(`${SUDO}cat /var/snap/microk8s/current/args/ha-conf`)).toEqual({ stdout: 'failure-domain=1\n', stderr: '', code: 0 });
    expect(readNodeFile(cluster.state, cluster.state.node('k8s-2'), '/var/snap/microk8s/current/args/ha-conf')).toBe('failure-domain=7\n');
    expect((await k1.exec('cat /var/snap/microk8s/current/args/ha-conf')).stderr).toBe('cat: /var/snap/microk8s/current/args/ha-conf: Permission denied\n');
    const args = await w1.exec(`${SUDO}cat /var/snap/microk8s/current/args/apiserver-proxy`);
    expect(args.stdout).toBe('--traefik-config ${SNAP_DATA}/args/traefik/traefik.yaml\n--kubeconfig ${SNAP_DATA}/credentials/kubelet.config\n--refresh-interval 30s\n');
    expect((await k1.exec(`${SUDO}stat -c '%U %a' /var/snap/microk8s/current/args/ha-conf`)).stdout).toBe('root 660\n');
  });

  it("has a worker's provider.yaml listing every control-plane node", async () => {
    const text = (await w1.exec(`${SUDO}cat /var/snap/microk8s/current/args/traefik/provider.yaml`)).stdout;
    const doc = parse(text) as { tcp: { routers: Record<string, unknown>; services: { 'kube-apiserver': { loadBalancer: { servers: Array<{ address: string }> } } } } };
    expect(doc.tcp.services['kube-apiserver'].loadBalancer.servers.map((s) => s.address)).toEqual(['10.0.0.11:16443', '10.0.0.12:16443', '10.0.0.13:16443']);
    expect(doc.tcp.routers['Router-1']).toEqual({ rule: 'HostSNI(`*`)', service: 'kube-apiserver', tls: { passthrough: true } });
    expect((await k1.exec(`${SUDO}cat /var/snap/microk8s/current/args/traefik/provider.yaml`)).code).toBe(1);
  });
});

describe('cp, mv, chmod', () => {
  it('backs up with cp -p, keeping owner and mode, and moves a file over another', async () => {
    const f = '/var/snap/microk8s/current/args/ha-conf';
    expect(await k1.exec(`${SUDO}cp -p ${f} ${f}.mk8s-1`)).toEqual({ stdout: '', stderr: '', code: 0 });
    expect((await k1.exec(`${SUDO}stat -c '%U %a' ${f}.mk8s-1`)).stdout).toBe('root 660\n');
    expect((await k1.exec(`cp ${f} /tmp/x`)).stderr).toBe(`cp: cannot open '${f}' for reading: Permission denied\n`);
    expect((await k1.exec(`${SUDO}cp /nope /tmp/x`)).stderr).toBe("cp: cannot stat '/nope': No such file or directory\n");
    expect((await k1.exec(`${SUDO}mv -f ${f}.mk8s-1 ${f}.mk8s-2`)).code).toBe(0);
    expect((await k1.exec(`${SUDO}cat ${f}.mk8s-1`)).code).toBe(1);
    expect((await k1.exec(`${SUDO}cat ${f}.mk8s-2`)).stdout).toBe('failure-domain=1\n');
    expect((await k1.exec(`${SUDO}chmod 0644 ${f}.mk8s-2`)).code).toBe(0);
    expect((await k1.exec(`${SUDO}stat -c %a ${f}.mk8s-2`)).stdout).toBe('644\n');
    expect((await k1.exec(`${SUDO}rm -f ${f}.mk8s-2`)).code).toBe(0);
  });
});

describe('SFTP upload (src/ssh upload against the simulator)', () => {
  it('creates a new 0600 file in the home directory, as the SSH user, and logs it', async () => {
    const s = shell('k8s-1');
    const path = await s.upload('hello\n', '.mk8s-ops-test-1');
    expect(path).toBe('/home/ubuntu/.mk8s-ops-test-1');
    expect(await k1.exec(`stat -c '%U %a %s' ${path}`)).toEqual({ stdout: 'ubuntu 600 6\n', stderr: '', code: 0 });
    expect((await k1.exec(`cat ${path}`)).stdout).toBe('hello\n');
    expect(cluster.commandLog.some((c) => c.node === 'k8s-1' && c.command === `sftp put ${path}`)).toBe(true);
    // never over an existing file (or a planted symlink)
    await expect(s.upload('again\n', '.mk8s-ops-test-1')).rejects.toThrow(/cannot upload \.mk8s-ops-test-1 to k8s-1/);
    expect((await k1.exec(`cat ${path}`)).stdout).toBe('hello\n');
    // nor where the user may not write
    await expect(s.upload('x', '/var/snap/microk8s/current/args/ha-conf.new')).rejects.toThrow(/permission denied/);
    const big = Buffer.alloc(100_000, 'ab');
    const p2 = await s.upload(big, '/tmp/mk8s-big');
    expect((await k1.exec(`sha256sum ${p2}`)).stdout.split(' ')[0]).toBe((await import('node:crypto')).createHash('sha256').update(big).digest('hex'));
    await s.exec(['rm', '-f', path, p2]);
  });
});

describe('failure domain and restarts', () => {
  it('applies ha-conf at microk8s start, with a NotReady window; a running node keeps the old value', async () => {
    const node = cluster.state.node('k8s-3');
    const s = shell('k8s-3');
    const up = await s.upload('failure-domain=5\n', '.fd');
    await s.exec(['cp', up, '/var/snap/microk8s/current/args/ha-conf'], { privileged: true });
    // not applied while running, and `microk8s start` on a running node restarts nothing
    expect((await s.exec(['microk8s', 'start'], { privileged: true })).stdout).toBe('Started.\n');
    expect((await s.exec(['cat', '/var/snap/microk8s/current/var/kubernetes/backend/failure-domain'], { privileged: true })).stdout).toBe('1\n');
    expect((await s.exec(['microk8s', 'stop'], { privileged: true })).stdout).toBe('Stopped.\n');
    expect(cluster.state.readyCondition(node)).toBe('Unknown');
    const startedAt = cluster.state.now();
    expect((await s.exec(['microk8s', 'start'], { privileged: true })).stdout).toBe('Started.\n');
    // the NotReady window opened at the start (read off the node, not the clock: under load it may already be over)
    expect(node.restartingUntil).toBeGreaterThan(startedAt);
    expect((await s.exec(['microk8s', 'status', '--wait-ready', '--timeout', '5'], { privileged: true })).stdout).toMatch(/^microk8s is running/);
    expect(cluster.state.readyCondition(node)).toBe('True');
    expect((await s.exec(['cat', '/var/snap/microk8s/current/var/kubernetes/backend/failure-domain'], { privileged: true })).stdout).toBe('5\n');
    expect(node.failureDomain).toBe(5);
  });

  it('on a worker, microk8s start/stop print the worker message and change nothing', async () => {
    const r = await w1.exec(`${SUDO}microk8s stop`);
    expect(r).toEqual({ stdout: "This MicroK8s deployment is acting as a node in a cluster.\nUse 'snap stop microk8s' to stop services on this node.\n", stderr: '', code: 0 });
    expect(cluster.state.node('w1').stopped).toBe(false);
  });
});

describe('snap services / snap restart and the API-server proxy', () => {
  it('lists the proxy service as snapd does, and restarts it only as root', async () => {
    expect((await w1.exec('snap services microk8s.daemon-apiserver-proxy')).stdout).toBe(
      'Service                          Startup  Current  Notes\nmicrok8s.daemon-apiserver-proxy  enabled  active   -\n',
    );
    expect((await k1.exec('snap services microk8s.daemon-apiserver-proxy')).stdout).toContain('microk8s.daemon-apiserver-proxy  disabled  inactive  -');
    expect(await w1.exec('snap restart microk8s.daemon-apiserver-proxy')).toEqual({ stdout: '', stderr: 'error: access denied (try with sudo)\n', code: 1 });
    expect(await w1.exec(`${SUDO}snap restart microk8s.daemon-apiserver-proxy`)).toEqual({ stdout: 'Restarted.\n', stderr: '', code: 0 });
    expect((await w1.exec(`${SUDO}snap restart microk8s.daemon-nope`)).stderr).toBe('error: snap "microk8s" has no service "daemon-nope"\n');
  });

  it('reads provider.yaml at restart: an unreachable address makes the worker NotReady; a known load balancer works', async () => {
    const w = cluster.state.node('w1');
    const s = shell('w1');
    const provider = '/var/snap/microk8s/current/args/traefik/provider.yaml';
    const original = readNodeFile(cluster.state, w, provider)!;
    const write = async (text: string) => {
      const up = await s.upload(text, `.p-${Math.random().toString(16).slice(2)}`);
      await s.exec(['cp', up, provider], { privileged: true });
      await s.exec(['rm', '-f', up]);
    };
    await write(original.replace(/servers:\n[\s\S]*$/, 'servers:\n          - address: 10.9.9.9:6443\n'));
    await s.exec(['snap', 'restart', 'microk8s.daemon-apiserver-proxy'], { privileged: true });
    expect(proxyEndpoints(cluster.state, w)).toEqual(['10.9.9.9:6443']);
    expect(cluster.state.readyCondition(w)).toBe('False');
    addLoadBalancer(cluster.state, '10.9.9.9:6443');
    await s.exec(['snap', 'restart', 'microk8s.daemon-apiserver-proxy'], { privileged: true });
    expect(cluster.state.readyCondition(w)).toBe('True');
    // an empty list: the proxy does not start
    await write(original.replace(/servers:\n[\s\S]*$/, 'servers: []\n'));
    await s.exec(['snap', 'restart', 'microk8s.daemon-apiserver-proxy'], { privileged: true });
    expect((await w1.exec('snap services microk8s.daemon-apiserver-proxy')).stdout).toContain('enabled  inactive');
    expect(cluster.state.readyCondition(w)).toBe('False');
    await write(original);
    await s.exec(['snap', 'restart', 'microk8s.daemon-apiserver-proxy'], { privileged: true });
    expect(cluster.state.readyCondition(w)).toBe('True');
  });

  it('keeps args across a refresh (copied to the new revision) and goes back to the old copy on revert', async () => {
    const s = shell('k8s-1');
    const up = await s.upload('failure-domain=9\n', '.fd9');
    await s.exec(['cp', up, '/var/snap/microk8s/current/args/ha-conf'], { privileged: true });
    await s.exec(['snap', 'refresh', 'microk8s', '--channel=1.23/stable'], { privileged: true });
    expect((await s.exec(['cat', '/var/snap/microk8s/current/args/ha-conf'], { privileged: true })).stdout).toBe('failure-domain=9\n');
    const up2 = await s.upload('failure-domain=10\n', '.fd10');
    await s.exec(['cp', up2, '/var/snap/microk8s/current/args/ha-conf'], { privileged: true });
    await s.exec(['snap', 'revert', 'microk8s'], { privileged: true });
    expect((await s.exec(['cat', '/var/snap/microk8s/current/args/ha-conf'], { privileged: true })).stdout).toBe('failure-domain=9\n');
  });
});

describe('node leases (kube-node-lease)', () => {
  const renewTime = async (node: string): Promise<number> => {
    const r = await k1.exec(`${SUDO}microk8s kubectl get lease ${node} -n kube-node-lease -o json`);
    expect(r.code).toBe(0);
    const lease = JSON.parse(r.stdout) as { kind: string; spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string } };
    expect(lease.kind).toBe('Lease');
    expect(lease.spec.holderIdentity).toBe(node);
    expect(lease.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    return Date.parse(lease.spec.renewTime);
  };

  it('renews while the kubelet reaches the API, freezes while the node is stopped', async () => {
    // k8s-1 was refreshed and reverted above: let it finish restarting
    await k1.exec(`${SUDO}microk8s status --wait-ready --timeout 5`);
    const before = Date.now();
    expect(await renewTime('k8s-2')).toBeGreaterThanOrEqual(before - 1);
    const k2 = shell('k8s-2');
    await k2.exec(['microk8s', 'stop'], { privileged: true });
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    expect(await renewTime('k8s-2')).toBeLessThanOrEqual(stoppedAt);
    await k2.exec(['microk8s', 'start'], { privileged: true });
    await k2.exec(['microk8s', 'status', '--wait-ready', '--timeout', '5'], { privileged: true });
    expect(await renewTime('k8s-2')).toBeGreaterThan(stoppedAt);
    expect((await k1.exec(`${SUDO}microk8s kubectl get lease nope -n kube-node-lease -o json`)).stderr).toBe(
      'Error from server (NotFound): leases.coordination.k8s.io "nope" not found\n',
    );
  });
});
