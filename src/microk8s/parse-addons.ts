/**
 * Parsers of the add-on and CNI commands (reference §C1, §C2, B6): `microk8s status --format yaml`
 * (with `repository:` from 1.24), `microk8s enable|disable`, the calico-node DaemonSet and its
 * pods as JSON, `kubectl apply` lines. The commands are in addons.ts.
 */
import * as z from 'zod';
import { CommandFailedError, tail } from '../ssh/errors.ts';
import { InvalidValueError, OutputParseError, outputExcerpt } from './errors.ts';
import { outputLines } from './parse-snap.ts';
import { parseStatus } from './parse-status.ts';

export interface AddonInfo {
  name: string;
  /** `core`, `community`; absent before 1.24 (no repositories). */
  repository?: string;
  version?: string;
  description?: string;
  enabled: boolean;
}

export interface AddonStatus {
  running: boolean;
  addons: AddonInfo[];
  /** Why no add-ons were listed (not running, a worker node, …). */
  message?: string;
}

const STATUS_CMD = 'microk8s status --format yaml';

/**
 * `microk8s status --format yaml`, and the plain-text answers (stopped, a worker). The YAML is
 * hand-printed by status.py (unquoted values, Python booleans), so it is read line by line, as
 * parse-status.ts reads every format: a YAML library would read `version: 1.10` as the number
 * 1.1, drop a description after ` #`, reject one with `: ` in it — and take some 10 ms a read.
 */
export function parseAddonStatus(output: string): AddonStatus {
  const s = parseStatus(output);
  const status: AddonStatus = { running: s.running, addons: (s.addons ?? []).map((a) => ({ ...a })) };
  if (s.message) status.message = s.message;
  // A running node lists its add-ons; an empty `addons:` block (the YAML form) is read as none.
  if (s.running && status.addons.length === 0 && !/^addons:\s*$/m.test(output)) throw OutputParseError.of(STATUS_CMD, 'the add-on list', output);
  return status;
}

export type XableOutcome =
  /** The add-on script ran and exited 0. */
  | 'done'
  /** `Addon core/dns is already enabled`: nothing ran. */
  | 'unchanged'
  /** hostpath-storage's disable without a terminal: provisioner removed, PV data kept, exit 1. */
  | 'done-data-kept';

export interface XableResult {
  outcome: XableOutcome;
  /** stdout and stderr, as printed (untrusted: escape before posting). */
  output: string;
}

function hostpathKept(action: string, name: string, out: string, code: number): boolean {
  const bare = name.includes('/') ? name.slice(name.indexOf('/') + 1) : name;
  if (action !== 'disable' || (bare !== 'hostpath-storage' && bare !== 'storage') || code !== 1) return false;
  // "Storage removed." (1.24+) / "Storage removed" (≤1.23), and never "Storage space reclaimed".
  return /^Storage removed\.?$/m.test(out) && !/Storage space reclaimed/.test(out);
}

/** Reads what `microk8s enable|disable <name>` printed and its exit code. */
export function parseXable(action: 'enable' | 'disable', name: string, r: { stdout: string; stderr: string; code: number }, node = 'the node'): XableResult {
  const output = `${r.stdout}${r.stdout && r.stderr ? '\n' : ''}${r.stderr}`;
  const lines = outputLines(output).filter((l) => l.trim() !== '');
  const has = (re: RegExp) => lines.some((l) => re.test(l));
  const cmd = `microk8s ${action} ${name}`;
  if (has(/is already (?:enabled|disabled)\.?$/)) return { outcome: 'unchanged', output };
  if (has(/was not found in any repository$/) || has(/^Nothing to do for `/) || has(/^Addon \S+ not found$/)) {
    throw new InvalidValueError(`${node} has no add-on ${name}: ${outputExcerpt(output)}`);
  }
  if (has(/acting as a node in a cluster/)) throw new OutputParseError(cmd, 'a control-plane node', 'the notice of a worker node', node);
  if (hostpathKept(action, name, output, r.code)) return { outcome: 'done-data-kept', output };
  if (r.code === 0) return { outcome: 'done', output };
  throw new CommandFailedError(node, cmd, r.code, tail(r.stderr), undefined, tail(r.stdout, 10, 1000));
}

export interface DaemonSetState {
  image: string;
  desired: number;
  updated: number;
  available: number;
  ready: number;
  generation: number;
  observedGeneration: number;
}

const Container = z.object({ name: z.string(), image: z.string().optional() });
const DaemonSetJson = z.object({
  kind: z.literal('DaemonSet'),
  metadata: z.object({ name: z.string(), generation: z.number().optional() }),
  spec: z.object({ template: z.object({ spec: z.object({ containers: z.array(Container) }) }) }),
  status: z
    .object({
      desiredNumberScheduled: z.number().optional(),
      updatedNumberScheduled: z.number().optional(),
      numberAvailable: z.number().optional(),
      numberReady: z.number().optional(),
      observedGeneration: z.number().optional(),
    })
    .optional(),
});

function parseJson(cmd: string, out: string): unknown {
  if (/acting as a node in a cluster/.test(out)) throw new OutputParseError(cmd, 'a control-plane node', 'the notice of a worker node');
  try {
    return JSON.parse(out) as unknown;
  } catch {
    throw OutputParseError.of(cmd, 'JSON', out);
  }
}

/** `kubectl get ds calico-node -n kube-system -o json`: the calico-node container's image and the rollout counts. */
export function parseCalicoDaemonSet(out: string): DaemonSetState {
  const cmd = 'microk8s kubectl get ds calico-node -n kube-system -o json';
  const parsed = DaemonSetJson.safeParse(parseJson(cmd, out));
  if (!parsed.success) throw OutputParseError.of(cmd, 'a DaemonSet object', out);
  const ds = parsed.data;
  const image = ds.spec.template.spec.containers.find((c) => c.name === 'calico-node')?.image;
  if (!image) throw OutputParseError.of(cmd, 'a calico-node container with an image', out);
  const s = ds.status ?? {};
  return {
    image,
    desired: s.desiredNumberScheduled ?? 0,
    updated: s.updatedNumberScheduled ?? 0,
    available: s.numberAvailable ?? 0,
    ready: s.numberReady ?? 0,
    generation: ds.metadata.generation ?? 0,
    observedGeneration: s.observedGeneration ?? 0,
  };
}

export interface CalicoPod {
  name: string;
  node?: string;
  image?: string;
  ready: boolean;
}

const PodList = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string() }),
      spec: z.object({ nodeName: z.string().optional(), containers: z.array(Container) }).optional(),
      status: z.object({ conditions: z.array(z.object({ type: z.string(), status: z.string() })).optional() }).optional(),
    }),
  ),
});

export function parseCalicoPods(out: string): CalicoPod[] {
  const cmd = 'microk8s kubectl get pods -n kube-system -l k8s-app=calico-node -o json';
  const parsed = PodList.safeParse(parseJson(cmd, out));
  if (!parsed.success) throw OutputParseError.of(cmd, 'a List of Pods', out);
  return parsed.data.items.map((p) => {
    const pod: CalicoPod = { name: p.metadata.name, ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') };
    if (p.spec?.nodeName) pod.node = p.spec.nodeName;
    const image = p.spec?.containers.find((c) => c.name === 'calico-node')?.image;
    if (image) pod.image = image;
    return pod;
  });
}

/** `kubectl apply -f` lines: `daemonset.apps/calico-node configured`. */
export function parseApplyOutput(out: string): Array<{ object: string; action: string }> {
  const result: Array<{ object: string; action: string }> = [];
  for (const line of outputLines(out)) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const object = line.slice(0, space);
    const action = line.slice(space + 1).trim();
    if (object.includes('/') && /^(?:created|configured|unchanged|serverside-applied)(?: \(.*\))?$/.test(action)) result.push({ object, action });
  }
  if (result.length === 0) throw OutputParseError.of('microk8s kubectl apply -f', 'lines such as "daemonset.apps/calico-node configured"', out);
  return result;
}
