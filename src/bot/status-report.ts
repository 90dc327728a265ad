/**
 * `status` and `status --drift` for chat: the table, the drift lines, the lost nodes and the
 * holder, from a ClusterStatus read by src/status/cluster-status.ts (which the watch reads too).
 */
import type { SnapFacts } from '../microk8s/snap-facts.ts';
import type { HaMember } from '../microk8s/types.ts';
import type { ClusterStatus, NodeRow } from '../status/cluster-status.ts';
import { escapeMrkdwn } from '../util/mrkdwn.ts';
import { windowsStatusLines } from './windows-status.ts';

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
