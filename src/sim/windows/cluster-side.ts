/**
 * The Linux control-plane side of the Windows procedure in the simulator: `microk8s config`,
 * calicoctl (downloaded with `curl -o`, run through `env
 * KUBECONFIG=…`), and the kubectl verbs of the verification pod (`run`, `wait pod/…`, `exec`,
 * `delete pod|node`).
 */
import { createHash } from 'node:crypto';
import { calicoNodeImage } from '../calico.ts';
import { fail, ok, waitFor, type CommandContext, type CommandResult } from '../context.ts';
import type { SimState } from '../state.ts';
import { syncWindowsNode } from './join.ts';

const strictAffinity = new WeakMap<SimState, boolean>();

/** The cluster's Calico as calicoctl sees it: the calico-node DaemonSet's tag (src/sim/calico.ts) and IPAM strict affinity. */
export function clusterCalico(state: SimState): { version: string; strictAffinity: boolean } {
  const tag = calicoNodeImage(state).split(':').pop() ?? '';
  return { version: tag.replace(/^v/, ''), strictAffinity: strictAffinity.get(state) === true };
}

function b64(seed: string, bytes: number): string {
  let out = Buffer.alloc(0);
  let i = 0;
  while (out.length < bytes) out = Buffer.concat([out, createHash('sha256').update(`${seed}:${i++}`).digest()]);
  return out.subarray(0, bytes).toString('base64');
}

/** `microk8s config` (create_kubeconfig_x509): client.config with the node's address, then an empty line. */
export function microk8sConfig(ctx: CommandContext): CommandResult {
  if (ctx.node.role === 'worker') return ok('This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s config on the master.\n');
  if (ctx.sudoRequired && !ctx.root) return fail(1, 'Insufficient permissions to access MicroK8s.\n');
  return ok(
    [
      'apiVersion: v1',
      'clusters:',
      '- cluster:',
      `    certificate-authority-data: ${b64('ca', 1100)}`,
      `    server: https://${ctx.node.ip}:16443`,
      '  name: microk8s-cluster',
      'contexts:',
      '- context:',
      '    cluster: microk8s-cluster',
      '    user: admin',
      '  name: microk8s',
      'current-context: microk8s',
      'kind: Config',
      'preferences: {}',
      'users:',
      '- name: admin',
      '  user:',
      `    client-certificate-data: ${b64('cert', 1100)}`,
      `    client-key-data: ${b64('key', 1700)}`,
      '',
      '',
    ].join('\n'),
  );
}

/** `env NAME=VALUE … command …`: the assignments, and the command after them. */
export function splitEnv(args: readonly string[]): { env: Map<string, string>; argv: string[] } {
  const env = new Map<string, string>();
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] ?? '';
    const eq = a.indexOf('=');
    if (eq <= 0 || a.startsWith('-')) break;
    env.set(a.slice(0, eq), a.slice(eq + 1));
  }
  return { env, argv: args.slice(i) };
}

const CALICOCTL_URL = /\/v(\d+\.\d+\.\d+)\/calicoctl-linux-amd64$/;

/** `curl -fsSL -o <path> <url>` of a calicoctl release; undefined for any other curl (the other simulated URLs). */
export function curlDownload(ctx: CommandContext, args: readonly string[]): CommandResult | undefined {
  const o = args.indexOf('-o');
  if (o < 0) return undefined;
  const path = args[o + 1] ?? '';
  const url = args.find((a) => /^https?:\/\//.test(a)) ?? '';
  const m = CALICOCTL_URL.exec(url);
  if (!m) return undefined;
  const err = ctx.node.fs.writeFile(ctx.node.fs.resolve(path), Buffer.from(`calicoctl v${m[1]}\n`), ctx.root, Date.now());
  if (err) return fail(23, `curl: (23) Failure writing output to destination\n`);
  return ok();
}

/** A calicoctl binary at `path` (a file curl wrote), with the environment `env`. */
export function calicoctl(ctx: CommandContext, path: string, args: readonly string[], env: Map<string, string>): CommandResult {
  const data = ctx.node.fs.readFile(ctx.node.fs.resolve(path), ctx.root);
  if (typeof data === 'string') return ctx.root ? fail(1, `sudo: ${path}: command not found\n`) : fail(127, `bash: line 1: ${path}: No such file or directory\n`);
  const version = /^calicoctl v(\S+)/.exec(data.toString())?.[1] ?? '0.0.0';
  const cluster = clusterCalico(ctx.state);
  const configured = env.get('KUBECONFIG') === '/var/snap/microk8s/current/credentials/client.config' && ctx.root;
  if (args[0] === 'version') {
    const head = `Client Version:    v${version}\nGit commit:        2a15d2bb2\n`;
    if (!configured) return fail(1, 'Unable to retrieve Cluster Version or Type: invalid configuration: no configuration has been provided\n', head);
    return ok(`${head}Cluster Version:   v${cluster.version}\nCluster Type:      k8s,bgp,kubeadm,kdd\n`);
  }
  if (args[0] === 'ipam' && args[1] === 'configure') {
    if (!configured) return fail(1, 'Failed to create Calico API client: invalid configuration: no configuration has been provided\n');
    if (version !== cluster.version && !args.includes('--allow-version-mismatch')) {
      return fail(1, `Version mismatch.\nClient Version:   v${version}\nCluster Version:  v${cluster.version}\nUse --allow-version-mismatch to override.\n`);
    }
    const v = args.find((a) => a.startsWith('--strictaffinity='))?.split('=')[1];
    if (v !== 'true' && v !== 'false') return fail(1, 'Invalid value. Use true or false to set strictaffinity\n');
    strictAffinity.set(ctx.state, v === 'true');
    return ok(`Successfully set StrictAffinity to: ${v}\n`);
  }
  return fail(1, `Invalid option: ${args.join(' ')}\n`);
}

function flagValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === name) return args[i + 1];
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return undefined;
}

/** The kubectl verbs of the Windows procedure's verification pod and node removal; undefined: not one of them. */
export async function windowsKubectl(ctx: CommandContext, verb: string, args: readonly string[]): Promise<CommandResult | undefined> {
  const first = args.find((a) => !a.startsWith('-')) ?? '';
  if (verb === 'run') return runPod(ctx, args);
  if (verb === 'exec') return execPod(ctx, args);
  if (verb === 'wait' && args.some((a) => a.startsWith('pod/'))) return waitPod(ctx, args);
  if (verb === 'delete' && (first === 'pod' || first === 'node')) return deleteThing(ctx, first, args);
  return undefined;
}

function runPod(ctx: CommandContext, args: readonly string[]): CommandResult {
  const name = args[0] ?? '';
  const image = flagValue(args, '--image') ?? '';
  if (!name || !image) return fail(1, 'error: NAME is required for run\n');
  if (ctx.state.pods.some((p) => p.name === name && p.namespace === 'default')) return fail(1, `Error from server (AlreadyExists): pods "${name}" already exists\n`);
  const overrides = flagValue(args, '--overrides');
  let selector: Record<string, string> | undefined;
  if (overrides) {
    try {
      selector = (JSON.parse(overrides) as { spec?: { nodeSelector?: Record<string, string> } }).spec?.nodeSelector;
    } catch {
      return fail(1, 'error: unable to parse the --overrides JSON\n');
    }
  }
  const pod = ctx.state.addPod({ name, app: name, owner: null, image });
  if (selector) pod.nodeSelector = selector;
  ctx.state.reconcile();
  return ok(`pod/${name} created\n`);
}

async function waitPod(ctx: CommandContext, args: readonly string[]): Promise<CommandResult> {
  const target = args.find((a) => a.startsWith('pod/')) ?? '';
  const name = target.slice(4);
  const timeout = Number((flagValue(args, '--timeout') ?? '30s').replace(/s$/, '')) * 1000;
  const met = await waitFor(ctx, () => ctx.state.pods.some((p) => p.name === name && p.phase === 'Running'), timeout, 5);
  if (!ctx.state.pods.some((p) => p.name === name)) return fail(1, `Error from server (NotFound): pods "${name}" not found\n`);
  return met ? ok(`pod/${name} condition met\n`) : fail(1, `error: timed out waiting for the condition on pods/${name}\n`);
}

function execPod(ctx: CommandContext, args: readonly string[]): CommandResult {
  const name = args[0] ?? '';
  const pod = ctx.state.pods.find((p) => p.name === name);
  if (!pod) return fail(1, `Error from server (NotFound): pods "${name}" not found\n`);
  const node = pod.nodeName ? ctx.state.nodes.get(pod.nodeName) : undefined;
  if (!node || pod.phase !== 'Running') return fail(1, `error: unable to upgrade connection: container not found ("${name}")\n`);
  const cmd = args.slice(args.indexOf('--') + 1);
  if (cmd[0] !== 'curl.exe' || !cmd.includes('https://kubernetes')) return fail(1, 'mk8s-sim: only `curl.exe -k -s https://kubernetes` is simulated in a Windows pod\n');
  if (node.windows && !node.windows.running('kube-proxy')) return fail(7, '', '');
  return ok('{\n  "kind": "Status",\n  "apiVersion": "v1",\n  "metadata": {},\n  "status": "Failure",\n  "message": "Unauthorized",\n  "reason": "Unauthorized",\n  "code": 401\n}');
}

function deleteThing(ctx: CommandContext, kind: 'pod' | 'node', args: readonly string[]): CommandResult {
  const names = args.filter((a) => !a.startsWith('-')).slice(1);
  const ignore = args.includes('--ignore-not-found') || args.includes('--ignore-not-found=true');
  let stdout = '';
  for (const name of names) {
    if (kind === 'pod') {
      const before = ctx.state.pods.length;
      ctx.state.pods = ctx.state.pods.filter((p) => !(p.name === name && p.namespace === 'default'));
      if (ctx.state.pods.length < before) stdout += `pod "${name}" deleted\n`;
      else if (!ignore) return fail(1, `Error from server (NotFound): pods "${name}" not found\n`, stdout);
    } else {
      const node = ctx.state.nodes.get(name);
      if (!node) {
        if (!ignore) return fail(1, `Error from server (NotFound): nodes "${name}" not found\n`, stdout);
        continue;
      }
      ctx.state.nodes.delete(name);
      // the garbage collector deletes the node's pods; their ReplicaSets make new ones
      for (const p of ctx.state.pods.filter((x) => x.nodeName === name)) ctx.state.evict(p);
      // kubelet still running would register the node again
      syncWindowsNode(ctx.state, node);
      stdout += `node "${name}" deleted\n`;
    }
  }
  ctx.state.bump();
  return ok(stdout);
}
