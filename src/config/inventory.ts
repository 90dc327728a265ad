import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import * as z from 'zod';
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

export function rbacFor(inv: Inventory, cluster: string): RbacConfig {
  return clusterConfig(inv, cluster)?.rbac ?? inv.rbac;
}
