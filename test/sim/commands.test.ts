import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { SUDO, clientFiles, connect, type Conn } from './helpers.ts';

let cluster: SimCluster;
let k1: Conn;
let k2: Conn;
let key: Buffer;

beforeAll(async () => {
  cluster = await startSimCluster({
    nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }, { name: 'w1', role: 'worker' }, { name: 'new-1', channel: '1.25/stable' }],
    latency: { defaultMs: 0, drainMs: 5 },
  });
  key = (await clientFiles(cluster)).privateKey;
  k1 = await connect(cluster, 'k8s-1', { privateKey: key });
  k2 = await connect(cluster, 'k8s-2', { privateKey: key });
});
afterAll(async () => {
  k1.close();
  k2.close();
  await cluster.stop();
});

interface KNode {
  metadata: { name: string; labels: Record<string, string> };
  spec: { unschedulable?: boolean; taints?: Array<{ key: string; effect: string }> };
  status: { conditions: Array<{ type: string; status: string }>; nodeInfo: { kubeletVersion: string }; addresses: Array<{ type: string; address: string }> };
}
interface KPod {
  metadata: { name: string; namespace: string; ownerReferences?: Array<{ kind: string; name: string }> };
  spec: { nodeName?: string };
  status: { phase: string; podIP?: string };
}
interface KList<T> {
  apiVersion: string;
  kind: string;
  items: T[];
  metadata: { resourceVersion: string };
}

describe('microk8s status', () => {
  it('prints the pre-1.24 pretty format with HA and the voters', async () => {
    const r = await k1.exec(`${SUDO}microk8s status`);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 6)).toEqual([
      'microk8s is running',
      'high-availability: yes',
      '  datastore master nodes: 10.0.0.11:19001 10.0.0.12:19001 10.0.0.13:19001',
      '  datastore standby nodes: 10.0.0.15:19001',
      'addons:',
      '  enabled:',
    ]);
    expect(r.stdout).toContain('    dns                  # CoreDNS\n');
    expect(r.stdout).not.toContain('(core)');
  });

  it('prints --format yaml and --format short', async () => {
    const y = await k1.exec(`${SUDO}microk8s status --format yaml`);
    const doc = parseYaml(y.stdout) as { microk8s: { running: boolean }; 'high-availability': { enabled: boolean; nodes: Array<{ address: string; role: string }> }; addons: Array<{ name: string; status: string }> };
    expect(y.stdout.startsWith('microk8s:\n  running: True\nhigh-availability:\n  enabled: True\n  nodes:\n    - address: 10.0.0.11:19001\n      role: voter\n')).toBe(true);
    expect(doc.microk8s.running).toBe(true);
    expect(doc['high-availability'].nodes).toEqual([
      { address: '10.0.0.11:19001', role: 'voter' },
      { address: '10.0.0.12:19001', role: 'voter' },
      { address: '10.0.0.13:19001', role: 'voter' },
      { address: '10.0.0.15:19001', role: 'standby' },
    ]);
    expect(doc.addons.find((a) => a.name === 'dns')?.status).toBe('enabled');
    const s = await k1.exec(`${SUDO}microk8s status --format=short`);
    expect(s.stdout.startsWith('microk8s is running\naddons:\ndns: enabled\nha-cluster: enabled\n')).toBe(true);
    const bad = await k1.exec(`${SUDO}microk8s status --format json`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("microk8s status: error: argument --format: invalid choice: 'json'");
  });

  it('uses the addon repositories from 1.24 on', async () => {
    const conn = await connect(cluster, 'new-1', { privateKey: key });
    const r = await conn.exec(`${SUDO}microk8s status`);
    expect(r.stdout).toContain('    dns                  # (core) CoreDNS\n');
    expect((await conn.exec(`${SUDO}microk8s status --format short`)).stdout).toContain('core/dns: enabled\n');
    expect(await conn.exec(`${SUDO}microk8s version`)).toEqual({ stdout: 'MicroK8s v1.25.2 revision 4055\n', stderr: '', code: 0 });
    conn.close();
  });

  it('has no version subcommand before 1.25', async () => {
    const r = await k1.exec(`${SUDO}microk8s version`);
    expect(r.code).toBe(1);
    expect(r.stdout.startsWith("'version' is not a valid MicroK8s subcommand.\nAvailable subcommands are:\n\tadd-node\n")).toBe(true);
    expect(r.stdout.endsWith('\tstop\n\tinspect\n')).toBe(true);
  });

  it('needs sudo when the user is not in the microk8s group', async () => {
    const r = await k1.exec('microk8s status');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Insufficient permissions to access MicroK8s\.\nYou can either try again with sudo or add the user ubuntu to the 'microk8s' group:/);
    expect((await k1.exec('microk8s kubectl get nodes')).stderr).toContain('Insufficient permissions');
    expect((await k1.exec('/snap/bin/microk8s.status')).code).toBe(1);
  });

  it('answers as a worker on a worker node', async () => {
    const w = await connect(cluster, 'w1', { privateKey: key });
    expect(await w.exec(`${SUDO}microk8s kubectl get nodes`)).toEqual({
      stdout: 'This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s kubectl on the master.\n',
      stderr: '',
      code: 0,
    });
    expect(await w.exec(`${SUDO}microk8s status`)).toEqual({ stdout: 'This MicroK8s deployment is acting as a node in a cluster.\nPlease use the master node.\n', stderr: '', code: 1 });
    w.close();
  });

  it('reports a stopped node, and waits for readiness with --wait-ready', async () => {
    expect(await k2.exec(`${SUDO}microk8s stop`)).toEqual({ stdout: 'Stopped.\n', stderr: '', code: 0 });
    expect(await k2.exec(`${SUDO}microk8s status`)).toEqual({ stdout: 'microk8s is not running, try microk8s start\n', stderr: '', code: 0 });
    expect(await k2.exec(`${SUDO}microk8s kubectl get nodes`)).toEqual({ stdout: '', stderr: 'microk8s is not running, try microk8s start\n', code: 1 });
    expect((await k1.exec(`${SUDO}microk8s kubectl get nodes`)).stdout).toMatch(/^k8s-2\s+NotReady/m);
    expect((await k2.exec(`${SUDO}microk8s start`)).code).toBe(0);
    // services restarting: not ready yet (1.22 prints the message and exits 0)
    expect(await k2.exec(`${SUDO}microk8s status`)).toEqual({ stdout: 'microk8s is not running. Use microk8s inspect for a deeper inspection.\n', stderr: '', code: 0 });
    const waited = await k2.exec(`${SUDO}microk8s status --wait-ready --timeout 30`);
    expect(waited.stdout.startsWith('microk8s is running\n')).toBe(true);
  });

  it('times out --wait-ready on a node that stays NotReady', async () => {
    cluster.state.node('k8s-3').restartingUntil = Date.now() + 60_000;
    const k3 = await connect(cluster, 'k8s-3', { privateKey: key });
    const r = await k3.exec(`${SUDO}microk8s status -w -t 1`);
    expect(r).toEqual({ stdout: 'microk8s is not running. Use microk8s inspect for a deeper inspection.\n', stderr: '', code: 0 });
    expect((await k3.exec(`${SUDO}microk8s kubectl get nodes`)).stderr).toBe('The connection to the server 127.0.0.1:16443 was refused - did you specify the right host or port?\n');
    cluster.state.node('k8s-3').restartingUntil = 0;
    k3.close();
  });
});

describe('microk8s kubectl', () => {
  it('lists nodes as JSON with microk8s labels, kubelet versions and addresses', async () => {
    const r = await k2.exec(`${SUDO}microk8s kubectl get nodes -o json`);
    const list = JSON.parse(r.stdout) as KList<KNode>;
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' } });
    expect(list.items.map((n) => n.metadata.name)).toEqual(['k8s-1', 'k8s-2', 'k8s-3', 'new-1', 'w1']);
    const k8s1 = list.items[0];
    expect(k8s1?.metadata.labels['node.kubernetes.io/microk8s-controlplane']).toBe('microk8s-controlplane');
    expect(list.items[4]?.metadata.labels['node.kubernetes.io/microk8s-worker']).toBe('microk8s-worker');
    expect(k8s1?.status.nodeInfo.kubeletVersion).toBe('v1.22.3-3+9ec7c40ec93c73');
    expect(k8s1?.status.addresses).toContainEqual({ type: 'InternalIP', address: '10.0.0.11' });
    expect(k8s1?.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(k8s1?.spec.unschedulable).toBeUndefined();
    expect(r.stdout.startsWith('{\n    "apiVersion": "v1",\n    "items": [\n')).toBe(true);
  });

  it('filters pods by node with a field selector', async () => {
    const r = await k1.exec(`${SUDO}microk8s kubectl get pods -A --field-selector spec.nodeName=k8s-3 -o json`);
    const pods = (JSON.parse(r.stdout) as KList<KPod>).items;
    expect(pods.length).toBeGreaterThan(1);
    expect(pods.every((p) => p.spec.nodeName === 'k8s-3')).toBe(true);
    expect(pods.some((p) => p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet')).toBe(true);
    expect(pods.some((p) => p.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet')).toBe(true);
    const wide = await k1.exec(`${SUDO}microk8s kubectl get pods -A -o wide`);
    expect(wide.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    const none = await k1.exec(`${SUDO}microk8s kubectl get pods -n nothing-here`);
    expect(none).toEqual({ stdout: '', stderr: 'No resources found in nothing-here namespace.\n', code: 0 });
  });

  it('cordons and uncordons, saying when nothing changed, as seen from every node', async () => {
    expect((await k1.exec(`${SUDO}microk8s kubectl cordon k8s-3`)).stdout).toBe('node/k8s-3 cordoned\n');
    expect((await k2.exec(`${SUDO}microk8s kubectl cordon k8s-3`)).stdout).toBe('node/k8s-3 already cordoned\n');
    const node = JSON.parse((await k2.exec(`${SUDO}microk8s kubectl get node k8s-3 -o json`)).stdout) as KNode;
    expect(node.spec.unschedulable).toBe(true);
    expect(node.spec.taints).toContainEqual(expect.objectContaining({ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }));
    expect((await k1.exec(`${SUDO}microk8s kubectl get nodes`)).stdout).toMatch(/^k8s-3\s+Ready,SchedulingDisabled\s/m);
    expect((await k2.exec(`${SUDO}microk8s kubectl uncordon k8s-3`)).stdout).toBe('node/k8s-3 uncordoned\n');
    expect((await k1.exec(`${SUDO}microk8s kubectl uncordon k8s-3`)).stdout).toBe('node/k8s-3 already uncordoned\n');
    expect(await k1.exec(`${SUDO}microk8s kubectl cordon nope`)).toEqual({ stdout: '', stderr: 'Error from server (NotFound): nodes "nope" not found\n', code: 1 });
  });

  it('drains: every workload pod moves to other Ready nodes, DaemonSet pods stay', async () => {
    const before = cluster.state.podsOn('k8s-1').filter((p) => p.owner?.kind !== 'DaemonSet');
    expect(before.length).toBeGreaterThan(0);
    const total = cluster.state.pods.length;
    const r = await k2.exec(`${SUDO}microk8s kubectl drain k8s-1 --ignore-daemonsets --delete-emptydir-data --timeout=60s`);
    expect(r.code).toBe(0);
    const out = r.stdout.split('\n');
    expect(out[0]).toBe('node/k8s-1 cordoned');
    for (const p of before) {
      expect(out).toContain(`evicting pod ${p.namespace}/${p.name}`);
      expect(out).toContain(`pod/${p.name} evicted`);
    }
    expect(out.at(-2)).toBe('node/k8s-1 drained');
    expect(r.stderr).toMatch(/^WARNING: ignoring DaemonSet-managed Pods: kube-system\/calico-node-[a-z0-9]{5}\n$/);
    const left = JSON.parse((await k1.exec(`${SUDO}microk8s kubectl get pods -A --field-selector spec.nodeName=k8s-1 -o json`)).stdout) as KList<KPod>;
    expect(left.items.map((p) => p.metadata.ownerReferences?.[0]?.kind)).toEqual(['DaemonSet']);
    expect(cluster.state.pods.length).toBe(total);
    for (const p of before) {
      const prefix = p.name.slice(0, p.name.lastIndexOf('-') + 1);
      expect(cluster.state.pods.some((q) => q.name.startsWith(prefix) && q.nodeName !== 'k8s-1' && q.phase === 'Running')).toBe(true);
    }
    // drain again: nothing to evict
    const again = await k2.exec(`${SUDO}microk8s kubectl drain k8s-1 --ignore-daemonsets`);
    expect(again.stdout).toBe('node/k8s-1 already cordoned\nnode/k8s-1 drained\n');
    await k2.exec(`${SUDO}microk8s kubectl uncordon k8s-1`);
  });

  it('refuses to drain DaemonSet pods without --ignore-daemonsets', async () => {
    const r = await k1.exec(`${SUDO}microk8s kubectl drain k8s-2`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('node/k8s-2 cordoned\n');
    expect(r.stderr).toMatch(/^error: unable to drain node "k8s-2" due to error:cannot delete DaemonSet-managed Pods \(use --ignore-daemonsets to ignore\): kube-system\/calico-node-\w+, continuing command\.\.\.\n/);
    await k1.exec(`${SUDO}microk8s kubectl uncordon k8s-2`);
  });

  it('leaves evicted pods Pending when no other node can take them', async () => {
    const conn = await connect(cluster, 'new-1', { privateKey: key });
    for (const n of ['k8s-1', 'k8s-2', 'k8s-3', 'w1']) await conn.exec(`${SUDO}microk8s kubectl cordon ${n}`);
    const r = await conn.exec(`${SUDO}microk8s kubectl drain new-1 --ignore-daemonsets`);
    expect(r.code).toBe(0);
    const pending = cluster.state.pods.filter((p) => p.phase === 'Pending');
    expect(pending.length).toBeGreaterThan(0);
    expect((await conn.exec(`${SUDO}microk8s kubectl get pods -A -o wide`)).stdout).toMatch(/0\/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>/);
    for (const n of ['k8s-1', 'k8s-2', 'k8s-3', 'w1', 'new-1']) await conn.exec(`${SUDO}microk8s kubectl uncordon ${n}`);
    expect(cluster.state.pods.filter((p) => p.phase === 'Pending')).toEqual([]);
    conn.close();
  });

  it('waits for a node condition, and times out with kubectl’s message', async () => {
    expect(await k1.exec(`${SUDO}microk8s kubectl wait --for=condition=Ready node/k8s-2 --timeout=5s`)).toEqual({ stdout: 'node/k8s-2 condition met\n', stderr: '', code: 0 });
    cluster.state.node('k8s-2').ready = false;
    expect(await k1.exec(`${SUDO}microk8s kubectl wait --for=condition=Ready node/k8s-2 --timeout=50ms`)).toEqual({
      stdout: '',
      stderr: 'error: timed out waiting for the condition on nodes/k8s-2\n',
      code: 1,
    });
    const later = k1.exec(`${SUDO}microk8s kubectl wait --for=condition=Ready node/k8s-2 --timeout=30s`);
    setTimeout(() => {
      cluster.state.node('k8s-2').ready = true;
    }, 20);
    expect((await later).stdout).toBe('node/k8s-2 condition met\n');
    expect((await k1.exec(`${SUDO}microk8s kubectl wait --for=condition=Ready node/ghost --timeout=1s`)).stderr).toBe('Error from server (NotFound): nodes "ghost" not found\n');
  });

  it('fails every API call when dqlite loses quorum', async () => {
    cluster.state.node('k8s-2').stopped = true;
    cluster.state.node('k8s-3').stopped = true;
    const r = await k1.exec(`${SUDO}microk8s kubectl get nodes`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/context deadline exceeded/);
    expect((await k1.exec(`${SUDO}microk8s status`)).stdout).toBe('microk8s is not running. Use microk8s inspect for a deeper inspection.\n');
    cluster.state.node('k8s-2').stopped = false;
    cluster.state.node('k8s-3').stopped = false;
    expect((await k1.exec(`${SUDO}microk8s kubectl get nodes`)).code).toBe(0);
  });
});
