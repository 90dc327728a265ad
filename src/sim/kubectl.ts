/** `kubectl` as MicroK8s ships it, against the simulated API server. */
import { windowsKubectl } from './windows/cluster-side.ts';
import { fail, ok, parseGoDuration, waitFor, type CommandContext, type CommandResult } from './context.ts';
import { DS_TYPES, getDaemonSets, kubectlApply } from './calico.ts';
import { isFlagError, parseFlags, type FlagSpec } from './flags.ts';
import { KUBECTL_GLOBAL_FLAGS, apiUnavailable, notFound, usageError } from './kubectl-common.ts';
import { cordon, drain } from './kubectl-drain.ts';
import { kubeJson, kubeYaml, listOf, nodeLabels, nodeObject, nodesTable, podObject, podsTable } from './kube-output.ts';
import { getLease, isLeaseType } from './node-config.ts';
import type { SimNode } from './node.ts';
import type { SimPod } from './state.ts';
import { getWorkloads } from './workloads-get.ts';
import { WORKLOAD_TYPES, WORKLOAD_VERBS, workloadKubectl } from './workloads-kubectl.ts';

type Json = Parameters<typeof kubeJson>[0];

const SPECS: Record<string, FlagSpec[]> = {
  get: [
    { name: 'all-namespaces', short: 'A', type: 'bool' },
    { name: 'output', short: 'o', type: 'string' },
    { name: 'field-selector', type: 'string' },
    { name: 'selector', short: 'l', type: 'string' },
    { name: 'no-headers', type: 'bool' },
    { name: 'show-labels', type: 'bool' },
    { name: 'chunk-size', type: 'string' },
    { name: 'watch', short: 'w', type: 'bool' },
  ],
  drain: [
    { name: 'ignore-daemonsets', type: 'bool' },
    { name: 'delete-emptydir-data', type: 'bool' },
    { name: 'delete-local-data', type: 'bool' },
    { name: 'force', type: 'bool' },
    { name: 'timeout', type: 'string' },
    { name: 'grace-period', type: 'string' },
    { name: 'disable-eviction', type: 'bool' },
    { name: 'skip-wait-for-delete-timeout', type: 'string' },
    { name: 'pod-selector', type: 'string' },
    { name: 'selector', short: 'l', type: 'string' },
    { name: 'chunk-size', type: 'string' },
    { name: 'dry-run', type: 'string' },
  ],
  cordon: [
    { name: 'selector', short: 'l', type: 'string' },
    { name: 'dry-run', type: 'string' },
  ],
  wait: [
    { name: 'for', type: 'string' },
    { name: 'timeout', type: 'string' },
    { name: 'all', type: 'bool' },
    { name: 'selector', short: 'l', type: 'string' },
    { name: 'output', short: 'o', type: 'string' },
  ],
  apply: [
    { name: 'filename', short: 'f', type: 'string' },
    { name: 'dry-run', type: 'string' },
  ],
  version: [
    { name: 'short', type: 'bool' },
    { name: 'client', type: 'bool' },
    { name: 'output', short: 'o', type: 'string' },
  ],
};
SPECS.uncordon = SPECS.cordon ?? [];

const POD_FIELDS = new Set(['spec.nodeName', 'metadata.name', 'metadata.namespace', 'status.phase', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.podIP']);
const NODE_TYPES = new Set(['node', 'nodes', 'no']);
const POD_TYPES = new Set(['pod', 'pods', 'po']);

export async function kubectl(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  // the verb is the first word that is not a global flag
  let i = 0;
  const pre: string[] = [];
  while (i < args.length && (args[i] ?? '').startsWith('-')) {
    const a = args[i] ?? '';
    pre.push(a);
    const spec = KUBECTL_GLOBAL_FLAGS.find((g) => a === `--${g.name}` || a === `-${g.short ?? '\0'}`);
    if (spec && !a.includes('=')) {
      pre.push(args[i + 1] ?? '');
      i++;
    }
    i++;
  }
  const verb = args[i];
  if (verb === undefined) {
    return ok('kubectl controls the Kubernetes cluster manager.\n\n Find more information at: https://kubernetes.io/docs/reference/kubectl/overview/\n');
  }
  const windows = await windowsKubectl(ctx, verb, [...pre, ...args.slice(i + 1)]);
  if (windows) return windows;
  if (WORKLOAD_VERBS.has(verb)) return workloadKubectl(ctx, verb, [...pre, ...args.slice(i + 1)]);
  const specs = SPECS[verb];
  if (!specs) return fail(1, `error: unknown command "${verb}" for "kubectl"\nRun 'kubectl --help' for usage.\n`);
  const parsed = parseFlags([...pre, ...args.slice(i + 1)], [...KUBECTL_GLOBAL_FLAGS, ...specs]);
  if (isFlagError(parsed)) {
    if (parsed.kind === 'unknown') return usageError(verb, `unknown ${parsed.flag.startsWith('--') ? 'flag' : 'shorthand flag'}: ${parsed.flag.startsWith('--') ? parsed.flag : `'${parsed.flag.slice(1)}' in ${parsed.flag}`}`);
    if (parsed.kind === 'missing-value') return usageError(verb, `flag needs an argument: ${parsed.flag}`);
    return usageError(verb, `invalid argument "${parsed.value}" for "${parsed.flag}" flag: strconv.ParseBool: parsing "${parsed.value}": invalid syntax`);
  }
  const { flags, positional } = parsed;
  let warnings = '';
  if (flags.has('delete-local-data')) {
    warnings += 'Flag --delete-local-data has been deprecated, This option is deprecated and will be deleted. Use --delete-emptydir-data.\n';
    if (flags.get('delete-local-data') === 'true') flags.set('delete-emptydir-data', 'true');
  }
  let result: CommandResult;
  switch (verb) {
    case 'get':
      result = await get(ctx, positional, flags);
      break;
    case 'drain':
      result = await drain(ctx, positional, flags);
      break;
    case 'cordon':
    case 'uncordon':
      result = await cordon(ctx, verb, positional);
      break;
    case 'wait':
      result = await wait(ctx, positional, flags);
      break;
    case 'apply': {
      const down = apiUnavailable(ctx, 'get openapi/v2');
      result = down ?? kubectlApply(ctx, flags.has('filename') ? [flags.get('filename') ?? ''] : []);
      break;
    }
    default:
      result = version(ctx, flags);
  }
  return warnings ? { ...result, stderr: warnings + result.stderr } : result;
}

function version(ctx: CommandContext, flags: Map<string, string>): CommandResult {
  const v = ctx.node.kubeletVersion;
  const client = `Client Version: ${v}\n`;
  if (flags.get('client') === 'true') return ok(client);
  const check = apiUnavailable(ctx, 'get version');
  const server = `Server Version: ${v}\n`;
  if (check) return { ...check, stdout: client };
  return ok(client + server);
}

// ------------------------------------------------------------------ get

interface Selector {
  key: string;
  op: '=' | '!=';
  value: string;
}

function parseSelector(text: string): Selector[] | undefined {
  if (text.trim() === '') return [];
  const out: Selector[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)\s*$/.exec(part);
    if (!m) return undefined;
    out.push({ key: m[1] ?? '', op: m[2] === '!=' ? '!=' : '=', value: m[3] ?? '' });
  }
  return out;
}

function matches(sel: Selector[], lookup: (key: string) => string | undefined): boolean {
  return sel.every((s) => {
    const v = lookup(s.key);
    return s.op === '=' ? v === s.value : v !== s.value;
  });
}

function podField(pod: SimPod, key: string): string | undefined {
  switch (key) {
    case 'spec.nodeName':
      return pod.nodeName ?? '';
    case 'metadata.name':
      return pod.name;
    case 'metadata.namespace':
      return pod.namespace;
    case 'status.phase':
      return pod.phase;
    case 'spec.restartPolicy':
      return 'Always';
    case 'spec.schedulerName':
      return 'default-scheduler';
    case 'spec.serviceAccountName':
      return 'default';
    case 'status.podIP':
      return pod.podIP ?? '';
    default:
      return undefined;
  }
}

function nodeField(node: SimNode, key: string): string | undefined {
  if (key === 'metadata.name') return node.name;
  if (key === 'spec.unschedulable') return String(node.cordoned);
  return undefined;
}

function splitTypeAndNames(positional: string[]): { type: string; names: string[] } | CommandResult {
  const first = positional[0];
  if (first === undefined) {
    return fail(1, 'You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported resources.\n\nerror: Required resource not specified.\nUse "kubectl explain <resource>" for a detailed description of that resource (e.g. kubectl explain pods).\nSee \'kubectl get -h\' for help and examples\n');
  }
  if (first.includes('/')) {
    const types = new Set<string>();
    const names: string[] = [];
    for (const p of positional) {
      const [t = '', n] = p.split('/', 2);
      if (!n) return fail(1, `error: arguments in resource/name form must have a single resource and name\n`);
      types.add(t);
      names.push(n);
    }
    if (types.size > 1) return fail(1, 'error: the simulator supports one resource type per command\n');
    return { type: [...types][0] ?? '', names };
  }
  return { type: first.split(',')[0] ?? first, names: positional.slice(1) };
}

async function get(ctx: CommandContext, positional: string[], flags: Map<string, string>): Promise<CommandResult> {
  const what = splitTypeAndNames(positional);
  if ('code' in what) return what;
  if (isLeaseType(what.type)) return getLease(ctx, what.names, flags);
  const output = flags.get('output') ?? '';
  if (!['', 'json', 'yaml', 'wide', 'name'].includes(output)) {
    return fail(1, `error: unable to match a printer suitable for the output format "${output}", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml\n`);
  }
  const isNode = NODE_TYPES.has(what.type);
  const isPod = POD_TYPES.has(what.type);
  if (WORKLOAD_TYPES.has(what.type)) return getWorkloads(ctx, what.type, what.names, flags);
  if (DS_TYPES.has(what.type)) return apiUnavailable(ctx, 'get daemonsets.apps') ?? getDaemonSets(ctx, what.names, flags);
  if (!isNode && !isPod) return fail(1, `error: the server doesn't have a resource type "${what.type}"\n`);
  const down = apiUnavailable(ctx, `get ${isNode ? 'nodes' : 'pods'}`);
  if (down) return down;
  ctx.state.reconcile();
  const fieldSel = parseSelector(flags.get('field-selector') ?? '');
  const labelSel = parseSelector(flags.get('selector') ?? '');
  if (!fieldSel) return fail(1, `error: invalid field selector: '${flags.get('field-selector') ?? ''}'\n`);
  if (!labelSel) return fail(1, `error: unable to parse requirement: invalid label selector '${flags.get('selector') ?? ''}'\n`);
  const noHeaders = flags.get('no-headers') === 'true';
  let stderr = '';
  let items: Json[] = [];
  let table = '';
  let names: string[] = [];
  if (isNode) {
    for (const s of fieldSel) {
      if (nodeField(ctx.node, s.key) === undefined) return fail(1, `Error from server (BadRequest): Unable to find {"" "v1" "nodes"} that match label selector "${flags.get('selector') ?? ''}", field selector "${flags.get('field-selector') ?? ''}": field label not supported: ${s.key}\n`);
    }
    let nodes = ctx.state.nodeList().toSorted((a, b) => a.name.localeCompare(b.name));
    if (what.names.length > 0) {
      const picked: SimNode[] = [];
      for (const n of what.names) {
        const node = ctx.state.nodes.get(n);
        if (node) picked.push(node);
        else stderr += notFound('nodes', n);
      }
      nodes = picked;
    }
    nodes = nodes.filter((n) => matches(fieldSel, (k) => nodeField(n, k)) && matches(labelSel, (k) => nodeLabels(n)[k]));
    items = nodes.map((n) => nodeObject(ctx.state, n));
    names = nodes.map((n) => `node/${n.name}`);
    if (nodes.length > 0) table = nodesTable(ctx.state, nodes, output === 'wide', noHeaders);
  } else {
    for (const s of fieldSel) {
      if (!POD_FIELDS.has(s.key)) {
        return fail(1, `Error from server (BadRequest): Unable to find {"" "v1" "pods"} that match label selector "${flags.get('selector') ?? ''}", field selector "${flags.get('field-selector') ?? ''}": field label not supported: ${s.key}\n`);
      }
    }
    const all = flags.get('all-namespaces') === 'true';
    const ns = flags.get('namespace') ?? 'default';
    let pods = ctx.state.pods.filter((p) => all || p.namespace === ns).toSorted((a, b) => (a.namespace === b.namespace ? a.name.localeCompare(b.name) : a.namespace.localeCompare(b.namespace)));
    if (what.names.length > 0) {
      const picked: SimPod[] = [];
      for (const n of what.names) {
        const pod = pods.find((p) => p.name === n);
        if (pod) picked.push(pod);
        else stderr += notFound('pods', n);
      }
      pods = picked;
    }
    pods = pods.filter((p) => matches(fieldSel, (k) => podField(p, k)) && matches(labelSel, (k) => p.labels[k]));
    items = pods.map((p) => podObject(ctx.state, p));
    names = pods.map((p) => `pod/${p.name}`);
    if (pods.length > 0) table = podsTable(ctx.state, pods, { allNamespaces: all, wide: output === 'wide', noHeaders });
    if (pods.length === 0 && what.names.length === 0 && (output === '' || output === 'wide')) {
      stderr += all ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`;
    }
  }
  if (isNode && items.length === 0 && what.names.length === 0 && (output === '' || output === 'wide')) stderr += 'No resources found\n';
  const code = stderr.includes('(NotFound)') ? 1 : 0;
  const single = what.names.length === 1 && items.length === 1 && !positional[0]?.includes(',');
  let stdout: string;
  if (output === 'json') stdout = items.length === 0 && what.names.length > 0 ? '' : kubeJson(single && items[0] !== undefined ? items[0] : listOf(items));
  else if (output === 'yaml') stdout = items.length === 0 && what.names.length > 0 ? '' : kubeYaml(single && items[0] !== undefined ? items[0] : listOf(items));
  else if (output === 'name') stdout = names.map((n) => `${n}\n`).join('');
  else stdout = table;
  return { stdout, stderr, code };
}

// ------------------------------------------------------------------ wait

async function wait(ctx: CommandContext, positional: string[], flags: Map<string, string>): Promise<CommandResult> {
  const forText = flags.get('for');
  if (!forText) return fail(1, 'error: --for must be specified\n');
  const m = /^condition=([^=]+)(?:=(.*))?$/i.exec(forText);
  if (!m) return fail(1, `error: unrecognized condition: "${forText}"\n`);
  const condition = m[1] ?? '';
  const wantStatus = (m[2] ?? 'true').toLowerCase();
  const timeoutText = flags.get('timeout') ?? '30s';
  const timeoutMs = parseGoDuration(timeoutText);
  if (timeoutMs === undefined || timeoutMs < 0) return usageError('wait', `invalid argument "${timeoutText}" for "--timeout" flag: time: invalid duration "${timeoutText}"`);
  let targets: string[] = [];
  if (positional.length === 0) return fail(1, 'error: resource(s) were provided, but no name was specified\n');
  const kind = positional[0] ?? '';
  if (kind.includes('/')) targets = positional;
  else if (NODE_TYPES.has(kind) || POD_TYPES.has(kind)) targets = positional.slice(1).map((n) => `${positional[0]}/${n}`);
  else return fail(1, `error: the server doesn't have a resource type "${positional[0]}"\n`);
  if (targets.length === 0) return fail(1, 'error: resource(s) were provided, but no name was specified\n');
  const down = apiUnavailable(ctx, `get ${targets[0] ?? ''}`);
  if (down) return down;
  let stdout = '';
  for (const t of targets) {
    const [type = '', name = ''] = t.split('/', 2);
    if (!NODE_TYPES.has(type)) return fail(1, `error: the simulator waits on nodes only, not "${type}"\n`);
    const node = ctx.state.nodes.get(name);
    if (!node) return { stdout, stderr: notFound('nodes', name), code: 1 };
    const test = () => {
      if (condition.toLowerCase() !== 'ready') return false;
      const c = ctx.state.readyCondition(node).toLowerCase();
      return c === wantStatus;
    };
    const met = await waitFor(ctx, test, timeoutMs, 5);
    if (!met) return { stdout, stderr: `error: timed out waiting for the condition on nodes/${name}\n`, code: 1 };
    stdout += `node/${name} condition met\n`;
  }
  return ok(stdout);
}
