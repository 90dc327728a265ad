/**
 * src/config — the environment (env.ts) and the inventory (this file): clusters, nodes, SSH
 * settings, policy and RBAC, validated with messages that say what is allowed.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import * as z from 'zod';
import { parseWindow, type MaintenanceWindow } from '../schedule/windows.ts';
import { excerpt } from '../util/excerpt.ts';
import { parseDuration } from './duration.ts';
import { Channel, Principal, describeIssue, strict } from './inventory-fields.ts';

/** Names that reach a shell or a Kubernetes API: DNS-1123 labels, nothing else. */
export const NODE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[?[0-9a-fA-F:]+\]?$/;

const DURATION_HINT = 'expected a duration such as 15s, 30m, 2h or 1d';
const Duration = z
  .string({ error: DURATION_HINT })
  .refine((s) => parseDuration(s) !== undefined, { message: DURATION_HINT })
  .transform((s) => parseDuration(s) as number);

/** A duration, or 0 (a number or "0") for off: the watch's interval. */
const DurationOrOff = z
  .union([z.literal(0), z.literal('0'), z.string()], { error: 'expected a duration such as 15m, or 0 to turn it off' })
  .refine((v) => v === 0 || v === '0' || parseDuration(v) !== undefined, { message: 'expected a duration such as 30s, 15m or 1h, or 0 to turn it off' })
  .transform((v) => (v === 0 || v === '0' ? 0 : (parseDuration(v) as number)));

/** `sat 02:00-06:00 Europe/Berlin` (src/schedule/windows.ts); the error names what is allowed. */
const Window = z.string({ error: 'expected a window such as "sat 02:00-06:00 Europe/Berlin"' }).transform((text, ctx): MaintenanceWindow => {
  const parsed = parseWindow(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

/** The watch (src/watch): a read-only check of every node, every `interval`, that alerts in the cluster's channel. */
const Watch = strict({
  /** 0 turns the watch off for the cluster. */
  interval: DurationOrOff.default(15 * 60_000),
  /** A node NotReady for longer than this is a problem. */
  notReadyAfter: Duration.default(5 * 60_000),
});

const Port = z.number({ error: 'expected a port number from 1 to 65535' }).int('expected a port number from 1 to 65535').min(1, 'expected a port number from 1 to 65535').max(65535, 'expected a port number from 1 to 65535');

const Node = strict({
  name: z.string().regex(NODE_NAME, 'expected a node name: lowercase letters, digits and "-", at most 63 characters'),
  host: z.string().regex(HOST, 'expected a host name or IP address'),
  port: Port.default(22),
  role: z.enum(['control-plane', 'worker']),
  os: z.enum(['linux', 'windows']).default('linux'),
  failureDomain: z.number().int().min(0).optional(),
});

const Ssh = strict({
    user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'expected a Unix user name'),
    privateKeyPath: z.string().min(1).optional(),
    /** Name of an environment variable holding the key passphrase (never the passphrase itself). */
    passphraseEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected the name of an environment variable (upper-case letters, digits and "_"), not the passphrase').optional(),
    agent: z.boolean().default(false),
    knownHostsPath: z.string().min(1),
    sudo: z.boolean().default(true),
    connectTimeout: Duration.default(10_000),
    commandTimeout: Duration.default(600_000),
  })
  .refine((s) => s.agent || s.privateKeyPath, { message: 'set privateKeyPath or agent: true' });

const Rbac = strict({
  operators: z.array(Principal).default([]),
  approvers: z.array(Principal).default([]),
  viewers: z.array(Principal).default(['*']),
});

const Policy = strict({
  approvePlan: z.boolean().default(true),
  twoPerson: z.boolean().default(true),
  approvalTtl: Duration.default(30 * 60_000),
  /** Longest a drain may take before the step fails. */
  drainTimeout: Duration.default(5 * 60_000),
  /** Longest a node may take to come back Ready after a refresh. */
  readyTimeout: Duration.default(10 * 60_000),
  /** Largest clock difference allowed between nodes. */
  maxClockSkew: Duration.default(30_000),
  /** Maintenance windows: when set, mutating jobs run only inside one (`--now` overrides, approved). */
  windows: z.array(Window).max(50, 'expected at most 50 windows').default([]),
});

/** A URL the nodes download from (no quotes, spaces or shell/PowerShell metacharacters). */
const URL_TEXT = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%/+-]*)?$/;
const Url = z.string().regex(URL_TEXT, 'expected an http(s) URL made of letters, digits and ._~%/+- (no spaces or quotes)');
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const octetsOk = (m: RegExpExecArray | null, last?: number): boolean =>
  m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && (last === undefined || Number(m[5]) <= last);
/** A Windows network adapter name as kubelet-service.ps1 takes it inside a double-quoted string: no `"`, `$` or backtick. */
export const ADAPTER_NAME = /^[A-Za-z0-9 ()#._-]{1,64}$/;

/**
 * Windows workers of the cluster (the seed's 向 MicroK8s 添加 Windows 工作节点). Every field has
 * the seed's default; the URLs can point at an internal mirror with the same layout.
 */
const Windows = strict({
  /** The SSH user on Windows nodes (an Administrator); default: ssh.user. */
  user: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a Windows account name: letters, digits, ".", "_" and "-"').optional(),
  /** Microsoft's install-containerd-runtime.ps1. */
  containerdScriptUrl: Url.default('https://raw.githubusercontent.com/microsoft/Windows-Containers/Main/helpful_tools/Install-ContainerdRuntime/install-containerd-runtime.ps1'),
  /** install-calico-windows.ps1 (the seed takes v3.25.1's; the Calico version installed is chosen separately). */
  calicoScriptUrl: Url.default('https://github.com/projectcalico/calico/releases/download/v3.25.1/install-calico-windows.ps1'),
  /** Calico releases: `<base>/v<version>/calico-windows-v<version>.zip` and `…/calicoctl-linux-amd64`. */
  calicoReleaseBaseUrl: Url.default('https://github.com/projectcalico/calico/releases/download'),
  /** The Calico version when it cannot be read from the calico-node DaemonSet, e.g. 3.25.0. */
  calicoVersion: z.string().regex(/^v?\d{1,2}\.\d{1,3}\.\d{1,3}$/, 'expected a Calico version such as 3.25.0').optional(),
  /** Where calicoctl is on the control-plane nodes. */
  calicoctlPath: z.string().regex(/^\/[A-Za-z0-9._/-]+$/, 'expected an absolute path such as /usr/local/bin/calicoctl').default('/usr/local/bin/calicoctl'),
  /** true: when calicoctl is missing, download the cluster's version from calicoReleaseBaseUrl to calicoctlPath. */
  fetchCalicoctl: z.boolean().default(false),
  serviceCidr: z.string().refine((s) => octetsOk(CIDR.exec(s), 32), { message: 'expected an IPv4 CIDR such as 10.152.183.0/24' }).default('10.152.183.0/24'),
  dnsIp: z.string().refine((s) => octetsOk(IPV4.exec(s)), { message: 'expected an IPv4 address such as 10.152.183.10' }).default('10.152.183.10'),
  /** The adapter kubelet-service.ps1 reads the node IP from; default: detected on the node. */
  interfaceName: z.string().regex(ADAPTER_NAME, 'expected an adapter name such as "vEthernet (Ethernet)": letters, digits, spaces and ()#._-').optional(),
  /** The verification pod's image. */
  testImage: z.string().regex(/^[a-z0-9][a-z0-9._/:-]{0,200}$/, 'expected an image reference such as mcr.microsoft.com/windows/nanoserver:ltsc2022').default('mcr.microsoft.com/windows/nanoserver:ltsc2022'),
  /** Longest the test pod may take to start (pulling nanoserver takes longer than kubectl's 60 s). */
  podTimeout: Duration.default(5 * 60_000),
  /** Longest one install script may run. */
  scriptTimeout: Duration.default(20 * 60_000),
  /** Longest the node may take to come back over SSH after a reboot. */
  rebootTimeout: Duration.default(10 * 60_000),
});

const Cluster = strict({
  channel: Channel,
  auditChannel: Channel.optional(),
  ssh: Ssh,
  nodes: z.array(Node).min(1, 'expected at least one node'),
  snapProxy: strict({ host: z.string().regex(HOST, 'expected a host name or IP address'), port: Port.default(22) }).optional(),
  /** Datastore backups fetched to MK8S_BACKUP_DIR/<cluster>/: how many to keep (the newest). */
  backups: strict({ keep: z.number().int().min(1, 'expected a count from 1 to 1000').max(1000, 'expected a count from 1 to 1000').default(10) }).prefault({}),
  policy: Policy.prefault({}),
  windows: Windows.prefault({}),
  watch: Watch.prefault({}),
  /** Per-cluster RBAC; falls back to the top-level lists. */
  rbac: Rbac.optional(),
});

export const InventorySchema = strict({
    clusters: z.record(z.string().regex(CLUSTER_NAME, 'expected a cluster name: lowercase letters, digits and "-"'), Cluster),
    rbac: Rbac.prefault({}),
  })
  .superRefine((inv, ctx) => {
    if (Object.keys(inv.clusters).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['clusters'], message: 'expected at least one cluster' });
    }
    for (const [name, cluster] of Object.entries(inv.clusters)) {
      const seen = new Set<string>();
      cluster.nodes.forEach((node, i) => {
        if (seen.has(node.name)) {
          ctx.addIssue({ code: 'custom', path: ['clusters', name, 'nodes', i, 'name'], message: `duplicate node name "${node.name}"` });
        }
        seen.add(node.name);
      });
      if (!cluster.nodes.some((n) => n.role === 'control-plane')) {
        ctx.addIssue({ code: 'custom', path: ['clusters', name, 'nodes'], message: 'expected at least one control-plane node' });
      }
    }
  });

export type Inventory = z.infer<typeof InventorySchema>;
export type ClusterConfig = Inventory['clusters'][string] & { name: string };
export type NodeConfig = ClusterConfig['nodes'][number];
export type RbacConfig = z.infer<typeof Rbac>;
export type WindowsConfig = z.infer<typeof Windows>;

export class InventoryError extends Error {
  override name = 'InventoryError';
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(top level)';
}

/** Expands `~/` and resolves relative paths against the inventory's folder. */
function resolvePath(file: string, p: string): string {
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return resolve(dirname(file), p);
}

export function parseInventory(text: string, file: string): Inventory {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new InventoryError(`${file}: not valid YAML: ${doc.errors[0]?.message ?? 'unknown error'}`);
  }
  const result = InventorySchema.safeParse(doc.toJS(), { reportInput: true });
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${formatPath(issue.path)}: ${describeIssue(issue)}`);
    throw new InventoryError(`${file}: invalid inventory\n${lines.join('\n')}`);
  }
  const inv = result.data;
  for (const cluster of Object.values(inv.clusters)) {
    cluster.ssh.knownHostsPath = resolvePath(file, cluster.ssh.knownHostsPath);
    if (cluster.ssh.privateKeyPath) cluster.ssh.privateKeyPath = resolvePath(file, cluster.ssh.privateKeyPath);
  }
  return inv;
}

export function loadInventory(file: string): Inventory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InventoryError(`${file}: cannot read the inventory (${(err as NodeJS.ErrnoException).code ?? String(err)}); set MK8S_INVENTORY to its path`);
  }
  return parseInventory(text, file);
}

/** The cluster of that name: own keys only, so `constructor` or `__proto__` is no cluster. */
export function clusterConfig(inv: Inventory, name: string): ClusterConfig | undefined {
  if (!Object.hasOwn(inv.clusters, name)) return undefined;
  const c = inv.clusters[name];
  return c ? { ...c, name } : undefined;
}

/** undefined when `name` is a node of `cluster`; else a message listing its nodes. */
export function nodeInCluster(cluster: ClusterConfig, name: string): string | undefined {
  if (cluster.nodes.some((n) => n.name === name)) return undefined;
  const names = cluster.nodes.map((n) => n.name).join(', ');
  return `unknown node '${excerpt(name)}' in cluster ${cluster.name}; its nodes are ${names}`;
}

export function rbacFor(inv: Inventory, cluster: string): RbacConfig {
  return clusterConfig(inv, cluster)?.rbac ?? inv.rbac;
}
