/**
 * The kubectl verbs of the simulated workloads (workloads.ts): `create deploy`, `scale deploy`,
 * `expose deploy --type NodePort`, `delete deploy|svc [--ignore-not-found]` and `rollout status`
 * (deployments here, DaemonSets in calico.ts), with kubectl's flags, usage errors and texts.
 */
import { DS_TYPES, daemonSetRolloutStatus } from './calico.ts';
import { fail, ok, parseGoDuration, type CommandContext, type CommandResult } from './context.ts';
import { isFlagError, parseFlags, type FlagSpec } from './flags.ts';
import { KUBECTL_GLOBAL_FLAGS, apiUnavailable } from './kubectl-common.ts';
import { available, workloadStore, type WorkloadStore } from './workloads.ts';

/** kubectl verbs answered here (dispatched from kubectl.ts). */
export const WORKLOAD_VERBS: ReadonlySet<string> = new Set(['create', 'scale', 'expose', 'delete', 'rollout']);
export const DEPLOY_TYPES = new Set(['deploy', 'deployment', 'deployments', 'deployment.apps', 'deployments.apps']);
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

export function deployNotFound(name: string): string {
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
