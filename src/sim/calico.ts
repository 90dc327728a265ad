/**
 * The Calico CNI of a simulated cluster (reference §C4):
 *
 * - per revision, the bundled manifest at `/snap/microk8s/<rev>/upgrade-scripts/000-switch-to-calico/resources/calico.yaml`
 *   (the Calico of that release) and, per node, the deployed `args/cni-network/cni.yaml`
 *   (copied with the rest of `$SNAP_DATA` on a refresh);
 * - the `calico-node` DaemonSet: `kubectl get ds`, `kubectl apply -f` (an image change rolls the
 *   pods one node at a time; a pod on a NotReady node is never replaced), `kubectl rollout status ds/…`;
 * - the configure hook's automatic upgrade (`scripts/calico/upgrade.py`): unless
 *   `var/lock/no-manage-calico` exists, a deployed calico-node tag containing "3.21" (1.25+;
 *   "3.19" on 1.24) is replaced by the new bundled manifest, keeping only a `can-reach`
 *   IP_AUTODETECTION_METHOD (so a custom pod CIDR is lost), with `cni.yaml.backup` kept, and re-applied.
 */
import { parseAllDocuments, stringify } from 'yaml';
import { minorOf } from './catalogue.ts';
import { fail, ok, parseGoDuration, type CommandContext, type CommandResult } from './context.ts';
import { bundledCalicoYaml, calicoNodeVersion } from './calico-manifest.ts';
import { kubeJson } from './kube-output.ts';
import { uuid } from './ids.ts';
import type { SimNode } from './node.ts';
import type { SimPod, SimState } from './state.ts';

export const CNI_DIR = 'args/cni-network';
const BUNDLED = 'upgrade-scripts/000-switch-to-calico/resources/calico.yaml';
/** How long the DaemonSet controller takes to replace one pod. */
const POD_STEP_MS = 10;
export const DS_TYPES: ReadonlySet<string> = new Set(['ds', 'daemonset', 'daemonsets', 'daemonset.apps', 'daemonsets.apps']);

interface CalicoState {
  image: string;
  kubeControllersImage: string;
  generation: number;
  rolloutStartedAt: number;
  /** Objects as last applied, by `kind/namespace/name` (JSON), for `configured` / `unchanged`. */
  applied: Map<string, string> | undefined;
  /** How many times a manifest was applied (tests). */
  applies: number;
}

const states = new WeakMap<SimState, CalicoState>();

function calico(state: SimState): CalicoState {
  let s = states.get(state);
  if (!s) {
    const first = state.nodeList()[0];
    const minor = first ? minorOf(first.version) : 22;
    s = { image: `docker.io/calico/node:${calicoNodeVersion(minor)}`, kubeControllersImage: '', generation: 1, rolloutStartedAt: 0, applied: undefined, applies: 0 };
    states.set(state, s);
  }
  return s;
}

/** The calico-node image the DaemonSet's template names now (new pods get it). */
export function calicoNodeImage(state: SimState): string {
  return calico(state).image;
}

function fileOf(data: string, now: number, mode = 0o660): { data: Buffer; owner: string; group: string; mode: number; mtimeMs: number } {
  return { data: Buffer.from(data), owner: 'root', group: 'microk8s', mode, mtimeMs: now };
}

/** A revision's files: the bundled manifest always; `fresh` (first install) also the deployed cni.yaml. */
export function seedCalicoFiles(state: SimState, node: SimNode, rev: number, fresh: boolean): void {
  const snapDir = `/snap/microk8s/${rev}/${BUNDLED}`;
  const fs = node.fs;
  const minor = minorOf(node.sequence.find((r) => r.revision === rev)?.version ?? node.version);
  fs.mkdirp(snapDir.slice(0, snapDir.lastIndexOf('/')), true);
  if (!fs.files.has(snapDir)) fs.files.set(snapDir, { ...fileOf(bundledCalicoYaml(minor), state.now(), 0o644), group: 'root' });
  const base = `/var/snap/microk8s/${rev}`;
  fs.mkdirp(`${base}/${CNI_DIR}`, true);
  fs.mkdirp(`${base}/var/lock`, true);
  if (fresh) {
    // the manifest the cluster was installed with (the DaemonSet's current image)
    const installed = calicoNodeImage(state).split(':').pop() ?? '';
    const text = bundledCalicoYaml(installMinorOf(installed, minor));
    fs.files.set(`${base}/${CNI_DIR}/cni.yaml`, fileOf(text, state.now()));
    fs.files.set(`${base}/var/lock/cni-loaded`, fileOf('', state.now()));
  }
}

function installMinorOf(tag: string, fallback: number): number {
  for (let m = 19; m <= 36; m++) if (calicoNodeVersion(m) === tag) return m;
  return fallback;
}

function readText(node: SimNode, path: string): string | undefined {
  const data = node.fs.readFile(path, true);
  return typeof data === 'string' ? undefined : data.toString('utf8');
}

/**
 * The last few manifests parsed, by text: every cluster of a bench applies the same 326 kB manifest
 * (twice: the file, and what the cluster held before), and a parse costs tens of ms. The documents
 * are only read, never changed.
 */
const parsed = new Map<string, ReadonlyArray<Record<string, unknown>> | string>();

function docsOf(text: string): ReadonlyArray<Record<string, unknown>> | string {
  const hit = parsed.get(text);
  if (hit !== undefined) return hit;
  const docs = parseDocs(text);
  if (parsed.size >= 4) parsed.delete(parsed.keys().next().value as string);
  parsed.set(text, docs);
  return docs;
}

function parseDocs(text: string): Array<Record<string, unknown>> | string {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return 'error converting YAML to JSON: empty stream';
  const bad = docs.find((d) => d.errors.length > 0);
  if (bad) return `error converting YAML to JSON: yaml: ${bad.errors[0]?.message.split('\n')[0] ?? 'invalid'}`;
  return docs.map((d) => d.toJS() as unknown).filter((d): d is Record<string, unknown> => !!d && typeof d === 'object');
}

type Obj = Record<string, unknown>;
const at = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Obj)[k] : undefined), o);
const textAt = (o: unknown, ...path: string[]): string => {
  const v = at(o, ...path);
  return typeof v === 'string' ? v : '';
};

function containerImage(doc: Obj, name: string): string | undefined {
  const list = at(doc, 'spec', 'template', 'spec', 'containers');
  const c = Array.isArray(list) ? (list as Obj[]).find((x) => x.name === name) : undefined;
  return typeof c?.image === 'string' ? c.image : undefined;
}

const RESOURCE: Record<string, string> = {
  ServiceAccount: 'serviceaccount',
  ConfigMap: 'configmap',
  CustomResourceDefinition: 'customresourcedefinition.apiextensions.k8s.io',
  ClusterRole: 'clusterrole.rbac.authorization.k8s.io',
  ClusterRoleBinding: 'clusterrolebinding.rbac.authorization.k8s.io',
  DaemonSet: 'daemonset.apps',
  Deployment: 'deployment.apps',
  PodDisruptionBudget: 'poddisruptionbudget.policy',
};

function keyOf(doc: Obj): string {
  return `${textAt(doc, 'kind')}/${textAt(doc, 'metadata', 'namespace')}/${textAt(doc, 'metadata', 'name')}`;
}

/** What the cluster holds before any apply: the first control-plane node's deployed manifest. */
function appliedObjects(state: SimState): Map<string, string> {
  const s = calico(state);
  if (s.applied) return s.applied;
  s.applied = new Map();
  const node = state.nodeList().find((n) => n.role === 'control-plane');
  const text = node ? readText(node, `/var/snap/microk8s/${node.revision}/${CNI_DIR}/cni.yaml`) : undefined;
  const docs = text ? docsOf(text) : [];
  if (Array.isArray(docs)) for (const d of docs) s.applied.set(keyOf(d), JSON.stringify(d));
  return s.applied;
}

/** Applies documents to the cluster; returns kubectl's lines. */
function applyDocs(state: SimState, docs: readonly Obj[]): string {
  const s = calico(state);
  const applied = appliedObjects(state);
  let out = '';
  for (const doc of docs) {
    const kind = textAt(doc, 'kind');
    const name = textAt(doc, 'metadata', 'name');
    const key = keyOf(doc);
    const json = JSON.stringify(doc);
    const before = applied.get(key);
    out += `${RESOURCE[kind] ?? kind.toLowerCase()}/${name} ${before === undefined ? 'created' : before === json ? 'unchanged' : 'configured'}\n`;
    applied.set(key, json);
    if (kind === 'DaemonSet' && name === 'calico-node') {
      const image = containerImage(doc, 'calico-node');
      if (image && image !== s.image) {
        s.image = image;
        s.generation++;
        s.rolloutStartedAt = state.now();
      }
    }
    if (kind === 'Deployment' && name === 'calico-kube-controllers') {
      const image = containerImage(doc, 'calico-kube-controllers');
      if (image) for (const p of state.pods) if (p.app === 'calico-kube-controllers') p.image = image;
    }
  }
  s.applies++;
  state.bump();
  return out;
}

/** `kubectl apply -f FILE` (as root: the file is read with root's rights). */
export function kubectlApply(ctx: CommandContext, files: string[]): CommandResult {
  if (files.length === 0) return fail(1, 'error: must specify one of -f and -k\n');
  let out = '';
  for (const f of files) {
    const data = ctx.node.fs.readFile(f, ctx.root);
    if (typeof data === 'string') return fail(1, `error: the path "${f}" does not exist\n`, out);
    const docs = docsOf(data.toString('utf8'));
    if (typeof docs === 'string') return fail(1, `error: error parsing ${f}: ${docs}\n`, out);
    out += applyDocs(ctx.state, docs);
  }
  return ok(out);
}

function calicoPods(state: SimState): SimPod[] {
  return state.pods.filter((p) => p.owner?.kind === 'DaemonSet' && p.owner.name === 'calico-node').toSorted((a, b) => (a.nodeName ?? '').localeCompare(b.nodeName ?? ''));
}

/** The DaemonSet controller: after an image change, replaces one pod every POD_STEP_MS on Ready nodes. */
export function calicoTick(state: SimState): void {
  const s = states.get(state);
  if (!s || s.rolloutStartedAt === 0) return;
  const due = Math.floor((state.now() - s.rolloutStartedAt) / POD_STEP_MS);
  let replaced = calicoPods(state).filter((p) => p.image === s.image).length;
  for (const pod of calicoPods(state)) {
    if (replaced >= due) break;
    if (pod.image === s.image) continue;
    const node = pod.nodeName ? state.nodes.get(pod.nodeName) : undefined;
    if (!node || !state.isReady(node)) continue;
    pod.image = s.image;
    pod.name = `calico-node-${state.randomSuffix()}`;
    pod.uid = uuid(`pod:${pod.name}:${state.random()}`);
    pod.createdAt = state.now();
    pod.labels = { ...pod.labels, 'pod-template-generation': String(s.generation), 'controller-revision-hash': uuid(`crh:${s.image}`).slice(0, 9) };
    replaced++;
    state.bump();
  }
}

function counts(state: SimState): { desired: number; updated: number; available: number } {
  const s = calico(state);
  const pods = calicoPods(state);
  const onReady = (p: SimPod) => p.phase === 'Running' && !!p.nodeName && !!state.nodes.get(p.nodeName) && state.isReady(state.nodes.get(p.nodeName)!);
  return { desired: state.nodes.size, updated: pods.filter((p) => p.image === s.image).length, available: pods.filter(onReady).length };
}

function daemonSetObject(state: SimState): Parameters<typeof kubeJson>[0] {
  const s = calico(state);
  const c = counts(state);
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { generation: s.generation, labels: { 'k8s-app': 'calico-node' }, name: 'calico-node', namespace: 'kube-system', resourceVersion: String(state.raftIndex), uid: uuid('ds:calico-node') },
    spec: {
      revisionHistoryLimit: 10,
      selector: { matchLabels: { 'k8s-app': 'calico-node' } },
      template: {
        metadata: { labels: { 'k8s-app': 'calico-node' } },
        spec: {
          containers: [{ image: s.image, imagePullPolicy: 'IfNotPresent', name: 'calico-node' }],
          hostNetwork: true,
          initContainers: [{ image: s.image.replace('/node:', '/cni:'), name: 'install-cni' }],
          serviceAccountName: 'calico-node',
        },
      },
      updateStrategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 1 }, type: 'RollingUpdate' },
    },
    status: {
      currentNumberScheduled: calicoPods(state).length,
      desiredNumberScheduled: c.desired,
      numberAvailable: c.available,
      numberMisscheduled: 0,
      numberReady: c.available,
      observedGeneration: s.generation,
      updatedNumberScheduled: c.updated,
    },
  };
}

/** `kubectl get ds [calico-node] -n kube-system -o json` (the API must answer). */
export function getDaemonSets(ctx: CommandContext, names: string[], flags: Map<string, string>): CommandResult {
  calicoTick(ctx.state);
  const ns = flags.get('namespace') ?? 'default';
  const output = flags.get('output') ?? '';
  const wanted = names[0];
  if (ns !== 'kube-system' || (wanted !== undefined && wanted !== 'calico-node')) {
    if (wanted !== undefined) return fail(1, `Error from server (NotFound): daemonsets.apps "${wanted}" not found\n`);
    return ok('', `No resources found in ${ns} namespace.\n`);
  }
  const obj = daemonSetObject(ctx.state);
  if (output === 'json') return ok(kubeJson(wanted ? obj : { apiVersion: 'v1', items: [obj], kind: 'List', metadata: { resourceVersion: '' } }));
  const c = counts(ctx.state);
  return ok(`NAME          DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR            AGE\ncalico-node   ${c.desired}         ${calicoPods(ctx.state).length}         ${c.available}       ${c.updated}            ${c.available}           kubernetes.io/os=linux   19d\n`);
}

/** `kubectl rollout status ds/calico-node -n kube-system [--timeout=D]`, with kubectl's texts. */
export async function daemonSetRolloutStatus(ctx: CommandContext, ns: string, name: string, flags: Map<string, string>): Promise<CommandResult> {
  if (ns !== 'kube-system' || name !== 'calico-node') return fail(1, `Error from server (NotFound): daemonsets.apps "${name}" not found\n`);
  const timeoutText = flags.get('timeout') ?? '0s';
  const timeoutMs = parseGoDuration(timeoutText);
  if (timeoutMs === undefined || timeoutMs < 0) return fail(1, `error: invalid argument "${timeoutText}" for "--timeout" flag: time: invalid duration "${timeoutText}"\n`);
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let stdout = '';
  let last = '';
  for (;;) {
    ctx.state.reconcile();
    calicoTick(ctx.state);
    const c = counts(ctx.state);
    let line: string;
    if (c.updated < c.desired) line = `Waiting for daemon set "${name}" rollout to finish: ${c.updated} out of ${c.desired} new pods have been updated...`;
    else if (c.available < c.desired) line = `Waiting for daemon set "${name}" rollout to finish: ${c.available} of ${c.desired} updated pods are available...`;
    else return ok(`${stdout}daemon set "${name}" successfully rolled out\n`);
    if (line !== last) stdout += `${line}\n`;
    last = line;
    if (ctx.signal.aborted) return { stdout, stderr: '', code: 1 };
    if (Date.now() >= deadline) return { stdout, stderr: 'error: timed out waiting for the condition\n', code: 1 };
    await ctx.sleep(Math.min(5, Math.max(1, deadline - Date.now())));
  }
}

/**
 * The configure hook after a refresh to `node`'s new revision (`refresh_calico_if_needed` →
 * `scripts/calico/upgrade.py`), then the reconcile hook's re-apply (`90-calico-apply`).
 */
export function calicoAfterRefresh(state: SimState, node: SimNode): void {
  const base = `/var/snap/microk8s/${node.revision}`;
  const minor = minorOf(node.version);
  const fs = node.fs;
  if (fs.entry(`${base}/var/lock/no-manage-calico`)) return;
  const cniPath = `${base}/${CNI_DIR}/cni.yaml`;
  const text = readText(node, cniPath);
  const bundled = readText(node, `/snap/microk8s/${node.revision}/${BUNDLED}`);
  if (text === undefined || bundled === undefined) return;
  const docs = docsOf(text);
  if (typeof docs === 'string') return;
  const ds = docs.find((d) => d.kind === 'DaemonSet' && at(d, 'metadata', 'name') === 'calico-node');
  const image = ds ? containerImage(ds, 'calico-node') : undefined;
  if (!image) return;
  const needle = minor >= 25 ? '3.21' : minor === 24 ? '3.19' : undefined;
  if (!needle || !(image.split(':').pop() ?? '').includes(needle)) return;
  const now = state.now();
  fs.files.set(`${cniPath}.backup`, fileOf(text, now));
  const env = at(ds, 'spec', 'template', 'spec', 'containers');
  const autodetect = Array.isArray(env)
    ? ((env as Obj[]).find((c) => c.name === 'calico-node')?.env as Obj[] | undefined)?.find((e) => e.name === 'IP_AUTODETECTION_METHOD')?.value
    : undefined;
  let next = bundled;
  if (typeof autodetect === 'string' && autodetect.includes('can-reach')) {
    // patch_manifest: PyYAML safe_dump_all of every document (comments and layout are gone)
    const nd = docsOf(bundled);
    if (Array.isArray(nd)) {
      for (const d of nd) {
        const cs = at(d, 'spec', 'template', 'spec', 'containers');
        const c = Array.isArray(cs) ? (cs as Obj[]).find((x) => x.name === 'calico-node') : undefined;
        for (const e of (c?.env as Obj[] | undefined) ?? []) if (e.name === 'IP_AUTODETECTION_METHOD') e.value = autodetect;
      }
      next = nd.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
    }
  }
  fs.files.set(cniPath, fileOf(next, now));
  fs.files.delete(`${base}/var/lock/cni-loaded`);
  const nd = docsOf(next);
  if (Array.isArray(nd)) applyDocs(state, nd);
  fs.files.set(`${base}/var/lock/cni-loaded`, fileOf('', now));
}

/** Test handle: what the cluster runs, and how a test customises or locks a node's Calico. */
export interface CalicoHandle {
  /** The DaemonSet template's calico-node image. */
  image(): string;
  applies(): number;
  /** The node's deployed cni.yaml (current revision). */
  cniYaml(node: string): string | undefined;
  /** Rewrites a value in every node's deployed cni.yaml (and, with `applied`, the cluster's objects too). */
  customise(edit: (text: string) => string): void;
  /** Creates `var/lock/no-manage-calico` on the node (current revision). */
  lockNoManage(node: string): void;
}

export function simCalico(state: SimState): CalicoHandle {
  const cni = (n: SimNode) => `/var/snap/microk8s/${n.revision}/${CNI_DIR}/cni.yaml`;
  return {
    image: () => calicoNodeImage(state),
    applies: () => calico(state).applies,
    cniYaml: (name) => readText(state.node(name), cni(state.node(name))),
    customise(edit) {
      for (const n of state.machines.values()) {
        const text = readText(n, cni(n));
        if (text !== undefined) n.fs.files.set(cni(n), fileOf(edit(text), state.now()));
      }
      calico(state).applied = undefined;
    },
    lockNoManage(name) {
      const n = state.node(name);
      n.fs.files.set(`/var/snap/microk8s/${n.revision}/var/lock/no-manage-calico`, fileOf('', state.now()));
    },
  };
}
