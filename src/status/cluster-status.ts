/**
 * src/status — the cluster's state as read now, for whoever shows or watches it: the bot's
 * `status` / `status --drift` (rendered for chat in src/bot/status-report.ts) and the watch's
 * periodic check (src/watch). Read-only, no run context (no job is running): it opens its own
 * bounded SSH reads (or uses the process's warm pool) and compares each node with the bot's node
 * records. Nothing here renders for chat, and nothing here imports src/bot or src/watch.
 */
import type { Redis } from 'ioredis';
import type { ClusterConfig } from '../config/inventory.ts';
import { errorText } from '../engine/context.ts';
import { HA_CONF, haConfFailureDomain } from '../microk8s/args-files.ts';
import { MicroK8sNode } from '../microk8s/node.ts';
import { readSnapFacts, type SnapFacts } from '../microk8s/snap-facts.ts';
import type { HaMember, KubeNode, MicroK8sStatus } from '../microk8s/types.ts';
import { readLost, type LostNode } from '../store/lost-nodes.ts';
import { driftOf, readNodeRecords, type NodeRecord } from '../store/node-records.ts';
import { SshPool } from '../ssh/pool.ts';
import { sshTargetFor } from '../ssh/target.ts';

/** `$SNAP_DATA/args/ha-conf`: `failure-domain=<n>` (MK default-args; 1 when absent). */
const DEFAULT_FAILURE_DOMAIN = 1;

export interface NodeRow {
  name: string;
  /** Kubernetes' label when it has one, else the inventory's role. */
  role: string;
  windows: boolean;
  facts?: SnapFacts;
  kube?: KubeNode;
  /** dqlite role, when the node's address is among the datastore members. */
  datastore?: HaMember['role'];
  /** From args/ha-conf (control-plane nodes); undefined for workers. */
  failureDomain?: number | 'unreadable';
  record?: NodeRecord;
  /** A quorum recovery declared it lost: it must not start with its old data. */
  lost?: LostNode;
  /** How the node differs from the bot's record (empty: no drift, or no record). */
  drift: string[];
  error?: string;
}

export interface ClusterStatus {
  cluster: string;
  via?: string;
  status?: MicroK8sStatus;
  rows: NodeRow[];
  /** Datastore members whose address matches no node (by InternalIP or inventory host). */
  unmatched: HaMember[];
  problems: string[];
  /** Only the drift check was made (`status --drift`). */
  driftOnly: boolean;
}

export interface StatusOptions {
  timeoutMs?: number;
  /** Where the bot's node records are (no drift check without it). */
  redis?: Redis;
  /** Only snap state and the drift check: no HA state, no kubectl, no ha-conf. */
  driftOnly?: boolean;
  /** The process's warm SSH pool; without one the read opens (and closes) its own connections. */
  pool?: SshPool;
  now?: number;
}

/** `k8s-1:19001` → `k8s-1`, `[fd00::10]:19001` → `fd00::10`. */
export function addressHost(address: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (v6?.[1]) return v6[1];
  const i = address.lastIndexOf(':');
  return i > 0 && address.indexOf(':') === i ? address.slice(0, i) : address;
}

async function readFailureDomain(ops: MicroK8sNode): Promise<number | 'unreadable'> {
  let text: string | undefined;
  try {
    text = await ops.readFile(HA_CONF);
  } catch {
    return 'unreadable';
  }
  if (text === undefined) return DEFAULT_FAILURE_DOMAIN;
  return haConfFailureDomain(text) ?? (/^failure-domain\b/m.test(text) ? 'unreadable' : DEFAULT_FAILURE_DOMAIN);
}

/**
 * Reads a cluster's state over SSH for `status`: the HA state and
 * `kubectl get nodes` from the first control-plane node that answers, and on
 * every node (in parallel) its snap state, hold and, on control-plane nodes,
 * the failure domain; then compares each node with the bot's record (drift).
 * Read-only; it never waits for a job.
 */
export async function readClusterStatus(cluster: ClusterConfig, options: StatusOptions = {}): Promise<ClusterStatus> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const driftOnly = options.driftOnly ?? false;
  const pool = options.pool ?? new SshPool({});
  const out: ClusterStatus = { cluster: cluster.name, rows: [], unmatched: [], problems: [], driftOnly };
  try {
    const ops = (name: string) => new MicroK8sNode(pool.shell(sshTargetFor(cluster, name), { commandTimeoutMs: timeoutMs }));
    const records = options.redis ? readNodeRecords(options.redis, cluster.name).catch((err: unknown) => {
      out.problems.push(`node records unreadable: ${errorText(err)}`);
      return new Map<string, NodeRecord>();
    }) : Promise.resolve(new Map<string, NodeRecord>());
    const rows = cluster.nodes.map(async (n): Promise<NodeRow> => {
      const row: NodeRow = { name: n.name, role: n.role, windows: n.os === 'windows', drift: [] };
      if (row.windows) return row; // no snap on a Windows worker
      const node = ops(n.name);
      try {
        const [facts, fd] = await Promise.all([
          readSnapFacts(node),
          !driftOnly && n.role === 'control-plane' ? readFailureDomain(node).catch(() => 'unreadable' as const) : Promise.resolve(undefined),
        ]);
        row.facts = facts;
        if (fd !== undefined) row.failureDomain = fd;
      } catch (err) {
        row.error = errorText(err);
      }
      return row;
    });
    if (!driftOnly) {
      for (const cp of cluster.nodes.filter((n) => n.role === 'control-plane')) {
        try {
          const node = ops(cp.name);
          const [status, kube] = await Promise.all([node.status(), node.nodes()]);
          out.via = cp.name;
          out.status = status;
          out.rows = await Promise.all(rows);
          for (const row of out.rows) {
            row.kube = kube.find((k) => k.name === row.name);
            if (row.kube && row.kube.role !== 'unknown') row.role = row.kube.role;
          }
          break;
        } catch (err) {
          out.problems.push(`${cp.name}: ${errorText(err)}`);
        }
      }
    }
    if (out.rows.length === 0) out.rows = await Promise.all(rows);
    if (out.status) matchMembers(cluster, out);
    const recs = await records;
    const lost = options.redis ? await readLost(options.redis, cluster.name).catch(() => new Map<string, LostNode>()) : new Map<string, LostNode>();
    const now = options.now ?? Date.now();
    for (const row of out.rows) {
      row.record = recs.get(row.name);
      const l = lost.get(row.name);
      if (l) row.lost = l;
      if (row.facts) row.drift = driftOf(row.record, row.facts, now);
    }
    return out;
  } finally {
    if (pool !== options.pool) pool.closeAll();
  }
}

/** Puts each datastore member on its node: by the node's InternalIP, else its inventory host (127.0.0.1 on a lone node: the node read). */
function matchMembers(cluster: ClusterConfig, out: ClusterStatus): void {
  const members = out.status?.members ?? [];
  for (const m of members) {
    const host = addressHost(m.address);
    let row = out.rows.find((r) => r.kube?.internalIp === host) ?? out.rows.find((r) => cluster.nodes.find((n) => n.name === r.name)?.host === host);
    if (!row && (host === '127.0.0.1' || host === 'localhost') && members.length === 1) row = out.rows.find((r) => r.name === out.via);
    if (row && row.datastore === undefined) row.datastore = m.role;
    else out.unmatched.push(m);
  }
}
