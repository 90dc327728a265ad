/**
 * `microk8s <sub>`: the dispatcher (`microk8s.wrapper`), `status`, `version`, `start`, `stop`,
 * and `kubectl`, with the texts and exit codes of the MicroK8s release the node runs.
 */
import { xable } from './addons.ts';
import { microk8sConfig } from './windows/cluster-side.ts';
import { minorOf } from './catalogue.ts';
import { fail, ok, waitFor, type CommandContext, type CommandResult } from './context.ts';
import { materialize, startDatastore } from './dqlite.ts';
import { inspect } from './inspect.ts';
import { kubectl } from './kubectl.ts';
import { membership } from './membership.ts';
import { onServicesStart } from './node-config.ts';
import type { SimNode } from './node.ts';

const WRAPPERS_121 = ['add-node', 'cilium', 'config', 'ctr', 'dashboard-proxy', 'dbctl', 'disable', 'enable', 'helm', 'helm3', 'istioctl', 'join', 'juju', 'kubectl', 'leave', 'linkerd', 'refresh-certs', 'remove-node', 'reset', 'start', 'status', 'stop'];
const WRAPPERS_124 = ['add-node', 'addons', 'cilium', 'config', 'ctr', 'dashboard-proxy', 'dbctl', 'disable', 'enable', 'helm', 'helm3', 'istioctl', 'join', 'kubectl', 'leave', 'linkerd', 'refresh-certs', 'remove-node', 'reset', 'start', 'status', 'stop'];
const WRAPPERS_125 = ['add-node', 'addons', 'cilium', 'config', 'ctr', 'dashboard-proxy', 'dbctl', 'disable', 'enable', 'helm', 'helm3', 'images', 'istioctl', 'join', 'kubectl', 'leave', 'linkerd', 'refresh-certs', 'remove-node', 'reset', 'start', 'status', 'stop', 'version'];

/** The `microk8s-*.wrapper` files of a release, in glob order. */
export function wrappersFor(minor: number): string[] {
  if (minor >= 28) return WRAPPERS_125.filter((w) => w !== 'cilium');
  if (minor >= 25) return WRAPPERS_125;
  if (minor >= 24) return WRAPPERS_124;
  return WRAPPERS_121;
}

function help(minor: number): string {
  return `Available subcommands are:\n${wrappersFor(minor)
    .map((w) => `\t${w}\n`)
    .join('')}\tinspect\n`;
}

/** The bash `exit_if_no_permissions` guard (stderr, exit 1). */
export function permissionText(user: string, minor: number): string {
  const chown = minor >= 26 ? `    sudo chown -R $USER ~/.kube` : `    sudo chown -f -R $USER ~/.kube`;
  return [
    'Insufficient permissions to access MicroK8s.',
    `You can either try again with sudo or add the user ${user} to the 'microk8s' group:`,
    '',
    `    sudo usermod -a -G microk8s ${user}`,
    chown,
    '',
    "After this, reload the user groups either via a reboot or by running 'newgrp microk8s'.",
    '',
  ].join('\n');
}

export function lacksPermission(ctx: CommandContext): boolean {
  return ctx.sudoRequired && !ctx.root;
}

export async function microk8s(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const minor = minorOf(ctx.node.version);
  const sub = args[0];
  if (sub === undefined) return { stdout: help(minor), stderr: '', code: 1 };
  const rest = args.slice(1);
  if (sub === 'help' || sub === '--help' || sub === '-h') return ok(help(minor));
  if (sub === 'inspect') return inspect(ctx, rest);
  if (!wrappersFor(minor).includes(sub)) return { stdout: `'${sub}' is not a valid MicroK8s subcommand.\n${help(minor)}`, stderr: '', code: 1 };
  switch (sub) {
    case 'status':
      return status(ctx, rest, minor);
    case 'kubectl':
      return kubectlWrapper(ctx, rest);
    case 'version':
      if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
      return ok(`MicroK8s ${ctx.node.version} revision ${ctx.node.revision}\n`);
    case 'start':
    case 'stop':
      return startStop(ctx, sub, minor);
    case 'enable':
    case 'disable':
      return (await xable(ctx, sub, rest)) ?? (await membership(ctx, sub, rest)) ?? fail(1, `mk8s-sim: \`microk8s ${sub}\` is not simulated\n`);
    case 'config':
      return microk8sConfig(ctx);
    default:
      return (await membership(ctx, sub, rest)) ?? fail(1, `mk8s-sim: \`microk8s ${sub}\` is not simulated\n`);
  }
}

/** `microk8s kubectl`: the wrapper's worker, stopped and permission checks, then kubectl. */
export async function kubectlWrapper(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const minor = minorOf(ctx.node.version);
  if (ctx.node.role === 'worker') {
    return ok('This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s kubectl on the master.\n');
  }
  if (ctx.node.stopped) return fail(1, 'microk8s is not running, try microk8s start\n');
  if (!args.some((a) => a.includes('--kubeconfig')) && lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  return kubectl(ctx, args);
}

async function startStop(ctx: CommandContext, sub: 'start' | 'stop', minor: number): Promise<CommandResult> {
  const node = ctx.node;
  if (node.role === 'worker') {
    return ok(`This MicroK8s deployment is acting as a node in a cluster.\nUse 'snap ${sub} microk8s' to ${sub} services on this node.\n`);
  }
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  if (sub === 'stop') {
    await ctx.sleep(ctx.latency.restartMs / 2);
    node.stopped = true;
    materialize(ctx.state, node);
    ctx.state.reconcile();
    return ok('Stopped.\n');
  }
  const wasStopped = node.stopped;
  node.stopped = false;
  if (wasStopped) node.restartingUntil = ctx.state.now() + ctx.latency.restartMs;
  if (wasStopped) onServicesStart(ctx.state, node);
  if (wasStopped) startDatastore(ctx.state, node);
  ctx.state.reconcile();
  return ok('Started.\n');
}

// ---------------------------------------------------------------- status

interface Addon {
  name: string;
  repository: string;
  description: string;
  version: string;
}

const ADDONS_122: Array<[string, string, string]> = [
  ['ambassador', 'Ambassador API Gateway and Ingress', ''],
  ['cilium', 'SDN, fast with full network policy', '1.10'],
  ['dashboard', 'The Kubernetes dashboard', '2.3.0'],
  ['dns', 'CoreDNS', '1.8.0'],
  ['fluentd', 'Elasticsearch-Fluentd-Kibana logging and monitoring', '3.1.0'],
  ['gpu', 'Automatic enablement of Nvidia CUDA', '1.7.0'],
  ['ha-cluster', 'Configure high availability on the current node', '0.1.0'],
  ['helm', 'Helm 2 - the package manager for Kubernetes', '2.16.0'],
  ['helm3', 'Helm 3 - Kubernetes package manager', '3.0.2'],
  ['host-access', 'Allow Pods connecting to Host services smoothly', '1.0.0'],
  ['ingress', 'Ingress controller for external access', '1.0.0-alpha.2'],
  ['istio', 'Core Istio service mesh services', '1.10.3'],
  ['jaeger', 'Kubernetes Jaeger operator with its simple config', '1.24.0'],
  ['kata', 'Kata Containers is a secure runtime with lightweight VMS', 'latest/stable'],
  ['keda', 'Kubernetes-based Event Driven Autoscaling', '2.1.0'],
  ['knative', 'The Knative framework on Kubernetes.', '0.24.0'],
  ['kubeflow', 'Kubeflow for easy ML deployments', ''],
  ['linkerd', 'Linkerd is a service mesh for Kubernetes and other frameworks', '2.10.2'],
  ['metallb', 'Loadbalancer for your Kubernetes cluster', '0.9.3'],
  ['metrics-server', 'K8s Metrics Server for API access to service metrics', '0.5.0'],
  ['multus', 'Multus CNI enables attaching multiple network interfaces to pods', '3.4.2'],
  ['openebs', 'OpenEBS is the open-source storage solution for Kubernetes', '2.6.0'],
  ['openfaas', 'openfaas serverless framework', '6.2.2'],
  ['portainer', 'Portainer UI for your Kubernetes cluster', '2.0.0'],
  ['prometheus', 'Prometheus operator for monitoring and logging', 'v0.8.0'],
  ['rbac', 'Role-Based Access Control for authorisation', ''],
  ['registry', 'Private image registry exposed on localhost:32000', '2.6'],
  ['storage', 'Storage class; allocates storage from host directory', '1.0.0'],
  ['traefik', 'traefik Ingress controller for external access', '2.5.0'],
];

const ADDONS_CORE: Array<[string, string, string]> = [
  ['cert-manager', 'Cloud native certificate management', '1.8.0'],
  ['dashboard', 'The Kubernetes dashboard', '2.7.0'],
  ['dns', 'CoreDNS', '1.10.1'],
  ['ha-cluster', 'Configure high availability on the current node', '0.1.0'],
  ['helm', 'Helm - the package manager for Kubernetes', '3.9.1'],
  ['helm3', 'Helm 3 - the package manager for Kubernetes', '3.9.1'],
  ['host-access', 'Allow Pods connecting to Host services smoothly', '1.0.0'],
  ['hostpath-storage', 'Storage class; allocates storage from host directory', '1.0.0'],
  ['ingress', 'Ingress controller for external access', '1.5.1'],
  ['mayastor', 'OpenEBS MayaStor', '2.0.0'],
  ['metallb', 'Loadbalancer for your Kubernetes cluster', '0.13.3'],
  ['metrics-server', 'K8s Metrics Server for API access to service metrics', '0.6.3'],
  ['minio', 'MinIO object storage', '4.5.1'],
  ['observability', 'A lightweight observability stack for logs, traces and metrics', '0.1.0'],
  ['prometheus', 'Prometheus operator for monitoring and logging', '0.1.0'],
  ['rbac', 'Role-Based Access Control for authorisation', ''],
  ['registry', 'Private image registry exposed on localhost:32000', '2.8.1'],
  ['storage', 'Alias to hostpath-storage add-on, deprecated', '1.0.0'],
];

/** The add-ons `microk8s status` lists on a release (no repositories before 1.24). */
export function addonsFor(minor: number): Addon[] {
  if (minor < 24) return ADDONS_122.map(([name, description, version]) => ({ name, repository: '', description, version }));
  return ADDONS_CORE.map(([name, description, version]) => ({ name, repository: 'core', description, version }));
}

const STATUS_USAGE = 'usage: microk8s status [-h] [--format {pretty,yaml,short}] [-w] [-t TIMEOUT] [-a ADDON]\n                       [--yaml]\n';
const NOT_RUNNING = 'microk8s is not running. Use microk8s inspect for a deeper inspection.';

function argError(msg: string): CommandResult {
  return fail(2, `${STATUS_USAGE}microk8s status: error: ${msg}\n`);
}

interface StatusArgs {
  format: string;
  wait: boolean;
  timeout: number;
  addon: string;
  yaml: boolean;
}

function parseStatusArgs(args: string[]): StatusArgs | CommandResult {
  const out: StatusArgs = { format: 'pretty', wait: false, timeout: 0, addon: 'all', yaml: false };
  const unknown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (name: string): string | CommandResult => {
      if (inline !== undefined) return inline;
      const v = args[i + 1];
      if (v === undefined || (v.startsWith('-') && v.length > 1 && !/^-\d/.test(v))) return argError(`argument ${name}: expected one argument`);
      i++;
      return v;
    };
    if (flag === '-h' || flag === '--help') {
      return ok(`${STATUS_USAGE}\nMicrok8s cluster status check.\n\noptions:\n  -h, --help            show this help message and exit\n  --format {pretty,yaml,short}\n                        print cluster and addon status, output can be in yaml,\n                        pretty or short\n  -w, --wait-ready      wait until the cluster is in ready state\n  -t TIMEOUT, --timeout TIMEOUT\n                        specify a timeout in seconds when waiting for the\n                        cluster to be ready.\n  -a ADDON, --addon ADDON\n                        check the status of an addon.\n  --yaml                DEPRECATED, use '--format yaml' instead\n`);
    } else if (flag === '--format') {
      const v = value('--format');
      if (typeof v !== 'string') return v;
      if (!['pretty', 'yaml', 'short'].includes(v)) return argError(`argument --format: invalid choice: '${v}' (choose from 'pretty', 'yaml', 'short')`);
      out.format = v;
    } else if (flag === '-w' || flag === '--wait-ready') out.wait = true;
    else if (flag === '-t' || flag === '--timeout' || /^-t\d+$/.test(a)) {
      const v = /^-t\d+$/.test(a) ? a.slice(2) : value('-t/--timeout');
      if (typeof v !== 'string') return v;
      if (!/^[-+]?\d+$/.test(v.trim())) return argError(`argument -t/--timeout: invalid int value: '${v}'`);
      out.timeout = Number(v);
    } else if (flag === '-a' || flag === '--addon') {
      const v = value('-a/--addon');
      if (typeof v !== 'string') return v;
      out.addon = v;
    } else if (flag === '--yaml') out.yaml = true;
    else if (flag === '-wt' || flag === '-tw') {
      return argError(`argument -t/--timeout: expected one argument`);
    } else unknown.push(a);
  }
  if (unknown.length > 0) return argError(`unrecognized arguments: ${unknown.join(' ')}`);
  return out;
}

function clusterReady(ctx: CommandContext): boolean {
  const { state, node } = ctx;
  return state.apiAvailable(node) && state.nodeList().some((n) => state.isReady(n));
}

/** `dqlite ... .cluster` as status reads it: empty when this node's dqlite or the leader is unreachable. */
function dqliteInfo(ctx: CommandContext): Array<[string, string]> {
  const { state, node } = ctx;
  if (!node.servicesRunning || !state.hasQuorum()) return [];
  return state
    .nodeList()
    .filter((n): n is SimNode & { dqliteRole: NonNullable<SimNode['dqliteRole']> } => n.dqliteRole !== undefined)
    .map((n) => [n.dqliteAddress, n.dqliteRole]);
}

async function status(ctx: CommandContext, args: string[], minor: number): Promise<CommandResult> {
  const { node } = ctx;
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  if (minor >= 24 && node.role === 'worker') return ok('This MicroK8s deployment is acting as a node in a cluster.\nPlease use the control plane node.\n');
  if (node.stopped) return ok('microk8s is not running, try microk8s start\n');
  if (node.role === 'worker') return { stdout: 'This MicroK8s deployment is acting as a node in a cluster.\nPlease use the master node.\n', stderr: '', code: 1 };
  const parsed = parseStatusArgs(args);
  if ('code' in parsed) return parsed;
  // the HA query (`dqlite … .cluster`, timeout 4 s, retried) finds no leader: status is slow
  if (!ctx.state.hasQuorum()) await ctx.sleep(ctx.latency.restartMs);
  let ready: boolean;
  if (parsed.wait) {
    ready = await waitFor(ctx, () => clusterReady(ctx), parsed.timeout > 0 ? parsed.timeout * 1000 : Infinity, 5);
  } else {
    ctx.state.reconcile();
    ready = clusterReady(ctx);
  }
  let addons = addonsFor(minor);
  if (parsed.addon !== 'all') {
    const wanted = parsed.addon.includes('/') ? parsed.addon.split('/')[1] : parsed.addon;
    addons = addons.filter((a) => a.name === wanted);
    if (addons.length === 0) {
      return fail(1, '', `Addon ${parsed.addon} was not found in any repository\n`);
    }
  }
  const enabled = ready ? addons.filter((a) => ctx.state.addons.has(a.name)) : [];
  const disabled = ready ? addons.filter((a) => !ctx.state.addons.has(a.name)) : [];
  const exit = !ready && minor >= 28 ? 1 : 0;
  let out: string;
  if (parsed.addon !== 'all') out = `${enabled.length > 0 ? 'enabled' : 'disabled'}\n`;
  else if (parsed.format === 'yaml') out = printYaml(ctx, ready, enabled, disabled, minor);
  else if (parsed.format === 'short') out = printShort(ready, enabled, disabled, minor);
  else if (parsed.yaml) out = printShortYaml(ready, enabled, disabled, minor);
  else out = printPretty(ctx, ready, enabled, disabled, minor);
  return { stdout: out, stderr: '', code: exit };
}

function qualified(a: Addon, minor: number): string {
  return minor >= 24 ? `${a.repository}/${a.name}` : a.name;
}

function printShort(ready: boolean, enabled: Addon[], disabled: Addon[], minor: number): string {
  if (!ready) return `${NOT_RUNNING}\n`;
  let s = 'microk8s is running\naddons:\n';
  for (const a of enabled) s += `${qualified(a, minor)}: enabled\n`;
  for (const a of disabled) s += `${qualified(a, minor)}: disabled\n`;
  return s;
}

function printShortYaml(ready: boolean, enabled: Addon[], disabled: Addon[], minor: number): string {
  let s = `microk8s:\n  running: ${ready ? 'True' : 'False'}\n`;
  if (!ready) return `${s}  message: ${NOT_RUNNING}\n`;
  s += 'addons:\n';
  for (const a of enabled) s += `  ${qualified(a, minor)}: enabled\n`;
  for (const a of disabled) s += `  ${qualified(a, minor)}: disabled\n`;
  return s;
}

function printPretty(ctx: CommandContext, ready: boolean, enabled: Addon[], disabled: Addon[], minor: number): string {
  if (!ready) return `${NOT_RUNNING}\n`;
  let s = 'microk8s is running\n';
  const info = dqliteInfo(ctx);
  const voters = info.filter(([, r]) => r === 'voter').map(([a]) => a);
  const standby = info.filter(([, r]) => r === 'standby').map(([a]) => a);
  if (!ctx.state.addons.has('ha-cluster')) s += 'high-availability: no\n';
  else {
    s += `high-availability: ${voters.length > 2 ? 'yes' : 'no'}\n`;
    s += `  datastore master nodes: ${voters.length > 0 ? voters.join(' ') : 'none'}\n`;
    s += `  datastore standby nodes: ${standby.length > 0 ? standby.join(' ') : 'none'}\n`;
  }
  s += 'addons:\n';
  const line = (a: Addon) => `    ${a.name.padEnd(20)} # ${minor >= 24 ? `(${a.repository}) ` : ''}${a.description}\n`;
  if (enabled.length > 0) s += `  enabled:\n${enabled.map(line).join('')}`;
  if (disabled.length > 0) s += `  disabled:\n${disabled.map(line).join('')}`;
  return s;
}

function printYaml(ctx: CommandContext, ready: boolean, enabled: Addon[], disabled: Addon[], minor: number): string {
  const ha = ctx.state.addons.has('ha-cluster');
  let s = `microk8s:\n  running: ${ready ? 'True' : 'False'}\nhigh-availability:\n  enabled: ${ha ? 'True' : 'False'}\n${ha ? '  nodes:\n' : ''}`;
  if (ha) for (const [address, role] of dqliteInfo(ctx)) s += `    - address: ${address}\n      role: ${role}\n`;
  if (!ready) return `${s}  message: ${NOT_RUNNING}\n`;
  s += 'addons:\n';
  const entry = (a: Addon, st: string) =>
    `  - name: ${a.name}\n${minor >= 24 ? `    repository: ${a.repository}\n` : ''}    description: ${a.description}\n    version: ${a.version === '' ? ' ' : a.version}\n    status: ${st}\n`;
  for (const a of enabled) s += entry(a, 'enabled');
  for (const a of disabled) s += entry(a, 'disabled');
  return s;
}
