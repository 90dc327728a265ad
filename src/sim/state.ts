/**
 * The simulated cluster's state, shared by every node's SSH server: its hosts (SimNode, node.ts)
 * and its Kubernetes Node objects, pods and the scheduler, dqlite quorum, and each control-plane
 * node's generated backend files. Ids: ids.ts.
 */
import { createHash } from 'node:crypto';
import { CHANNELS, DEFAULT_CHANNEL, minorOf, resolveChannel } from './catalogue.ts';
import { calicoNodeVersion } from './calico-manifest.ts';
import { dataFile } from './dqlite.ts';
import type { SimFile } from './fs.ts';
import { sha, uuid } from './ids.ts';
import { SimNode, type DqliteRole, type ReadyCondition, type NodeRole } from './node.ts';
import { SimWindows, WindowsFs, type SimWindowsOptions } from './windows/host.ts';

const POD_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const POD_BLOCKS = [231, 200, 13, 112, 54, 77, 148, 9, 186, 33];

export interface SimPodOwner {
  kind: 'ReplicaSet' | 'DaemonSet' | 'StatefulSet' | 'Job';
  name: string;
  uid: string;
}

export interface SimPod {
  namespace: string;
  name: string;
  uid: string;
  /** `app` / `k8s-app` label value. */
  app: string;
  labels: Record<string, string>;
  owner: SimPodOwner | undefined;
  image: string;
  nodeName: string | undefined;
  phase: 'Running' | 'Pending';
  podIP: string | undefined;
  hostNetwork: boolean;
  /** Has an emptyDir volume: drain needs --delete-emptydir-data. */
  emptyDir: boolean;
  /** Static (mirror) pod: drain skips it. */
  mirror: boolean;
  createdAt: number;
  /** spec.nodeSelector (the Windows test pod's `kubernetes.io/os: windows`). */
  nodeSelector?: Record<string, string>;
}

export interface SimStateOptions {
  /** `joined: false`: a host with its own single-node MicroK8s, not (yet) in this cluster (src/sim/membership.ts). */
  nodes: Array<{ name: string; role: NodeRole; channel: string; failureDomain: number; joined?: boolean; windows?: SimWindowsOptions }>;
  /** The SSH user of Windows nodes. */
  windowsUser?: string;
  user: string;
  workloads: boolean;
  now?: () => number;
}

export class SimState {
  /** The cluster's Kubernetes Node objects (the members, and a node that left until it is removed). */
  readonly nodes = new Map<string, SimNode>();
  /** Every simulated host, by name, in the cluster or not (each has an SSH server). */
  readonly machines = new Map<string, SimNode>();
  pods: SimPod[] = [];
  /** Enabled addons, by name. */
  addons = new Set<string>(['dns', 'ha-cluster']);
  /** Grows with every write to the Kubernetes datastore; shapes the backend tarball. */
  raftIndex = 2833997;
  readonly now: () => number;
  private rngState = 0x2f6b_1a5d;
  private ipCursor = new Map<string, number>();
  private readonly backendCache = new Map<string, { key: string; files: Map<string, SimFile> }>();
  readonly createdAt: number;

  constructor(options: SimStateOptions) {
    this.now = options.now ?? Date.now;
    const now = this.now();
    this.createdAt = now - 19 * 86_400_000 - 3 * 3_600_000;
    let cp = 0;
    options.nodes.forEach((spec, index) => {
      const release = CHANNELS[spec.channel] ?? resolveChannel(spec.channel)?.release;
      if (!release) throw new Error(`simulator: unknown channel "${spec.channel}" for node ${spec.name}`);
      if (this.machines.has(spec.name)) throw new Error(`simulator: duplicate node name ${spec.name}`);
      if (spec.windows) {
        // a Windows host: in the cluster only once its kubelet registers (src/sim/windows/join.ts)
        const win = new SimNode(spec.name, 'worker', index, `10.0.0.${11 + index}`, release, spec.channel, spec.failureDomain, options.user, now, this);
        const wfs = new WindowsFs(options.windowsUser ?? 'Administrator');
        win.fs = wfs;
        win.windows = new SimWindows(wfs, now, spec.windows);
        win.ready = false;
        this.machines.set(spec.name, win);
        return;
      }
      const outside = spec.joined === false;
      const node = new SimNode(spec.name, outside ? 'control-plane' : spec.role, index, `10.0.0.${11 + index}`, release, spec.channel, spec.failureDomain, options.user, now, this);
      this.machines.set(spec.name, node);
      if (outside) {
        // its own single-node MicroK8s: the only voter of its own datastore
        node.dqliteRole = 'voter';
        return;
      }
      if (spec.role === 'control-plane') {
        node.dqliteRole = cp < 3 ? 'voter' : cp < 6 ? 'standby' : 'spare';
        cp++;
      }
      this.nodes.set(spec.name, node);
    });
    if (options.workloads) this.seedWorkloads(now);
  }

  /** The host of that name (in the cluster or not). */
  node(name: string): SimNode {
    const n = this.machines.get(name) ?? this.nodes.get(name);
    if (!n) throw new Error(`simulator: no node named ${name}`);
    return n;
  }

  nodeList(): SimNode[] {
    return [...this.nodes.values()];
  }

  /** The Ready condition Kubernetes reports for a node. */
  readyCondition(node: SimNode): ReadyCondition {
    if (!node.up || node.stopped) return 'Unknown';
    if (node.datastoreFault !== undefined) return 'False';
    if (node.restarting || !node.ready) return 'False';
    return 'True';
  }

  isReady(node: SimNode): boolean {
    return this.readyCondition(node) === 'True';
  }

  voters(): SimNode[] {
    return this.nodeList().filter((n) => n.dqliteRole === 'voter');
  }

  /** dqlite has a leader: more than half of the voters run their services. */
  hasQuorum(): boolean {
    const voters = this.voters();
    if (voters.length === 0) return false;
    return voters.filter((v) => v.servicesRunning).length * 2 > voters.length;
  }

  /** The Kubernetes API answers on this node. */
  apiAvailable(node: SimNode): boolean {
    return node.role === 'control-plane' && node.servicesRunning && this.hasQuorum();
  }

  /** A node the scheduler may place a pod on. */
  schedulable(node: SimNode): boolean {
    return !node.cordoned && this.isReady(node);
  }

  podsOn(nodeName: string): SimPod[] {
    return this.pods.filter((p) => p.nodeName === nodeName);
  }

  bump(): void {
    // a write needs a datastore majority
    if (!this.hasQuorum()) return;
    this.raftIndex += 1 + (this.random() % 7);
  }

  random(): number {
    // mulberry32: deterministic, so pod names and IPs repeat from run to run
    let t = (this.rngState = (this.rngState + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  randomSuffix(length = 5): string {
    let s = '';
    for (let i = 0; i < length; i++) s += POD_SUFFIX_ALPHABET[this.random() % POD_SUFFIX_ALPHABET.length];
    return s;
  }

  /** Updates condition transition times and lets the scheduler place Pending pods. Call before reading. */
  reconcile(): void {
    const now = this.now();
    for (const node of this.nodes.values()) {
      const c = this.readyCondition(node);
      if (c !== node.lastCondition) {
        node.lastCondition = c;
        node.lastTransition = now;
      }
      const wanted = new Set<string>();
      if (node.cordoned) wanted.add('node.kubernetes.io/unschedulable');
      if (c === 'False') wanted.add('node.kubernetes.io/not-ready');
      if (c === 'Unknown') wanted.add('node.kubernetes.io/unreachable');
      for (const k of node.taintsAddedAt.keys()) if (!wanted.has(k)) node.taintsAddedAt.delete(k);
      for (const k of wanted) if (!node.taintsAddedAt.has(k)) node.taintsAddedAt.set(k, now);
    }
    for (const pod of this.pods) {
      if (pod.phase !== 'Pending' || pod.nodeName) continue;
      const target = this.pickNode(undefined, pod.nodeSelector);
      if (target) this.place(pod, target, now);
    }
  }

  /** The Ready, schedulable node with the fewest pods (the scheduler's spreading, simplified). */
  pickNode(exclude?: string, selector?: Record<string, string>): SimNode | undefined {
    let best: SimNode | undefined;
    let bestCount = Infinity;
    for (const node of this.nodes.values()) {
      if (node.name === exclude || !this.schedulable(node)) continue;
      // Linux workloads stay off Windows nodes; a nodeSelector must match the node's labels
      const os = node.windows ? 'windows' : 'linux';
      if ((selector?.['kubernetes.io/os'] ?? 'linux') !== os) continue;
      const host = selector?.['kubernetes.io/hostname'];
      if (host !== undefined && host !== node.name) continue;
      const count = this.pods.filter((p) => p.nodeName === node.name && !p.owner?.kind.startsWith('Daemon')).length;
      if (count < bestCount) {
        best = node;
        bestCount = count;
      }
    }
    return best;
  }

  private place(pod: SimPod, node: SimNode, now: number): void {
    pod.nodeName = node.name;
    pod.phase = 'Running';
    pod.podIP = pod.hostNetwork ? node.ip : this.nextPodIp(node);
    pod.createdAt = Math.min(pod.createdAt, now);
    this.bump();
  }

  /** Third octet of the node's Calico IP block (10.1.X.0/26). */
  podBlock(node: SimNode): number {
    const block = POD_BLOCKS[node.index % POD_BLOCKS.length] ?? 10;
    return node.index < POD_BLOCKS.length ? block : (block + node.index) % 250;
  }

  nextPodIp(node: SimNode): string {
    const third = this.podBlock(node);
    const key = node.name;
    const next = (this.ipCursor.get(key) ?? 195) + 1;
    this.ipCursor.set(key, next > 254 ? 193 : next);
    return `10.1.${third}.${next}`;
  }

  /**
   * Evicts a pod: it is deleted, and its controller (a ReplicaSet) creates a replacement
   * that the scheduler places on another Ready, schedulable node, or leaves Pending.
   */
  evict(pod: SimPod): SimPod | undefined {
    const now = this.now();
    this.pods = this.pods.filter((p) => p !== pod);
    this.bump();
    if (!pod.owner || pod.owner.kind === 'DaemonSet') return undefined;
    const replacement: SimPod = {
      ...pod,
      labels: { ...pod.labels },
      name: pod.owner.kind === 'ReplicaSet' ? `${pod.owner.name}-${this.randomSuffix()}` : pod.name,
      uid: uuid(`pod:${pod.namespace}/${pod.name}:${this.random()}`),
      nodeName: undefined,
      phase: 'Pending',
      podIP: undefined,
      createdAt: now,
    };
    this.pods.push(replacement);
    const target = this.pickNode(pod.nodeName);
    if (target) this.place(replacement, target, now);
    return replacement;
  }

  /** Adds a pod (Running on `nodeName`, or Pending). For tests and the default workloads. */
  addPod(spec: {
    namespace?: string;
    name?: string;
    app: string;
    owner?: { kind: SimPodOwner['kind']; name: string } | null;
    nodeName?: string;
    image?: string;
    hostNetwork?: boolean;
    emptyDir?: boolean;
    mirror?: boolean;
    createdAt?: number;
    labels?: Record<string, string>;
  }): SimPod {
    const now = this.now();
    const owner = spec.owner === null ? undefined : (spec.owner ?? { kind: 'ReplicaSet' as const, name: `${spec.app}-${sha(spec.app).slice(0, 10)}` });
    const name = spec.name ?? (owner ? `${owner.name.replace(/-$/, '')}-${this.randomSuffix()}` : spec.app);
    const labels: Record<string, string> = spec.labels ?? { app: spec.app };
    if (owner?.kind === 'ReplicaSet' && !labels['pod-template-hash']) labels['pod-template-hash'] = owner.name.slice(owner.name.lastIndexOf('-') + 1);
    const pod: SimPod = {
      namespace: spec.namespace ?? 'default',
      name,
      uid: uuid(`pod:${name}:${this.random()}`),
      app: spec.app,
      labels,
      owner: owner ? { ...owner, uid: uuid(`owner:${owner.kind}:${owner.name}`) } : undefined,
      image: spec.image ?? spec.app,
      nodeName: undefined,
      phase: 'Pending',
      podIP: undefined,
      hostNetwork: spec.hostNetwork ?? false,
      emptyDir: spec.emptyDir ?? false,
      mirror: spec.mirror ?? false,
      createdAt: spec.createdAt ?? now,
    };
    this.pods.push(pod);
    if (spec.nodeName) {
      const node = this.node(spec.nodeName);
      pod.nodeName = node.name;
      pod.phase = 'Running';
      pod.podIP = pod.hostNetwork ? node.ip : this.nextPodIp(node);
    }
    this.bump();
    return pod;
  }

  private seedWorkloads(now: number): void {
    const nodes = this.nodeList();
    const names = nodes.map((n) => n.name);
    const at = (i: number) => names[i % names.length] ?? '';
    const cps = nodes.filter((n) => n.role === 'control-plane');
    const calicoTag = calicoNodeVersion(minorOf(nodes[0]?.version ?? 'v1.22'));
    for (const node of nodes) {
      this.addPod({ namespace: 'kube-system', app: 'calico-node', labels: { 'k8s-app': 'calico-node', 'controller-revision-hash': '7d8f6c4b9', 'pod-template-generation': '1' }, owner: { kind: 'DaemonSet', name: 'calico-node' }, nodeName: node.name, image: `docker.io/calico/node:${calicoTag}`, hostNetwork: true, createdAt: this.createdAt + 60_000 });
    }
    const first = cps[0] ?? nodes[0];
    if (first) {
      this.addPod({ namespace: 'kube-system', app: 'calico-kube-controllers', labels: { 'k8s-app': 'calico-kube-controllers', 'pod-template-hash': 'f7868dd95' }, owner: { kind: 'ReplicaSet', name: 'calico-kube-controllers-f7868dd95' }, nodeName: first.name, image: `docker.io/calico/kube-controllers:${minorOf(first.version) <= 23 ? 'v3.17.3' : calicoTag}`, createdAt: this.createdAt + 60_000 });
      this.addPod({ namespace: 'kube-system', app: 'coredns', labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': '7f9c69c78c' }, owner: { kind: 'ReplicaSet', name: 'coredns-7f9c69c78c' }, nodeName: first.name, image: 'coredns/coredns:1.8.0', createdAt: this.createdAt + 120_000 });
    }
    for (let i = 0; i < 3; i++) {
      this.addPod({ app: 'nginx', owner: { kind: 'ReplicaSet', name: 'nginx-7848d4b86f' }, nodeName: at(i + 1), image: 'nginx', createdAt: now - (341 - i * 50) * 1000 });
    }
    for (let i = 0; i < 10; i++) {
      this.addPod({ app: 'microbot', owner: { kind: 'ReplicaSet', name: 'microbot-fdcc4594f' }, nodeName: at(i), image: 'dontrebootme/microbot:v1', createdAt: now - (154 - i * 14) * 1000 });
    }
  }

  /** The dqlite backend directory of a control-plane node, as files (generated from the state). */
  backendFiles(node: SimNode): Map<string, SimFile> {
    if (node.role !== 'control-plane' || (node.dqliteRole === undefined && !node.staleMembers) || node.backendMaterialized) return new Map();
    // a host outside this cluster has a datastore of its own
    const members = this.nodes.get(node.name) === node ? this.nodeList().filter((n) => n.dqliteRole !== undefined) : [node];
    const last = this.raftIndex - node.raftLag;
    const key = JSON.stringify([node.name, node.revision, last, node.staleMembers ?? null, this.nodeList().map((m) => [m.name, m.role, m.dqliteRole, m.failureDomain])]);
    const cached = this.backendCache.get(node.name);
    if (cached?.key === key) return cached.files;
    const dir = `/var/snap/microk8s/${node.revision}/var/kubernetes/backend`;
    // workers joined with --worker are in the node store too, as spares (microk8s#3204, #5000)
    const spares = this.nodes.get(node.name) === node ? this.nodeList().filter((n) => n.role === 'worker' && this.machines.get(n.name) === n).map((m) => ({ address: m.dqliteAddress, id: m.dqliteId, role: 'spare' as const })) : [];
    const listed = node.staleMembers ?? [...members.map((m) => ({ address: m.dqliteAddress, id: m.dqliteId, role: m.dqliteRole })), ...spares];
    const clusterYaml = listed.map((m) => `- Address: ${m.address}\n  ID: ${m.id}\n  Role: ${roleNum(m.role)}\n`).join('');
    const ownRole = node.staleMembers?.find((m) => m.address === node.dqliteAddress)?.role ?? node.dqliteRole;
    const infoYaml = `Address: ${node.dqliteAddress}\nID: ${node.dqliteId}\nRole: ${roleNum(ownRole)}\n`;
    const snap = Math.max(1, last - 2048);
    const first = snap + 1;
    const digest = createHash('sha256')
      .update(JSON.stringify({ raft: this.raftIndex, nodes: this.nodeList().map((n) => [n.name, n.cordoned, n.version]), pods: this.pods.map((p) => [p.namespace, p.name, p.nodeName ?? '']) }))
      .digest();
    const segment = dataFile('segment', node.name, 0, 4096, ` digest=${digest.toString('hex')}`);
    const metadata = dataFile('metadata', node.name, 0, 64, ` term=2 vote=${node.dqliteId}`);
    const stamp = Math.floor(this.createdAt / 1000) * 1000;
    const mtime = Math.floor(this.createdAt / 1000) * 1000;
    const file = (data: Buffer | string, mode = 0o660): SimFile => ({ data: Buffer.isBuffer(data) ? data : Buffer.from(data), owner: 'root', group: 'microk8s', mode, mtimeMs: mtime });
    const files = new Map<string, SimFile>([
      [`${dir}/cluster.crt`, file(`-----BEGIN CERTIFICATE-----\n${Buffer.from(sha('cluster.crt')).toString('base64')}\n-----END CERTIFICATE-----\n`)],
      [`${dir}/cluster.key`, file(`-----BEGIN PRIVATE KEY-----\n${Buffer.from(sha('cluster.key (simulated)')).toString('base64')}\n-----END PRIVATE KEY-----\n`)],
      [`${dir}/cluster.yaml`, file(clusterYaml)],
      [`${dir}/failure-domain`, file(`${node.failureDomain}\n`)],
      [`${dir}/info.yaml`, file(infoYaml)],
      [`${dir}/metadata1`, file(metadata)],
      [`${dir}/metadata2`, file(metadata)],
      [`${dir}/${String(first).padStart(16, '0')}-${String(last).padStart(16, '0')}`, file(segment)],
      [`${dir}/snapshot-2-${snap}-${stamp}`, file(dataFile('snapshot', node.name, 0, 2048))],
      [`${dir}/snapshot-2-${snap}-${stamp}.meta`, file(dataFile('snapshot-meta', node.name, 0, 128))],
      [`${dir}/open-1`, file(dataFile('open', node.name, 0, 1024))],
      [`${dir}/open-2`, file(dataFile('open', node.name, 0, 1024))],
    ]);
    this.backendCache.set(node.name, { key, files });
    return files;
  }
}

function roleNum(r: DqliteRole | undefined): number {
  return r === 'voter' ? 0 : r === 'standby' ? 1 : 2;
}

export { DEFAULT_CHANNEL };
