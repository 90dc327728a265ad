/**
 * Deployments and NodePort services in the simulated cluster, for the seed's verification
 * workload ("通过部署新工作负载进行验证"):
 *
 *   kubectl create deploy NAME --image IMG      → deployment.apps/NAME created
 *   kubectl scale deploy NAME --replicas N      → deployment.apps/NAME scaled
 *   kubectl expose deploy NAME --port 80 --type NodePort → service/NAME exposed
 *   kubectl get svc|deploy [NAME] [-o json|yaml|wide|name]
 *   kubectl rollout status deploy/NAME [--timeout=Ns]
 *   kubectl delete deploy|svc NAME… [--ignore-not-found]
 *
 * The objects live beside the SimState (one store per state), so the shared state file is
 * untouched; the pods are ordinary SimPods owned by the deployment's ReplicaSet, so drain,
 * `get pods -l app=NAME` and the scheduler treat them like any other.
 */
import { DS_TYPES, daemonSetRolloutStatus } from './calico.ts';
import { fail, ok, parseGoDuration, type CommandContext, type CommandResult } from './context.ts';
import { isFlagError, parseFlags, type FlagSpec } from './flags.ts';
import { KUBECTL_GLOBAL_FLAGS, apiUnavailable } from './kubectl-common.ts';
import { humanDuration, kubeJson, kubeYaml, listOf } from './kube-output.ts';
import type { SimPod, SimState } from './state.ts';
import { sha, uuid } from './state.ts';
import { kubectlTable } from './tabwriter.ts';

type Json = Parameters<typeof kubeJson>[0];

export interface SimDeployment {
  namespace: string;
  name: string;
  image: string;
  replicas: number;
  /** pod-template-hash: the ReplicaSet is `<name>-<hash>`. */
  hash: string;
  uid: string;
  createdAt: number;
  generation: number;
}

export interface SimService {
  namespace: string;
  name: string;
  uid: string;
  type: 'NodePort' | 'ClusterIP';
  clusterIP: string;
  port: number;
  targetPort: number;
  nodePort?: number;
  selector: Record<string, string>;
  createdAt: number;
  /** Round-robin cursor over the endpoints (kube-proxy picks at random; the simulator rotates so tests are repeatable). */
  next: number;
}

export class WorkloadStore {
  readonly deployments = new Map<string, SimDeployment>();
  readonly services = new Map<string, SimService>();
  private ipCursor = 2;

  constructor(private readonly state: SimState) {
    // Every cluster has the API server's service.
    this.services.set(key('default', 'kubernetes'), {
      namespace: 'default',
      name: 'kubernetes',
      uid: uuid('svc:default/kubernetes'),
      type: 'ClusterIP',
      clusterIP: '10.152.183.1',
      port: 443,
      targetPort: 16443,
      selector: {},
      createdAt: state.createdAt,
      next: 0,
    });
  }

  deployment(namespace: string, name: string): SimDeployment | undefined {
    return this.deployments.get(key(namespace, name));
  }

  service(namespace: string, name: string): SimService | undefined {
    return this.services.get(key(namespace, name));
  }

  /** The NodePort service listening on `port`, if any. */
  byNodePort(port: number): SimService | undefined {
    return [...this.services.values()].find((s) => s.nodePort === port);
  }

  /** The deployment's pods (its ReplicaSet's), oldest first. */
  podsOf(d: SimDeployment): SimPod[] {
    const rs = `${d.name}-${d.hash}`;
    return this.state.pods.filter((p) => p.namespace === d.namespace && p.owner?.kind === 'ReplicaSet' && p.owner.name === rs).toSorted((a, b) => a.createdAt - b.createdAt);
  }

  /** Pods a service sends traffic to: Running, on a node that is up, matching its selector. */
  endpoints(s: SimService): SimPod[] {
    if (Object.keys(s.selector).length === 0) return [];
    return this.state.pods
      .filter((p) => p.namespace === s.namespace && p.phase === 'Running' && p.nodeName !== undefined)
      .filter((p) => Object.entries(s.selector).every(([k, v]) => p.labels[k] === v))
      .filter((p) => {
        const node = p.nodeName ? this.state.nodes.get(p.nodeName) : undefined;
        return node !== undefined && node.up && !node.stopped;
      })
      .toSorted((a, b) => a.name.localeCompare(b.name));
  }

  create(namespace: string, name: string, image: string, replicas: number): SimDeployment {
    const now = this.state.now();
    const d: SimDeployment = {
      namespace,
      name,
      image,
      replicas: 0,
      hash: templateHash(`${namespace}/${name}:${image}`),
      uid: uuid(`deploy:${namespace}/${name}:${now}`),
      createdAt: now,
      generation: 1,
    };
    this.deployments.set(key(namespace, name), d);
    this.scale(d, replicas);
    return d;
  }

  /** Adds or removes pods (newest first) until the ReplicaSet has `replicas`; the scheduler places new ones. */
  scale(d: SimDeployment, replicas: number): void {
    d.replicas = replicas;
    d.generation += 1;
    const pods = this.podsOf(d);
    for (let i = pods.length; i < replicas; i++) {
      this.state.addPod({
        namespace: d.namespace,
        app: d.name,
        labels: { app: d.name, 'pod-template-hash': d.hash },
        owner: { kind: 'ReplicaSet', name: `${d.name}-${d.hash}` },
        image: d.image,
      });
    }
    const extra = pods.slice(replicas);
    if (extra.length > 0) this.state.pods = this.state.pods.filter((p) => !extra.includes(p));
    this.state.reconcile();
  }

  remove(d: SimDeployment): void {
    const pods = new Set(this.podsOf(d));
    this.state.pods = this.state.pods.filter((p) => !pods.has(p));
    this.deployments.delete(key(d.namespace, d.name));
    this.state.bump();
  }

  expose(d: SimDeployment, name: string, port: number, targetPort: number, type: SimService['type']): SimService {
    const used = new Set([...this.services.values()].map((s) => s.nodePort));
    let nodePort: number | undefined;
    if (type === 'NodePort') {
      do nodePort = 30000 + (this.state.random() % 2768);
      while (used.has(nodePort));
    }
    const svc: SimService = {
      namespace: d.namespace,
      name,
      uid: uuid(`svc:${d.namespace}/${name}:${this.state.now()}`),
      type,
      clusterIP: `10.152.183.${(this.ipCursor = (this.ipCursor % 250) + 1) + 3}`,
      port,
      targetPort,
      ...(nodePort !== undefined ? { nodePort } : {}),
      selector: { app: d.name },
      createdAt: this.state.now(),
      next: 0,
    };
    this.services.set(key(d.namespace, name), svc);
    this.state.bump();
    return svc;
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

const HASH_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A pod-template-hash in the style of the ReplicaSet controller (10 safe characters). */
function templateHash(seed: string): string {
  const h = sha(seed);
  let out = '';
  for (let i = 0; i < 10; i++) out += HASH_ALPHABET[parseInt(h.slice(i * 2, i * 2 + 2), 16) % HASH_ALPHABET.length];
  return out;
}

const stores = new WeakMap<SimState, WorkloadStore>();

/** The deployments and services of a simulated cluster. */
export function workloadStore(state: SimState): WorkloadStore {
  let store = stores.get(state);
  if (!store) {
    store = new WorkloadStore(state);
    stores.set(state, store);
  }
  return store;
}

// ---------------------------------------------------------------- kubectl

/** kubectl verbs answered here (dispatched from kubectl.ts). */
export const WORKLOAD_VERBS: ReadonlySet<string> = new Set(['create', 'scale', 'expose', 'delete', 'rollout']);
const DEPLOY_TYPES = new Set(['deploy', 'deployment', 'deployments', 'deployment.apps', 'deployments.apps']);
const SVC_TYPES = new Set(['svc', 'service', 'services']);
/** `get` resource types answered here. */
export const WORKLOAD_TYPES: ReadonlySet<string> = new Set([...DEPLOY_TYPES, ...SVC_TYPES]);

const SPECS: Record<string, FlagSpec[]> = {
  create: [
    { name: 'image', type: 'string' },
    { name: 'replicas', short: 'r', type: 'string' },
    { name: 'port', type: 'string' },
    { name: 'dry-run', type: 'string' },
    { name: 'output', short: 'o', type: 'string' },
  ],
  scale: [
    { name: 'replicas', type: 'string' },
    { name: 'current-replicas', type: 'string' },
    { name: 'timeout', type: 'string' },
  ],
  expose: [
    { name: 'port', type: 'string' },
    { name: 'target-port', type: 'string' },
    { name: 'type', type: 'string' },
    { name: 'name', type: 'string' },
    { name: 'protocol', type: 'string' },
  ],
  delete: [
    { name: 'ignore-not-found', type: 'bool' },
    { name: 'wait', type: 'bool' },
    { name: 'now', type: 'bool' },
    { name: 'grace-period', type: 'string' },
    { name: 'timeout', type: 'string' },
  ],
  rollout: [
    { name: 'timeout', type: 'string' },
    { name: 'watch', short: 'w', type: 'bool' },
    { name: 'revision', type: 'string' },
  ],
};

function usageError(cmd: string, msg: string): CommandResult {
  return fail(1, `error: ${msg}\nSee 'kubectl ${cmd} -h' for help and examples\n`);
}

const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function deployNotFound(name: string): string {
  return `Error from server (NotFound): deployments.apps "${name}" not found\n`;
}

/** `TYPE NAME` or `TYPE/NAME` → [type, names]. */
function typeAndNames(positional: string[]): { type: string; names: string[] } | undefined {
  const first = positional[0];
  if (first === undefined) return undefined;
  if (first.includes('/')) {
    const [type = '', name = ''] = first.split('/', 2);
    return { type, names: [name, ...positional.slice(1).map((p) => p.split('/').pop() ?? p)] };
  }
  return { type: first, names: positional.slice(1) };
}

function replicasOf(text: string | undefined, flag: string): number | CommandResult {
  if (text === undefined) return 1;
  if (!/^\d{1,4}$/.test(text)) return usageError('scale', `invalid argument "${text}" for "--${flag}" flag: strconv.ParseInt: parsing "${text}": invalid syntax`);
  return Number(text);
}

export async function workloadKubectl(ctx: CommandContext, verb: string, args: string[]): Promise<CommandResult> {
  const parsed = parseFlags(args, [...KUBECTL_GLOBAL_FLAGS, ...(SPECS[verb] ?? [])]);
  if (isFlagError(parsed)) {
    if (parsed.kind === 'unknown') return usageError(verb, `unknown flag: ${parsed.flag}`);
    if (parsed.kind === 'missing-value') return usageError(verb, `flag needs an argument: ${parsed.flag}`);
    return usageError(verb, `invalid argument "${parsed.value}" for "${parsed.flag}" flag`);
  }
  const { flags, positional } = parsed;
  const ns = flags.get('namespace') ?? 'default';
  const store = workloadStore(ctx.state);
  switch (verb) {
    case 'create':
      return create(ctx, store, ns, positional, flags);
    case 'scale':
      return scale(ctx, store, ns, positional, flags);
    case 'expose':
      return expose(ctx, store, ns, positional, flags);
    case 'delete':
      return remove(ctx, store, ns, positional, flags);
    default:
      return rollout(ctx, store, ns, positional, flags);
  }
}

function create(ctx: CommandContext, store: WorkloadStore, ns: string, positional: string[], flags: Map<string, string>): CommandResult {
  const [type, name] = positional;
  if (type === undefined || !DEPLOY_TYPES.has(type)) {
    return fail(1, `mk8s-sim: \`kubectl create ${type ?? ''}\` is not simulated (only create deployment)\n`);
  }
  if (name === undefined) return usageError('create deployment', 'exactly one NAME is required, got 0');
  const image = flags.get('image');
  if (!image) return fail(1, 'error: required flag(s) "image" not set\n');
  const replicas = replicasOf(flags.get('replicas'), 'replicas');
  if (typeof replicas !== 'number') return replicas;
  const down = apiUnavailable(ctx, 'post deployments.apps');
  if (down) return down;
  if (!DNS_NAME.test(name) || name.length > 253) {
    return fail(1, `error: failed to create deployment: Deployment.apps "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character\n`);
  }
  if (store.deployment(ns, name)) return fail(1, `error: failed to create deployment: deployments.apps "${name}" already exists\n`);
  store.create(ns, name, image, replicas);
  return ok(`deployment.apps/${name} created\n`);
}

function scale(ctx: CommandContext, store: WorkloadStore, ns: string, positional: string[], flags: Map<string, string>): CommandResult {
  const what = typeAndNames(positional);
  if (!what || what.names.length === 0) return usageError('scale', 'resource(s) were provided, but no name was specified');
  if (!DEPLOY_TYPES.has(what.type)) return fail(1, `mk8s-sim: \`kubectl scale ${what.type}\` is not simulated\n`);
  const text = flags.get('replicas');
  if (text === undefined) return fail(1, 'error: required flag(s) "replicas" not set\n');
  const replicas = replicasOf(text, 'replicas');
  if (typeof replicas !== 'number') return replicas;
  const down = apiUnavailable(ctx, `get deployments.apps ${what.names[0] ?? ''}`);
  if (down) return down;
  let stdout = '';
  let stderr = '';
  for (const name of what.names) {
    const d = store.deployment(ns, name);
    if (!d) {
      stderr += deployNotFound(name);
      continue;
    }
    store.scale(d, replicas);
    stdout += `deployment.apps/${name} scaled\n`;
  }
  return { stdout, stderr, code: stderr ? 1 : 0 };
}

function expose(ctx: CommandContext, store: WorkloadStore, ns: string, positional: string[], flags: Map<string, string>): CommandResult {
  const what = typeAndNames(positional);
  if (!what || what.names.length === 0) {
    return fail(1, 'error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   \'-f rsrc.yaml\'\n   \'--filename=rsrc.json\'\n   \'<resource> <name>\'\n   \'<resource>\'\n');
  }
  if (!DEPLOY_TYPES.has(what.type)) return fail(1, `mk8s-sim: \`kubectl expose ${what.type}\` is not simulated\n`);
  const name = what.names[0] ?? '';
  const portText = flags.get('port');
  if (portText === undefined) return fail(1, "error: couldn't find port via --port flag or introspection\nSee 'kubectl expose -h' for help and examples\n");
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return fail(1, `error: invalid port: ${portText}\n`);
  const type = flags.get('type') ?? 'ClusterIP';
  if (type !== 'NodePort' && type !== 'ClusterIP') return fail(1, `mk8s-sim: service type ${type} is not simulated\n`);
  const targetText = flags.get('target-port') ?? portText;
  if (!/^\d{1,5}$/.test(targetText)) return fail(1, `error: invalid target port: ${targetText}\n`);
  const down = apiUnavailable(ctx, `get deployments.apps ${name}`);
  if (down) return down;
  const d = store.deployment(ns, name);
  if (!d) return fail(1, deployNotFound(name));
  const svcName = flags.get('name') ?? name;
  if (store.service(ns, svcName)) return fail(1, `Error from server (AlreadyExists): services "${svcName}" already exists\n`);
  store.expose(d, svcName, Number(portText), Number(targetText), type);
  return ok(`service/${svcName} exposed\n`);
}

function remove(ctx: CommandContext, store: WorkloadStore, ns: string, positional: string[], flags: Map<string, string>): CommandResult {
  const what = typeAndNames(positional);
  if (!what || what.names.length === 0) return usageError('delete', 'resource(s) were provided, but no name was specified');
  const isDeploy = DEPLOY_TYPES.has(what.type);
  if (!isDeploy && !SVC_TYPES.has(what.type)) return fail(1, `mk8s-sim: \`kubectl delete ${what.type}\` is not simulated (only deployments and services)\n`);
  const down = apiUnavailable(ctx, `delete ${isDeploy ? 'deployments.apps' : 'services'} ${what.names[0] ?? ''}`);
  if (down) return down;
  const ignore = flags.get('ignore-not-found') === 'true';
  let stdout = '';
  let stderr = '';
  for (const name of what.names) {
    if (isDeploy) {
      const d = store.deployment(ns, name);
      if (d) {
        store.remove(d);
        stdout += `deployment.apps "${name}" deleted\n`;
      } else if (!ignore) stderr += deployNotFound(name);
    } else {
      const s = store.service(ns, name);
      if (s) {
        store.services.delete(`${ns}/${name}`);
        ctx.state.bump();
        stdout += `service "${name}" deleted\n`;
      } else if (!ignore) stderr += `Error from server (NotFound): services "${name}" not found\n`;
    }
  }
  return { stdout, stderr, code: stderr ? 1 : 0 };
}

/** Running pods of the deployment on Ready nodes: what `availableReplicas` counts. */
function available(store: WorkloadStore, d: SimDeployment, state: SimState): number {
  return store.podsOf(d).filter((p) => {
    const node = p.phase === 'Running' && p.nodeName ? state.nodes.get(p.nodeName) : undefined;
    return node !== undefined && state.isReady(node);
  }).length;
}

async function rollout(ctx: CommandContext, store: WorkloadStore, ns: string, positional: string[], flags: Map<string, string>): Promise<CommandResult> {
  const sub = positional[0];
  if (sub !== 'status') return fail(1, `mk8s-sim: \`kubectl rollout ${sub ?? ''}\` is not simulated (only rollout status)\n`);
  const what = typeAndNames(positional.slice(1));
  if (!what || what.names.length === 0) return usageError('rollout status', 'required resource not specified');
  if (DS_TYPES.has(what.type)) return apiUnavailable(ctx, `get daemonsets.apps ${what.names[0] ?? ''}`) ?? daemonSetRolloutStatus(ctx, ns, what.names[0] ?? '', flags);
  if (!DEPLOY_TYPES.has(what.type)) return fail(1, `mk8s-sim: \`kubectl rollout status ${what.type}\` is not simulated\n`);
  const name = what.names[0] ?? '';
  const timeoutText = flags.get('timeout') ?? '0s';
  const timeoutMs = parseGoDuration(timeoutText);
  if (timeoutMs === undefined || timeoutMs < 0) return usageError('rollout status', `invalid argument "${timeoutText}" for "--timeout" flag: time: invalid duration "${timeoutText}"`);
  const down = apiUnavailable(ctx, `get deployments.apps ${name}`);
  if (down) return down;
  if (!store.deployment(ns, name)) return fail(1, deployNotFound(name));
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let stdout = '';
  let last = -1;
  for (;;) {
    ctx.state.reconcile();
    const d = store.deployment(ns, name);
    if (!d) return { stdout, stderr: deployNotFound(name), code: 1 };
    const n = available(store, d, ctx.state);
    if (n >= d.replicas) return ok(`${stdout}deployment "${name}" successfully rolled out\n`);
    if (n !== last) {
      stdout += `Waiting for deployment "${name}" rollout to finish: ${n} of ${d.replicas} updated replicas are available...\n`;
      last = n;
    }
    if (flags.get('watch') === 'false') return ok(stdout);
    if (ctx.signal.aborted) return { stdout, stderr: '', code: 1 };
    if (Date.now() >= deadline) return { stdout, stderr: 'error: timed out waiting for the condition\n', code: 1 };
    await ctx.sleep(Math.min(10, Math.max(1, deadline - Date.now())));
  }
}

// ---------------------------------------------------------------- get

function deploymentObject(store: WorkloadStore, d: SimDeployment, state: SimState): Json {
  const pods = store.podsOf(d);
  const avail = available(store, d, state);
  const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const status: { [k: string]: Json } = { observedGeneration: d.generation, replicas: pods.length, updatedReplicas: pods.length };
  if (avail > 0) {
    status.availableReplicas = avail;
    status.readyReplicas = avail;
  }
  if (avail < d.replicas) status.unavailableReplicas = d.replicas - avail;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      annotations: { 'deployment.kubernetes.io/revision': '1' },
      creationTimestamp: iso(d.createdAt),
      generation: d.generation,
      labels: { app: d.name },
      name: d.name,
      namespace: d.namespace,
      resourceVersion: String(state.raftIndex),
      uid: d.uid,
    },
    spec: {
      progressDeadlineSeconds: 600,
      replicas: d.replicas,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: d.name } },
      strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
      template: {
        metadata: { creationTimestamp: null, labels: { app: d.name } },
        spec: {
          containers: [{ image: d.image, imagePullPolicy: 'IfNotPresent', name: imageName(d.image), resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
          dnsPolicy: 'ClusterFirst',
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
    },
    status,
  };
}

/** The container name kubectl create deployment derives from the image (`dontrebootme/microbot:v1` → `microbot`). */
function imageName(image: string): string {
  const last = image.split('/').pop() ?? image;
  return last.split(/[:@]/)[0] ?? last;
}

function serviceObject(s: SimService, state: SimState): Json {
  const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const port: { [k: string]: Json } = { port: s.port, protocol: 'TCP', targetPort: s.targetPort };
  if (s.name === 'kubernetes') port.name = 'https';
  if (s.nodePort !== undefined) port.nodePort = s.nodePort;
  const spec: { [k: string]: Json } = {
    clusterIP: s.clusterIP,
    clusterIPs: [s.clusterIP],
    internalTrafficPolicy: 'Cluster',
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    ports: [port],
    sessionAffinity: 'None',
    type: s.type,
  };
  if (Object.keys(s.selector).length > 0) spec.selector = s.selector;
  if (s.type === 'NodePort') spec.externalTrafficPolicy = 'Cluster';
  const metadata: { [k: string]: Json } = {
    creationTimestamp: iso(s.createdAt),
    labels: s.name === 'kubernetes' ? { component: 'apiserver', provider: 'kubernetes' } : { app: s.selector.app ?? s.name },
    name: s.name,
    namespace: s.namespace,
    resourceVersion: String(state.raftIndex),
    uid: s.uid,
  };
  return { apiVersion: 'v1', kind: 'Service', metadata, spec, status: { loadBalancer: {} } };
}

/** `kubectl get svc|deploy [NAME…] [-o …]` (dispatched from kubectl.ts's get). */
export function getWorkloads(ctx: CommandContext, type: string, names: string[], flags: Map<string, string>): CommandResult {
  const isDeploy = DEPLOY_TYPES.has(type);
  const down = apiUnavailable(ctx, `get ${isDeploy ? 'deployments.apps' : 'services'}`);
  if (down) return down;
  ctx.state.reconcile();
  const store = workloadStore(ctx.state);
  const all = flags.get('all-namespaces') === 'true';
  const ns = flags.get('namespace') ?? 'default';
  const output = flags.get('output') ?? '';
  const noHeaders = flags.get('no-headers') === 'true';
  const now = ctx.state.now();
  let stderr = '';
  let items: Json[] = [];
  let table = '';
  let shown: string[] = [];
  if (isDeploy) {
    let list = [...store.deployments.values()].filter((d) => all || d.namespace === ns).toSorted((a, b) => a.name.localeCompare(b.name));
    if (names.length > 0) {
      list = names.flatMap((n) => {
        const d = list.find((x) => x.name === n);
        if (!d) stderr += deployNotFound(n);
        return d ? [d] : [];
      });
    }
    items = list.map((d) => deploymentObject(store, d, ctx.state));
    shown = list.map((d) => `deployment.apps/${d.name}`);
    const rows: string[][] = noHeaders ? [] : [[...(all ? ['NAMESPACE'] : []), 'NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', ...(output === 'wide' ? ['CONTAINERS', 'IMAGES', 'SELECTOR'] : [])]];
    for (const d of list) {
      const a = available(store, d, ctx.state);
      const up = store.podsOf(d).length;
      rows.push([...(all ? [d.namespace] : []), d.name, `${a}/${d.replicas}`, String(up), String(a), humanDuration(now - d.createdAt), ...(output === 'wide' ? [imageName(d.image), d.image, `app=${d.name}`] : [])]);
    }
    if (list.length > 0) table = kubectlTable(rows);
  } else {
    let list = [...store.services.values()].filter((s) => all || s.namespace === ns).toSorted((a, b) => a.name.localeCompare(b.name));
    if (names.length > 0) {
      list = names.flatMap((n) => {
        const s = list.find((x) => x.name === n);
        if (!s) stderr += `Error from server (NotFound): services "${n}" not found\n`;
        return s ? [s] : [];
      });
    }
    items = list.map((s) => serviceObject(s, ctx.state));
    shown = list.map((s) => `service/${s.name}`);
    const rows: string[][] = noHeaders ? [] : [[...(all ? ['NAMESPACE'] : []), 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', ...(output === 'wide' ? ['SELECTOR'] : [])]];
    for (const s of list) {
      const ports = s.nodePort !== undefined ? `${s.port}:${s.nodePort}/TCP` : `${s.port}/TCP`;
      const selector = Object.entries(s.selector).map(([k, v]) => `${k}=${v}`).join(',') || '<none>';
      rows.push([...(all ? [s.namespace] : []), s.name, s.type, s.clusterIP, '<none>', ports, humanDuration(now - s.createdAt), ...(output === 'wide' ? [selector] : [])]);
    }
    if (list.length > 0) table = kubectlTable(rows);
  }
  if (items.length === 0 && names.length === 0 && (output === '' || output === 'wide')) stderr += all ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`;
  const code = stderr.includes('(NotFound)') ? 1 : 0;
  const single = names.length === 1 && items.length === 1;
  let stdout: string;
  if (output === 'json') stdout = items.length === 0 && names.length > 0 ? '' : kubeJson(single && items[0] !== undefined ? items[0] : listOf(items));
  else if (output === 'yaml') stdout = items.length === 0 && names.length > 0 ? '' : kubeYaml(single && items[0] !== undefined ? items[0] : listOf(items));
  else if (output === 'name') stdout = shown.map((n) => `${n}\n`).join('');
  else stdout = table;
  return { stdout, stderr, code };
}
