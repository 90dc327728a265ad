/** startSimCluster: a simulated MicroK8s cluster, one real SSH server per node on loopback. */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { stringify } from 'yaml';
import { DEFAULT_CHANNEL } from './catalogue.ts';
import { DEFAULT_LATENCY, type SimLatency } from './context.ts';
import { FaultTable, type SimFault } from './faults.ts';
import { ensureNodeConfig } from './node-config.ts';
import { initMembership } from './membership.ts';
import { Runner, type SimCommandRecord } from './runner.ts';
import { startSimSnapProxy, type SimSnapProxyHost } from './snap-proxy-host.ts';
import type { SimSnapProxyInfo, SimStoreProxy } from './snap-proxy.ts';
import { SimSshNode, generateEd25519 } from './ssh-server.ts';
import type { SimNode } from './node.ts';
import { SimState } from './state.ts';
import type { SimWindowsOptions } from './windows/host.ts';
import { syncWindowsNode } from './windows/join.ts';
import { WindowsRunner } from './windows/runner.ts';

const { utils } = ssh2;

export interface SimNodeSpec {
  name: string;
  role?: 'control-plane' | 'worker';
  /** default `1.22/stable` (v1.22.3) */
  channel?: string;
  failureDomain?: number;
  /**
   * default true. false: a host with MicroK8s installed but outside the cluster (its own single
   * node; `role` is its role in the inventory, for when it joins). See src/sim/membership.ts.
   */
  joined?: boolean;
  /** With `joined: false`: the host already belongs to another cluster, as a control-plane node or a worker. */
  otherCluster?: 'control-plane' | 'worker';
  /** A Windows Server host (src/sim/windows): cmd.exe shell, PowerShell scripts; a worker once its kubelet joins. */
  os?: 'windows';
  windows?: SimWindowsOptions;
}

export interface SimClusterOptions {
  /** default k8s-1, k8s-2, k8s-3: all control plane, 1.22/stable, 3 dqlite voters */
  nodes?: SimNodeSpec[];
  /** The one SSH user accepted, default `ubuntu`. */
  user?: string;
  /** The SSH user of Windows hosts, default `Administrator`. */
  windowsUser?: string;
  /** How long a Windows host takes to reboot (SSH refused meanwhile), default 150 ms. */
  windowsRebootMs?: number;
  /** default true: microk8s, snap writes and the backend tar fail without sudo, as on a real node. */
  sudoRequired?: boolean;
  latency?: Partial<SimLatency>;
  /** default true: nginx ×3, microbot ×10, calico-node per node, coredns, calico-kube-controllers. */
  workloads?: boolean;
  /** default 127.0.0.1 */
  host?: string;
  /** A Snap Store Proxy host of this cluster (its own SSH server): `sim.snapProxy`, in `inventoryYaml` too. */
  snapProxy?: boolean;
  /**
   * default true. false: an old-style cluster from before 1.19 HA (no ha-cluster: the first
   * control-plane node holds the datastore, the others joined as nodes with clustered.lock).
   */
  haCluster?: boolean;
}

export interface SimNodeInfo {
  name: string;
  host: string;
  port: number;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
}

export interface SimCluster {
  nodes: SimNodeInfo[];
  user: string;
  /** Writes the client private key (OpenSSH, 0600) and a known_hosts file for every node into dir. */
  writeClientFiles(dir: string): Promise<{ privateKeyPath: string; knownHostsPath: string }>;
  /** The known_hosts lines (`[127.0.0.1]:PORT ssh-ed25519 AAAA...`) of the current host keys. */
  knownHosts(): string;
  /** An inventory YAML (DESIGN.md format) for this cluster. */
  inventoryYaml(opts: {
    clusterName: string;
    channel: string;
    privateKeyPath: string;
    knownHostsPath: string;
    rbac?: { operators: string[]; approvers: string[]; viewers?: string[] };
    policy?: Record<string, unknown>;
  }): string;
  state: SimState;
  inject(fault: SimFault): void;
  clearFaults(): void;
  /** Down: SSH refused and open connections cut; Kubernetes sees the node NotReady (Unknown). */
  setDown(node: string, down: boolean): Promise<void>;
  setClockSkew(node: string, seconds: number): void;
  /** A new host key: a pinned known_hosts no longer matches. */
  rotateHostKey(node: string): void;
  commandLog: SimCommandRecord[];
  /** Commands a node received and has not finished yet (e.g. held up by a `delay` fault). */
  commandsRunning(): SimCommandRecord[];
  /** SSH connections each node's server accepted so far (handshakes), by node name. */
  connectionsAccepted(): Map<string, number>;
  /** The Snap Store Proxy host (`snapProxy: true`): where to reach it, and its state (overrides, store id). */
  snapProxy?: SimSnapProxyInfo & { proxy: SimStoreProxy };
  /** Total time commands spent inside the simulator (latencies and waits), in ms. */
  simulatedMs(): number;
  stop(): Promise<void>;
}

export async function startSimCluster(options: SimClusterOptions = {}): Promise<SimCluster> {
  const user = options.user ?? 'ubuntu';
  const windowsUser = options.windowsUser ?? 'Administrator';
  const host = options.host ?? '127.0.0.1';
  const specs = options.nodes ?? [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }];
  const latency: SimLatency = { ...DEFAULT_LATENCY, ...options.latency };
  const state = new SimState({
    nodes: specs.map((s) => ({
      name: s.name, role: s.os === 'windows' ? 'worker' : (s.role ?? 'control-plane'), channel: s.channel ?? DEFAULT_CHANNEL, failureDomain: s.failureDomain ?? 1, joined: s.joined,
      ...(s.os === 'windows' ? { windows: s.windows ?? {} } : {}),
    })),
    user,
    windowsUser,
    workloads: options.workloads ?? true,
  });
  for (const node of state.machines.values()) if (!node.windows) ensureNodeConfig(state, node);
  initMembership(state, { specs, haCluster: options.haCluster });
  const sudoRequired = options.sudoRequired ?? true;
  // without sudo the user must be in the microk8s group, which also opens the backend to them
  if (!sudoRequired) for (const node of state.machines.values()) node.fs.userGroups.add('microk8s');
  const faults = new FaultTable();
  const runner = new Runner(state, faults, { user, sudoRequired, latency });
  const clientPair = generateEd25519('mk8s-sim-client');
  const clientKey = utils.parseKey(clientPair.public);
  if (clientKey instanceof Error) throw clientKey;
  const servers = new Map<string, SimSshNode>();
  const rebootMs = options.windowsRebootMs ?? 150;
  // a reboot: connections drop at once, SSH is refused until the machine is back
  const reboot = (node: SimNode): void => {
    const s = servers.get(node.name);
    setTimeout(() => {
      node.up = false;
      state.reconcile();
      void s?.setDown(true).then(() => {
        setTimeout(() => {
          node.up = true;
          node.windows?.booted(state.now());
          syncWindowsNode(state, node);
          state.reconcile();
          void s.setDown(false);
        }, rebootMs);
      });
    }, 5);
  };
  const windowsRunner = new WindowsRunner(state, runner.log, latency, { reboot });
  try {
    for (const node of state.machines.values()) {
      const server = node.windows ? new SimSshNode(node, host, windowsUser, clientKey, windowsRunner) : new SimSshNode(node, host, user, clientKey, runner);
      await server.listen(0);
      servers.set(node.name, server);
    }
  } catch (err) {
    await Promise.all([...servers.values()].map((s) => s.close()));
    throw err;
  }
  const server = (name: string): SimSshNode => {
    const s = servers.get(name);
    if (!s) throw new Error(`simulator: no node named ${name}`);
    return s;
  };
  let proxyHost: SimSnapProxyHost | undefined;
  if (options.snapProxy) {
    proxyHost = await startSimSnapProxy({ state, faults, runnerOptions: runner.options, log: runner.log, host, clientKey }).catch(async (err: unknown) => {
      await Promise.all([...servers.values()].map((s) => s.close()));
      throw err;
    });
  }
  const infos = (): SimNodeInfo[] => [...servers.values()].map((s) => ({ name: s.node.name, host, port: s.port, hostKeyFingerprint: s.hostKey.fingerprint }));
  const knownHosts = () => [...servers.values(), ...(proxyHost ? [proxyHost.server] : [])].map((s) => `[${host}]:${s.port} ${s.hostKey.publicLine}\n`).join('');
  const nodes = infos();

  const cluster: SimCluster = {
    nodes,
    user,
    state,
    commandLog: runner.log,
    commandsRunning: () => [...runner.running],
    connectionsAccepted: () => new Map([...servers].map(([name, s]) => [name, s.connectionsAccepted])),
    ...(proxyHost ? { snapProxy: { ...proxyHost.info, proxy: proxyHost.proxy } } : {}),
    knownHosts,
    async writeClientFiles(dir) {
      await mkdir(dir, { recursive: true });
      const privateKeyPath = join(dir, 'id_ed25519');
      const knownHostsPath = join(dir, 'known_hosts');
      await writeFile(privateKeyPath, clientPair.private, { mode: 0o600 });
      await chmod(privateKeyPath, 0o600);
      await writeFile(`${privateKeyPath}.pub`, `${clientPair.public}\n`, { mode: 0o644 });
      await writeFile(knownHostsPath, knownHosts(), { mode: 0o644 });
      return { privateKeyPath, knownHostsPath };
    },
    inventoryYaml(opts) {
      const cfg: Record<string, unknown> = {
        channel: opts.channel,
        ssh: { user, privateKeyPath: opts.privateKeyPath, knownHostsPath: opts.knownHostsPath, sudo: true },
        nodes: [...servers.values()].map((s) => {
          const n: Record<string, unknown> = { name: s.node.name, host, port: s.port, role: specs.some((p) => p.name === s.node.name) ? (specs.find((p) => p.name === s.node.name)?.role ?? 'control-plane') : s.node.role };
          if (s.node.windows) {
            n.role = 'worker';
            n.os = 'windows';
          }
          if (s.node.failureDomain !== 1) n.failureDomain = s.node.failureDomain;
          return n;
        }),
      };
      if (opts.policy) cfg.policy = opts.policy;
      if ([...servers.values()].some((s) => s.node.windows)) cfg.windows = { user: windowsUser };
      if (proxyHost) cfg.snapProxy = { host, port: proxyHost.info.port };
      const doc: Record<string, unknown> = { clusters: { [opts.clusterName]: cfg } };
      if (opts.rbac) doc.rbac = { operators: opts.rbac.operators, approvers: opts.rbac.approvers, ...(opts.rbac.viewers ? { viewers: opts.rbac.viewers } : {}) };
      return stringify(doc);
    },
    inject(fault) {
      if (fault.node !== '*' && fault.node !== proxyHost?.info.name) server(fault.node);
      faults.add(fault);
    },
    clearFaults() {
      faults.clear();
    },
    async setDown(name, down) {
      const s = server(name);
      s.node.up = !down;
      state.reconcile();
      await s.setDown(down);
    },
    setClockSkew(name, seconds) {
      state.node(name).clockSkewSeconds = seconds;
    },
    rotateHostKey(name) {
      server(name).rotateHostKey();
      const i = nodes.findIndex((n) => n.name === name);
      const s = server(name);
      if (i >= 0) nodes[i] = { name, host, port: s.port, hostKeyFingerprint: s.hostKey.fingerprint };
    },
    simulatedMs: () => runner.simulatedMs + windowsRunner.simulatedMs,
    async stop() {
      runner.abortAll();
      await Promise.all([...servers.values(), ...(proxyHost ? [proxyHost.server] : [])].map((s) => s.close()));
    },
  };
  return cluster;
}
