import type { ClusterConfig } from '../config/inventory.ts';
import { errorText } from '../engine/context.ts';
import { MicroK8sNode } from '../microk8s/node.ts';
import type { KubeNode, MicroK8sStatus, SnapState } from '../microk8s/types.ts';
import { SshPool } from '../ssh/pool.ts';
import { sshTargetFor } from '../ssh/target.ts';

export interface NodeRow {
  name: string;
  role: string;
  snap?: SnapState;
  kube?: KubeNode;
  error?: string;
}

export interface ClusterStatus {
  cluster: string;
  via?: string;
  status?: MicroK8sStatus;
  rows: NodeRow[];
  problems: string[];
}

/**
 * Reads a cluster's state over SSH for `status`: the HA state from a
 * control-plane node, `kubectl get nodes` from it, and `snap list` on every node
 * (in parallel). Read-only; it never waits for a job.
 */
export async function readClusterStatus(cluster: ClusterConfig, timeoutMs = 20_000): Promise<ClusterStatus> {
  const pool = new SshPool({});
  const out: ClusterStatus = { cluster: cluster.name, rows: [], problems: [] };
  try {
    const ops = (name: string) => new MicroK8sNode(pool.shell({ ...sshTargetFor(cluster, name), commandTimeoutMs: timeoutMs }));
    const snaps = cluster.nodes.map(async (n): Promise<NodeRow> => {
      try {
        return { name: n.name, role: n.role, snap: await ops(n.name).snap() };
      } catch (err) {
        return { name: n.name, role: n.role, error: errorText(err) };
      }
    });
    for (const cp of cluster.nodes.filter((n) => n.role === 'control-plane')) {
      try {
        const node = ops(cp.name);
        const [status, kube] = await Promise.all([node.status(), node.nodes()]);
        out.via = cp.name;
        out.status = status;
        out.rows = await Promise.all(snaps);
        for (const row of out.rows) row.kube = kube.find((k) => k.name === row.name);
        return out;
      } catch (err) {
        out.problems.push(`${cp.name}: ${errorText(err)}`);
      }
    }
    out.rows = await Promise.all(snaps);
    return out;
  } finally {
    pool.closeAll();
  }
}

function pad(cells: string[][]): string {
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length))) ?? [];
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function renderClusterStatus(s: ClusterStatus, holder?: string): string {
  const lines: string[] = [`*Cluster ${s.cluster}*${s.via ? ` (read via ${s.via})` : ''}`];
  if (s.status) {
    if (!s.status.running) lines.push(`MicroK8s: ${s.status.message ?? 'not running'}`);
    const voters = s.status.members.filter((m) => m.role === 'voter').map((m) => m.address);
    const standby = s.status.members.filter((m) => m.role === 'standby').map((m) => m.address);
    const spare = s.status.members.filter((m) => m.role === 'spare').map((m) => m.address);
    lines.push(`high-availability: ${s.status.highAvailability ? 'yes' : 'no'}`);
    lines.push(`datastore voters: ${voters.join(' ') || 'none'} · standby: ${standby.join(' ') || 'none'}${spare.length ? ` · spare: ${spare.join(' ')}` : ''}`);
  } else {
    lines.push(`⚠️ no control-plane node answered: ${s.problems.join('; ')}`);
  }
  const table = [['NODE', 'ROLE', 'VERSION', 'REV', 'CHANNEL', 'STATUS', 'HOLD']];
  for (const r of s.rows) {
    const status = r.kube ? `${r.kube.ready ? 'Ready' : 'NotReady'}${r.kube.unschedulable ? ',SchedulingDisabled' : ''}` : r.error ? 'unreachable' : 'not in cluster';
    table.push([
      r.name,
      r.role,
      r.snap?.version ?? '?',
      r.snap?.revision ?? '?',
      r.snap?.tracking ?? '?',
      status,
      r.snap ? (r.snap.notes.includes('held') ? 'held' : '-') : '?',
    ]);
  }
  lines.push('```', pad(table), '```');
  for (const r of s.rows) if (r.error) lines.push(`⚠️ ${r.name}: ${r.error}`);
  lines.push(holder ? `Held by ${holder}.` : 'No mutating job holds this cluster.');
  return lines.join('\n');
}
