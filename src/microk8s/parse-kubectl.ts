/**
 * Parsers for `microk8s kubectl …`: `get nodes -o json`, `get pods -o json`, `drain`,
 * `cordon`/`uncordon`, `wait --for=condition=Ready`.
 *
 * A worker node answers every kubectl command with a notice and exit 0; that is reported as
 * WorkerNodeError rather than parsed as empty output.
 */
import { isIP } from 'node:net';
import * as z from 'zod';
import { OutputParseError, outputExcerpt, rejectWorkerNotice } from './errors.ts';
import { outputLines } from './parse-snap.ts';
import type { DrainResult, KubeNode, KubePod } from './types.ts';

const Labels = z.record(z.string(), z.string()).nullish();

const NodeJson = z.object({
  kind: z.literal('Node').optional(),
  metadata: z.object({ name: z.string().min(1), labels: Labels }),
  spec: z.object({ unschedulable: z.boolean().nullish() }).nullish(),
  status: z
    .object({
      conditions: z.array(z.object({ type: z.string(), status: z.string(), lastTransitionTime: z.string().nullish() })).nullish(),
      nodeInfo: z.object({ kubeletVersion: z.string(), osImage: z.string().optional(), kernelVersion: z.string().optional(), operatingSystem: z.string().optional() }).nullish(),
      addresses: z.array(z.object({ type: z.string(), address: z.string() })).nullish(),
    })
    .nullish(),
});

const PodJson = z.object({
  kind: z.literal('Pod').optional(),
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().nullish(),
    ownerReferences: z.array(z.object({ kind: z.string() })).nullish(),
    annotations: Labels,
  }),
  spec: z.object({ nodeName: z.string().nullish() }).nullish(),
  status: z.object({ phase: z.string().nullish() }).nullish(),
});

/** Parses kubectl's JSON, tolerating noise lines before it (warnings printed to stdout). */
function parseJson(command: string, text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    const start = trimmed.search(/^[{[]/m);
    const end = Math.max(trimmed.lastIndexOf('}'), trimmed.lastIndexOf(']'));
    if (start >= 0 && end > start) {
      try {
        return JSON.parse(trimmed.slice(start, end + 1));
      } catch {
        // fall through to the error below
      }
    }
    throw OutputParseError.of(command, 'JSON from kubectl', text);
  }
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'an unexpected shape';
  return `${issue.path.length ? issue.path.join('.') : 'the document'}: ${issue.message}`;
}

// Built once: zod compiles an object schema on its first parse, so a schema made per call costs that every time.
const ListJson = z.object({ items: z.array(z.unknown()) });
const KindJson = z.object({ kind: z.string() });

/** Items of a `List` (or a single object of `kind`). */
function items(command: string, text: string, kind: string): unknown[] {
  rejectWorkerNotice(command, text);
  const doc = parseJson(command, text);
  const list = ListJson.safeParse(doc);
  if (list.success) return list.data.items;
  const single = KindJson.safeParse(doc);
  if (single.success && single.data.kind === kind) return [doc];
  throw OutputParseError.of(command, `a kubectl List of ${kind} objects (with "items")`, text);
}

const CONTROL_PLANE_LABEL = 'node.kubernetes.io/microk8s-controlplane';
const WORKER_LABEL = 'node.kubernetes.io/microk8s-worker';

/** `microk8s kubectl get nodes -o json` (or `get node <n> -o json`). */
export function parseNodes(text: string): KubeNode[] {
  const cmd = 'microk8s kubectl get nodes -o json';
  return items(cmd, text, 'Node').map((item, i) => {
    const parsed = NodeJson.safeParse(item);
    if (!parsed.success) throw new OutputParseError(cmd, `a Node object at items[${i}]`, `${issueText(parsed.error)} in ${outputExcerpt(JSON.stringify(item), 120)}`);
    const n = parsed.data;
    const labels = n.metadata.labels ?? {};
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    const node: KubeNode = {
      name: n.metadata.name,
      ready: ready?.status === 'True',
      unschedulable: n.spec?.unschedulable === true,
      kubeletVersion: n.status?.nodeInfo?.kubeletVersion ?? '',
      role: CONTROL_PLANE_LABEL in labels ? 'control-plane' : WORKER_LABEL in labels ? 'worker' : 'unknown',
      labels,
    };
    // Used in commands (nc, curl) and files (the API-server proxy's endpoints): kept only
    // when it really is an IP address, whatever a node's API says.
    const ip = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (ip && isIP(ip) !== 0) node.internalIp = ip;
    const info = n.status?.nodeInfo;
    if (info?.osImage) node.osImage = info.osImage;
    if (info?.kernelVersion) node.kernelVersion = info.kernelVersion;
    if (info?.operatingSystem) node.operatingSystem = info.operatingSystem;
    const since = ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : Number.NaN;
    if (!Number.isNaN(since)) node.readySince = since;
    return node;
  });
}

/** `microk8s kubectl get pods [-A] -o json`. */
export function parsePods(text: string): KubePod[] {
  const cmd = 'microk8s kubectl get pods -o json';
  return items(cmd, text, 'Pod').map((item, i) => {
    const parsed = PodJson.safeParse(item);
    if (!parsed.success) throw new OutputParseError(cmd, `a Pod object at items[${i}]`, `${issueText(parsed.error)} in ${outputExcerpt(JSON.stringify(item), 120)}`);
    const p = parsed.data;
    const pod: KubePod = {
      namespace: p.metadata.namespace ?? 'default',
      name: p.metadata.name,
      phase: p.status?.phase ?? 'Unknown',
      daemonSet: (p.metadata.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet'),
      mirror: 'kubernetes.io/config.mirror' in (p.metadata.annotations ?? {}),
    };
    if (p.spec?.nodeName) pod.node = p.spec.nodeName;
    return pod;
  });
}

/**
 * `microk8s kubectl drain <node> --ignore-daemonsets …` (stdout and stderr together):
 *
 *     node/k8s-1 cordoned
 *     WARNING: ignoring DaemonSet-managed Pods: kube-system/calico-node-mhbqw
 *     evicting pod default/microbot-fdcc4594f-hkqrw
 *     pod/microbot-fdcc4594f-hkqrw evicted
 *     node/k8s-1 drained
 *
 * Returns `namespace/name` of each evicted pod (or just `name` when kubectl did not print
 * the namespace). The output must mention `node/<node>`; anything else is refused.
 */
export function parseDrainOutput(text: string, node?: string): DrainResult {
  const cmd = `microk8s kubectl drain ${node ?? '<node>'}`;
  rejectWorkerNotice(cmd, text);
  const lines = outputLines(text).map((l) => l.trim());
  const nodeLine = new RegExp(`^node/${node ? node.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : '\\S+'} (already cordoned|cordoned|drained|evicted)$`);
  if (!lines.some((l) => nodeLine.test(l))) {
    throw OutputParseError.of(cmd, `"node/${node ?? '<node>'} cordoned" / "drained"`, text);
  }
  const evicting: string[] = [];
  const confirmed = new Set<string>();
  for (const l of lines) {
    const started = /^evicting pod "?([^"\s]+)"?$/.exec(l);
    if (started?.[1] && !evicting.includes(started[1])) evicting.push(started[1]);
    const done = /^pod\/(\S+) (evicted|deleted)$/.exec(l) ?? /^pod "([^"]+)" (evicted|deleted)$/.exec(l);
    if (done?.[1]) confirmed.add(done[1]);
  }
  const evicted = evicting.filter((ref) => confirmed.size === 0 || confirmed.has(nameOf(ref)));
  for (const name of confirmed) if (!evicting.some((ref) => nameOf(ref) === name)) evicted.push(name);
  return { evicted };
}

function nameOf(ref: string): string {
  return ref.slice(ref.indexOf('/') + 1);
}

/** `microk8s kubectl cordon|uncordon <node>`: `node/<n> cordoned` or `node/<n> already cordoned`. */
export function parseCordonOutput(text: string, node: string, verb: 'cordon' | 'uncordon'): { changed: boolean } {
  const cmd = `microk8s kubectl ${verb} ${node}`;
  rejectWorkerNotice(cmd, text);
  for (const l of outputLines(text)) {
    const m = /^node\/(\S+) (already )?(cordoned|uncordoned)$/.exec(l.trim());
    if (m && m[1] === node && m[3] === `${verb}ed`) return { changed: m[2] === undefined };
  }
  throw OutputParseError.of(cmd, `"node/${node} ${verb}ed"`, text);
}

/** `microk8s kubectl wait --for=condition=Ready node/<n>`: `node/<n> condition met`. */
export function parseWaitOutput(text: string, node: string): void {
  const cmd = `microk8s kubectl wait --for=condition=Ready node/${node}`;
  rejectWorkerNotice(cmd, text);
  if (!outputLines(text).some((l) => l.trim() === `node/${node} condition met`)) {
    throw OutputParseError.of(cmd, `"node/${node} condition met"`, text);
  }
}
