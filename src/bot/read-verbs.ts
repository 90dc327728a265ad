import type { ChatMessage } from '../chat/port.ts';
import { DECISION_TYPES, renderAuditEvent, type StoredAuditEvent } from '../audit/events.ts';
import type { ClusterConfig, Inventory } from '../config/inventory.ts';
import { formatDuration } from '../config/duration.ts';
import type { BotDeps } from './deps.ts';
import type { JobSummary } from '../queue/job-queue.ts';
import { readClusterStatus } from '../status/cluster-status.ts';
import { renderClusterStatus, renderDrift } from './status-report.ts';

export function clustersMessage(inv: Inventory): ChatMessage {
  const lines = Object.entries(inv.clusters).map(([name, c]) => {
    const nodes = c.nodes.map((n) => `${n.name} (${n.role}${n.os === 'windows' ? ', windows' : ''})`).join(', ');
    const policy = `approve plan: ${c.policy.approvePlan ? 'yes' : 'no'}, two-person: ${c.policy.twoPerson ? 'yes' : 'no'}, approvals expire after ${formatDuration(c.policy.approvalTtl)}`;
    return `*${name}* — channel <#${c.channel}>${c.auditChannel ? `, audit <#${c.auditChannel}>` : ''}\n  nodes: ${nodes}\n  ${policy}`;
  });
  return { text: `${lines.length} cluster(s): ${Object.keys(inv.clusters).join(', ')}`, body: lines.join('\n') };
}

/** `status` (HA state, node table, drift flags) or, with `drift`, only the drift check. Read-only; never waits for a job. */
export async function statusMessage(deps: BotDeps, cluster: ClusterConfig, options: { drift?: boolean } = {}): Promise<ChatMessage> {
  const driftOnly = options.drift === true;
  // The nodes' answers are shared (cache, single flight); who holds the cluster is read fresh.
  const read = deps.statusCache.get(`${cluster.name}\u0000${driftOnly ? 'drift' : 'all'}`, () => readClusterStatus(cluster, { redis: deps.redis, driftOnly, ...(deps.ssh ? { pool: deps.ssh } : {}) }));
  const [status, holder] = await Promise.all([read, deps.queue.holder(cluster.name)]);
  const held = holder ? `job ${holder.jobId} (${holder.verb}, ${holder.state})` : undefined;
  const drifted = status.rows.filter((r) => r.drift.length > 0).map((r) => r.name);
  const driftText = drifted.length > 0 ? `drift on ${drifted.join(', ')}` : 'no drift';
  if (driftOnly) return { text: `drift check of ${cluster.name}: ${driftText}`, body: renderDrift(status, held) };
  const ha = status.status ? `high-availability: ${status.status.highAvailability ? 'yes' : 'no'}` : 'no control-plane node answered';
  return { text: `status of ${cluster.name}: ${ha}; ${driftText}`, body: renderClusterStatus(status, held) };
}

function utcMinute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** How many of a cluster's newest jobs `jobs` lists. */
export const JOBS_SHOWN = 15;

/** `jobs`: the cluster's newest jobs (`listed`: that read, already started). */
export async function jobsMessage(deps: BotDeps, cluster: ClusterConfig, listed?: Promise<JobSummary[]>): Promise<ChatMessage> {
  const jobs = await (listed ?? deps.queue.list(JOBS_SHOWN, cluster.name));
  if (jobs.length === 0) return { text: `No jobs on ${cluster.name} yet.` };
  const lines = jobs.map(
    (j) =>
      `job ${j.jobId} · ${j.state} · \`${j.text}\` by <@${j.user}> at ${utcMinute(j.requestedAt)}${j.startAt !== undefined ? ` · scheduled for ${utcMinute(j.startAt)}` : ''}${j.summary ? ` — ${j.summary.slice(0, 200)}` : ''}`,
  );
  return { text: `${jobs.length} recent job(s) on ${cluster.name}`, body: lines.join('\n') };
}

/**
 * `audit [n]`: the last n decisions on the cluster, newest first — requests (who, what, refused or
 * queued), approvals, rejections, choices, expiries, cancels and job results, one line each.
 * `audit job <id>`: everything about one job in order, its steps and SSH commands included.
 */
export interface AuditArgs {
  count: number;
  job?: string;
}

/** The events `audit` shows: one job's, oldest first, or the cluster's last `count` decisions. */
export function auditEvents(deps: BotDeps, cluster: ClusterConfig, args: AuditArgs): Promise<StoredAuditEvent[]> {
  if (args.job !== undefined) return deps.audit.recent(500, { cluster: cluster.name, jobId: args.job });
  return deps.audit.recent(args.count, { cluster: cluster.name, types: DECISION_TYPES });
}

/** `audit` (`read`: its events' read, already started). */
export async function auditMessage(deps: BotDeps, cluster: ClusterConfig, args: AuditArgs, read: Promise<StoredAuditEvent[]> = auditEvents(deps, cluster, args)): Promise<ChatMessage> {
  const events = await read;
  if (args.job !== undefined) {
    if (events.length === 0) return { text: `No audit events for job ${args.job} on ${cluster.name}.` };
    return { text: `audit of job ${args.job} on ${cluster.name}: ${events.length} event(s), oldest first`, body: events.map(renderAuditEvent).join('\n') };
  }
  if (events.length === 0) return { text: `No audit events for ${cluster.name} yet.` };
  return {
    text: `last ${events.length} decision(s) on ${cluster.name}, newest first (a job's steps and commands: \`audit job <id>\`)`,
    body: events.toReversed().map(renderAuditEvent).join('\n'),
  };
}
