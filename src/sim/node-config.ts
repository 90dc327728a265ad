/**
 * A node's configuration files under `$SNAP_DATA/args` and what reads them:
 *
 * - `args/ha-conf` (`failure-domain=1` by default). kubelite copies the value to the dqlite
 *   backend's `failure-domain` file when MicroK8s starts (`run-kubelite-with-args`), so a change
 *   applies only after `microk8s stop; microk8s start` (or `snap restart microk8s`).
 * - `args/apiserver-proxy` (`--refresh-interval 30s` …) and `args/traefik/{traefik,provider}.yaml`
 *   on workers, read by the API-server proxy when it (re)starts. A proxy with no usable
 *   control-plane endpoint makes the worker's kubelet lose the API: the node goes NotReady.
 * - `snap restart microk8s[.daemon-<svc>]` and `snap services microk8s[.daemon-<svc>]` with
 *   snapd's texts.
 *
 * Files live in the node's SimFs under `/var/snap/microk8s/<revision>/args`. Like snapd, a
 * refresh starts the new revision with a copy of the previous revision's data, and a revert
 * returns to the old revision's copy.
 */
import { parse as parseYaml } from 'yaml';
import { fail, ok, parseGoDuration, type CommandContext, type CommandResult } from './context.ts';
import type { SimFile } from './fs.ts';
import { seedCalicoFiles } from './calico.ts';
import { kubeJson, kubeYaml } from './kube-output.ts';
import { apiUnavailable } from './kubectl-common.ts';
import { uuid } from './ids.ts';
import type { SimNode } from './node.ts';
import type { SimState } from './state.ts';
import { tabwrite } from './tabwriter.ts';

export const ARGS = '/var/snap/microk8s/current/args';
export const HA_CONF = `${ARGS}/ha-conf`;
export const APISERVER_PROXY_ARGS = `${ARGS}/apiserver-proxy`;
export const TRAEFIK_YAML = `${ARGS}/traefik/traefik.yaml`;
export const PROVIDER_YAML = `${ARGS}/traefik/provider.yaml`;

/** `MK:microk8s-resources/default-args/apiserver-proxy` */
export const DEFAULT_APISERVER_PROXY_ARGS = '--traefik-config ${SNAP_DATA}/args/traefik/traefik.yaml\n--kubeconfig ${SNAP_DATA}/credentials/kubelet.config\n--refresh-interval 30s\n';

const TRAEFIK = 'entryPoints:\n  apiserver:\n    address: ":16443"\nproviders:\n  file:\n    filename: /var/snap/microk8s/current/args/traefik/provider.yaml\n    watch: true\n';

/** provider.yaml as `join --worker` writes it (PyYAML dump), listing the given endpoints. */
export function providerYaml(addresses: readonly string[]): string {
  const servers = addresses.map((a) => `          - address: ${a}\n`).join('');
  return `tcp:\n  routers:\n    Router-1:\n      rule: HostSNI(\`*\`)\n      service: kube-apiserver\n      tls:\n        passthrough: true\n  services:\n    kube-apiserver:\n      loadBalancer:\n        servers:\n${servers}`;
}

interface ProxyState {
  /** Endpoints the running proxy forwards to (read at its last start). */
  endpoints: string[];
  /** The service runs (false when it could not start). */
  active: boolean;
  /** The NotReady this module caused (so it only undoes its own). */
  brokeReady: boolean;
  restarts: number;
}

/** Revisions whose args/ exist, and the revision that was current at the last look. */
const seeded = new WeakMap<SimNode, { revs: Set<number>; last: number }>();
const proxies = new WeakMap<SimNode, ProxyState>();
const loadBalancers = new WeakMap<SimState, Set<string>>();

/** Registers a load balancer in front of the API servers (`host:port`): reachable while any API server answers. */
export function addLoadBalancer(state: SimState, address: string): void {
  let set = loadBalancers.get(state);
  if (!set) loadBalancers.set(state, (set = new Set()));
  set.add(address);
}

function revDir(node: SimNode, rev: number): string {
  return `/var/snap/microk8s/${rev}`;
}

function rootFile(data: string, now: number): SimFile {
  // args/ is root:microk8s, group read-write (the configure hook's chgrp/chmod)
  return { data: Buffer.from(data), owner: 'root', group: 'microk8s', mode: 0o660, mtimeMs: now };
}

function controlPlaneEndpoints(state: SimState): string[] {
  return state
    .nodeList()
    .filter((n) => n.role === 'control-plane')
    .map((n) => `${n.ip}:16443`);
}

/**
 * Makes sure the node's current revision has its `args/` files: defaults on the first call,
 * a copy of the previous revision's files after a refresh. Cheap when nothing is missing.
 */
export function ensureNodeConfig(state: SimState, node: SimNode): void {
  const seen = seeded.get(node);
  const rev = node.revision;
  if (seen?.revs.has(rev)) {
    seen.last = rev;
    return;
  }
  const fs = node.fs;
  const base = revDir(node, rev);
  for (const d of [base, `${base}/args`, `${base}/args/traefik`]) if (!fs.dirs.has(d)) fs.dirs.set(d, { owner: 'root', mode: 0o755 });
  // snapd copies the data of the revision it refreshes from
  const previous = seen?.last;
  if (previous !== undefined) {
    const copies: Array<[string, SimFile]> = [];
    for (const sub of ['args/', 'var/lock/']) {
      const from = `${revDir(node, previous)}/${sub}`;
      for (const [path, file] of fs.files) {
        if (path.startsWith(from)) copies.push([`${base}/${sub}${path.slice(from.length)}`, { ...file, data: Buffer.from(file.data) }]);
      }
    }
    seedCalicoFiles(state, node, rev, false);
    for (const [path, file] of copies) fs.files.set(path, file);
  } else {
    seedCalicoFiles(state, node, rev, true);
    const now = state.now();
    const args = `${base}/args`;
    fs.files.set(`${args}/ha-conf`, rootFile(`failure-domain=${node.failureDomain}\n`, now));
    fs.files.set(`${args}/apiserver-proxy`, rootFile(DEFAULT_APISERVER_PROXY_ARGS, now));
    if (node.role === 'worker') {
      const endpoints = controlPlaneEndpoints(state);
      fs.files.set(`${args}/traefik/traefik.yaml`, rootFile(TRAEFIK, now));
      fs.files.set(`${args}/traefik/provider.yaml`, rootFile(providerYaml(endpoints), now));
      proxies.set(node, { endpoints, active: true, brokeReady: false, restarts: 0 });
    }
  }
  seeded.set(node, { revs: new Set([...(seen?.revs ?? []), rev]), last: rev });
}

/** Called before every command: the node's args files exist, and leases are renewed up to now (before anything changes). */
export function beforeCommand(state: SimState, node: SimNode): void {
  ensureNodeConfig(state, node);
  renewLeases(state);
}

/** The text of a file on the node (root's view), or undefined when it does not exist. */
export function readNodeFile(state: SimState, node: SimNode, path: string): string | undefined {
  ensureNodeConfig(state, node);
  const data = node.fs.readFile(path, true);
  return typeof data === 'string' ? undefined : data.toString('utf8');
}

/** `failure-domain` from ha-conf, as run-kubelite-with-args reads it (`key=value` or `key value`). */
export function haConfFailureDomain(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const m = /^failure-domain(?:=|\s+)(\S+)/.exec(line);
    if (m) return /^\d{1,19}$/.test(m[1] ?? '') ? Number(m[1]) : undefined;
  }
  return undefined;
}

/** MicroK8s services start on a control-plane node: kubelite copies the failure domain to the backend. */
export function onServicesStart(state: SimState, node: SimNode): void {
  if (node.role !== 'control-plane') return;
  const domain = haConfFailureDomain(readNodeFile(state, node, HA_CONF));
  if (domain !== undefined) node.failureDomain = domain;
}

// ------------------------------------------------------------------ the API-server proxy

function proxyState(state: SimState, node: SimNode): ProxyState {
  ensureNodeConfig(state, node);
  let p = proxies.get(node);
  if (!p) proxies.set(node, (p = { endpoints: [], active: node.role === 'worker', brokeReady: false, restarts: 0 }));
  return p;
}

/** The endpoints the worker's proxy uses now (tests). */
export function proxyEndpoints(state: SimState, node: SimNode): string[] {
  return [...proxyState(state, node).endpoints];
}

export function proxyRestarts(state: SimState, node: SimNode): number {
  return proxyState(state, node).restarts;
}

function reachable(state: SimState, endpoint: string): boolean {
  const anyApi = state.nodeList().some((n) => state.apiAvailable(n));
  if (loadBalancers.get(state)?.has(endpoint)) return anyApi;
  return state.nodeList().some((n) => `${n.ip}:16443` === endpoint && state.apiAvailable(n));
}

/** The proxy reads its args and provider.yaml again, as `run-apiserver-proxy-with-args` starts it. */
function restartProxy(state: SimState, node: SimNode): void {
  const p = proxyState(state, node);
  p.restarts++;
  if (node.role !== 'worker') {
    // "Not a worker node, exiting"
    p.active = false;
    return;
  }
  const args = readNodeFile(state, node, APISERVER_PROXY_ARGS) ?? '';
  const interval = /^--refresh-interval(?:=|\s+)(\S+)\s*$/m.exec(args)?.[1];
  const intervalOk = interval === undefined || parseGoDuration(interval) !== undefined;
  let endpoints: string[] = [];
  try {
    const doc = parseYaml(readNodeFile(state, node, PROVIDER_YAML) ?? '') as unknown;
    const servers = (doc as { tcp?: { services?: { 'kube-apiserver'?: { loadBalancer?: { servers?: Array<{ address?: unknown }> } } } } } | null)?.tcp?.services?.['kube-apiserver']
      ?.loadBalancer?.servers;
    endpoints = Array.isArray(servers) ? servers.map((s) => (typeof s?.address === 'string' ? s.address : '')).filter((a) => a !== '') : [];
  } catch {
    endpoints = [];
  }
  p.endpoints = endpoints;
  // "empty list of control plane endpoints" or a bad flag: the service fails to start
  p.active = intervalOk && endpoints.length > 0;
  const healthy = p.active && endpoints.some((e) => reachable(state, e));
  renewLease(state, node);
  if (!healthy && node.ready) {
    node.ready = false;
    p.brokeReady = true;
  } else if (healthy && p.brokeReady) {
    node.ready = true;
    p.brokeReady = false;
  }
  state.reconcile();
}

// ------------------------------------------------------------------ snap restart / services

const SERVICES = ['apiserver-kicker', 'apiserver-proxy', 'cluster-agent', 'containerd', 'etcd', 'flanneld', 'k8s-dqlite', 'kubelite'];

function serviceEnabled(node: SimNode, svc: string): boolean {
  if (svc === 'etcd' || svc === 'flanneld') return false;
  if (svc === 'apiserver-proxy') return node.role === 'worker';
  if (svc === 'k8s-dqlite' || svc === 'apiserver-kicker') return node.role === 'control-plane';
  return true;
}

function serviceActive(state: SimState, node: SimNode, svc: string): boolean {
  if (!serviceEnabled(node, svc) || !node.up || node.stopped) return false;
  if (svc === 'apiserver-proxy') return proxyState(state, node).active;
  return true;
}

/** `microk8s` → every service; `microk8s.daemon-x` → that one; undefined when unknown. */
function resolveServices(name: string): string[] | undefined | { snap: string } {
  if (name === 'microk8s') return [...SERVICES];
  const dot = name.indexOf('.');
  const snapName = dot < 0 ? name : name.slice(0, dot);
  if (snapName !== 'microk8s') return { snap: snapName };
  const app = name.slice(dot + 1);
  if (!app.startsWith('daemon-')) return undefined;
  const svc = app.slice('daemon-'.length);
  return SERVICES.includes(svc) ? [svc] : undefined;
}

/** `snap services [microk8s[.daemon-x]]` (no root needed). */
export function snapServices(ctx: CommandContext, args: string[]): CommandResult {
  const names = args.filter((a) => !a.startsWith('-'));
  const { state, node } = ctx;
  const rows: string[] = ['Service\tStartup\tCurrent\tNotes'];
  const wanted = names.length === 0 ? ['microk8s'] : names;
  for (const name of wanted) {
    const svcs = resolveServices(name);
    if (svcs === undefined) return fail(1, `error: snap "microk8s" has no service "${name.slice(name.indexOf('.') + 1)}"\n`);
    if (!Array.isArray(svcs)) return fail(1, `error: snap "${svcs.snap}" not found\n`);
    for (const svc of svcs) {
      rows.push(`microk8s.daemon-${svc}\t${serviceEnabled(node, svc) ? 'enabled' : 'disabled'}\t${serviceActive(state, node, svc) ? 'active' : 'inactive'}\t-`);
    }
  }
  return ok(tabwrite(`${rows.join('\n')}\n`, { minwidth: 5, padding: 2 }));
}

/** `snap restart microk8s[.daemon-x]` (root only): `Restarted.` */
export async function snapRestart(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const names = args.filter((a) => !a.startsWith('-'));
  if (names.length === 0) return fail(1, 'error: the required argument `<service> (at least 1 argument)` was not provided\n');
  if (ctx.sudoRequired && !ctx.root) return fail(1, 'error: access denied (try with sudo)\n');
  const { state, node } = ctx;
  const restart = new Set<string>();
  for (const name of names) {
    const svcs = resolveServices(name);
    if (svcs === undefined) return fail(1, `error: snap "microk8s" has no service "${name.slice(name.indexOf('.') + 1)}"\n`);
    if (!Array.isArray(svcs)) return fail(1, `error: snap "${svcs.snap}" not found\n`);
    for (const s of svcs) restart.add(s);
  }
  await ctx.sleep(ctx.latency.defaultMs);
  if (restart.has('kubelite')) {
    // the whole of Kubernetes on this node restarts: a NotReady window, and the failure domain is read again
    node.restartingUntil = state.now() + ctx.latency.restartMs;
    onServicesStart(state, node);
  }
  if (restart.has('apiserver-proxy')) restartProxy(state, node);
  state.reconcile();
  return ok('Restarted.\n');
}

// ------------------------------------------------------------------ node leases (kube-node-lease)

const leases = new WeakMap<SimNode, number>();
const LEASE_TYPES = new Set(['lease', 'leases', 'lease.coordination.k8s.io', 'leases.coordination.k8s.io']);

export function isLeaseType(type: string): boolean {
  return LEASE_TYPES.has(type);
}

/** The kubelet renews its lease while it runs and reaches an API server (on a worker: through its proxy). */
function kubeletReachesApi(state: SimState, node: SimNode): boolean {
  if (!node.up || node.stopped || node.restarting || !node.ready) return false;
  if (node.role === 'control-plane') return state.apiAvailable(node);
  return state.nodeList().some((n) => state.apiAvailable(n));
}

/** spec.renewTime in ms: now while the kubelet reaches the API, else the last renewal. */
function renewLease(state: SimState, node: SimNode): number {
  const now = state.now();
  const last = leases.get(node) ?? now - 4_000;
  const at = kubeletReachesApi(state, node) ? now : last;
  leases.set(node, at);
  return at;
}

/** Renews every healthy node's lease (call before a node becomes unhealthy, so its lease freezes at the right time). */
export function renewLeases(state: SimState): void {
  for (const n of state.nodeList()) renewLease(state, n);
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function leaseObject(state: SimState, node: SimNode): Parameters<typeof kubeJson>[0] {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      creationTimestamp: new Date(Math.floor(node.createdAt / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      name: node.name,
      namespace: 'kube-node-lease',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid }],
      resourceVersion: String(state.raftIndex),
      uid: uuid(`lease:${node.name}`),
    },
    spec: { holderIdentity: node.name, leaseDurationSeconds: 40, renewTime: microTime(renewLease(state, node)) },
  };
}

/** `kubectl get lease NAME -n kube-node-lease [-o json|yaml]` (the API must answer on this node). */
export function getLease(ctx: CommandContext, names: string[], flags: Map<string, string>): CommandResult {
  const { state } = ctx;
  const down = apiUnavailable(ctx, 'get leases.coordination.k8s.io');
  if (down) return down;
  const ns = flags.get('namespace') ?? 'default';
  const output = flags.get('output') ?? '';
  if (names.length !== 1) return fail(1, 'mk8s-sim: only `kubectl get lease NAME -n kube-node-lease` is simulated\n');
  const name = names[0] ?? '';
  const target = ns === 'kube-node-lease' ? state.nodes.get(name) : undefined;
  if (!target) return fail(1, `Error from server (NotFound): leases.coordination.k8s.io "${name}" not found\n`);
  const obj = leaseObject(state, target);
  if (output === 'json') return ok(kubeJson(obj));
  if (output === 'yaml') return ok(kubeYaml(obj));
  if (output === '') {
    return ok(tabwrite(`NAME\tHOLDER\tAGE\n${name}\t${name}\t19d\n`, { minwidth: 0, padding: 3 }));
  }
  return fail(1, `mk8s-sim: kubectl get lease -o ${output} is not simulated\n`);
}
