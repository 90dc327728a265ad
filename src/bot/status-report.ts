import type { Redis } from 'ioredis';
import type { ClusterConfig } from '../config/inventory.ts';
import { errorText } from '../engine/context.ts';
import { HA_CONF, haConfFailureDomain } from '../microk8s/args-files.ts';
import { MicroK8sNode } from '../microk8s/node.ts';
import type { HaMember, KubeNode, MicroK8sStatus } from '../microk8s/types.ts';
import { readLost, type LostNode } from '../ops/lost-nodes.ts';
import { readSnapFacts, type SnapFacts } from '../microk8s/snap-facts.ts';
import { driftOf, readNodeRecords, type NodeRecord } from '../ops/node-records.ts';
import { SshPool } from '../ssh/pool.ts';
import { sshTargetFor } from '../ssh/target.ts';
import { escapeMrkdwn } from '../util/mrkdwn.ts';
import { windowsStatusLines } from './windows-status.ts';

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

function pad(cells: string[][]): string {
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length))) ?? [];
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

function holdText(f: SnapFacts | undefined): string {
  if (!f) return '?';
  if (!f.held) return '-';
  if (f.holdUntil === undefined || f.holdUntil === 'forever') return 'forever';
  return `until ${f.holdUntil}`;
}

function when(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function driftLine(r: NodeRow): string {
  const rec = r.record;
  return `⚠️ drift on ${r.name}: ${r.drift.join('; ')} — changed outside the bot since job ${rec?.byJob ?? '?'} (${rec?.verb ?? '?'}) recorded it at ${rec ? when(rec.at) : '?'}`;
}

function holderNote(holder: string | undefined): string {
  return holder ? ` (${holder} holds the cluster: a change it is making shows here until it records the node)` : '';
}

function membersByRole(s: ClusterStatus, role: HaMember['role']): string {
  const names = s.rows.filter((r) => r.datastore === role).map((r) => r.name);
  const extra = s.unmatched.filter((m) => m.role === role).map((m) => m.address);
  return [...names, ...extra].join(' ') || 'none';
}

export function renderClusterStatus(s: ClusterStatus, holder?: string): string {
  const lines: string[] = [`*Cluster ${s.cluster}*${s.via ? ` (read via ${s.via})` : ''}`];
  if (s.status) {
    if (!s.status.running) lines.push(`MicroK8s: ${s.status.message ?? 'not running'}`);
    lines.push(`high-availability: ${s.status.highAvailability ? 'yes' : 'no'}`);
    lines.push(`datastore voters: ${membersByRole(s, 'voter')} · standby: ${membersByRole(s, 'standby')} · spare: ${membersByRole(s, 'spare')}`);
  } else {
    lines.push(`⚠️ no control-plane node answered: ${s.problems.join('; ')}`);
  }
  const table = [['NODE', 'ROLE', 'DATASTORE', 'FD', 'VERSION', 'REV', 'CHANNEL', 'READY', 'CORDONED', 'HOLD']];
  for (const r of s.rows) {
    const ready = r.lost ? 'LOST' : r.kube ? (r.kube.ready ? 'Ready' : 'NotReady') : r.error ? 'unreachable' : s.status ? 'not in cluster' : '?';
    const fd = r.failureDomain === undefined ? '-' : r.failureDomain === 'unreadable' ? '?' : String(r.failureDomain);
    const snap = (v: string | undefined) => (r.windows ? '-' : (v ?? '?'));
    table.push([
      `${r.drift.length > 0 ? '!' : ''}${r.name}`,
      r.role,
      r.datastore ?? '-',
      fd,
      snap(r.facts?.version),
      snap(r.facts?.revision),
      snap(r.facts?.channel),
      ready,
      r.kube ? (r.kube.unschedulable ? 'yes' : 'no') : '?',
      r.windows ? '-' : holdText(r.facts),
    ]);
  }
  lines.push('```', escapeMrkdwn(pad(table)), '```'); // cells come from node output: no fence, mention or link
  lines.push(...windowsStatusLines(s.rows, s.rows.find((r) => r.name === s.via)?.kube?.kubeletVersion));
  const drifted = s.rows.filter((r) => r.drift.length > 0);
  for (const r of drifted) lines.push(driftLine(r));
  if (drifted.length > 0) lines.push(`(! marks a drifted node${holderNote(holder)}.)`);
  for (const r of s.rows) {
    if (r.lost) lines.push(`⛔ ${r.name} is lost (recover-quorum job ${r.lost.byJob}, ${when(r.lost.at)}): never start it with its old data; reinstall MicroK8s on it before \`add-node ${r.name}\`.`);
  }
  for (const r of s.rows) if (r.error && !r.lost) lines.push(`⚠️ ${r.name}: ${r.error}`);
  if (s.status) for (const p of s.problems) lines.push(`⚠️ ${p}`);
  lines.push(holder ? `Held by ${holder}.` : 'No mutating job holds this cluster.');
  return lines.join('\n');
}

/** `status --drift`: each node against the bot's record. */
export function renderDrift(s: ClusterStatus, holder?: string): string {
  const lines: string[] = [`*Drift check of ${s.cluster}* — each node's snap revision, channel and hold against what the bot last recorded`];
  const table = [['NODE', 'NOW', 'RECORDED', 'BY', 'DRIFT']];
  for (const r of s.rows) {
    const now = r.windows ? 'windows (no snap)' : r.facts ? `${r.facts.revision} ${r.facts.channel} ${holdText(r.facts)}` : 'unreadable';
    const rec = r.record ? `${r.record.revision} ${r.record.channel} ${holdText(r.record)}` : '-';
    const verdict = r.error ? 'unknown' : r.windows ? '-' : !r.record ? 'no record' : r.drift.length > 0 ? r.drift.join('; ') : 'none';
    table.push([r.name, now, rec, r.record ? `job ${r.record.byJob} ${r.record.verb}, ${when(r.record.at)}` : '-', verdict]);
  }
  lines.push('```', escapeMrkdwn(pad(table)), '```'); // cells come from node output: no fence, mention or link
  const drifted = s.rows.filter((r) => r.drift.length > 0);
  lines.push(drifted.length === 0 ? 'No drift: every recorded node is as the bot left it.' : `${drifted.length} node(s) drifted${holderNote(holder)}.`);
  for (const r of s.rows) if (r.error) lines.push(`⚠️ ${r.name}: ${r.error}`);
  for (const p of s.problems) lines.push(`⚠️ ${p}`);
  return lines.join('\n');
}
