/**
 * The App Home: per cluster the viewer may see, its HA state, the nodes with version,
 * Ready and hold (as the watch's last check saw them), the job that holds the cluster,
 * scheduled jobs and open alerts. Slack shows it in the Home tab (views.publish, kept
 * fresh when those change); `home` prints the same view in the console.
 */
import type { Redis } from 'ioredis';
import { hasRole, type MembersLookup } from '../auth/rbac.ts';
import type { ChatPort, HomeSection, HomeView } from '../chat/port.ts';
import { clusterConfig, type ClusterConfig, type Inventory } from '../config/inventory.ts';
import { formatDuration } from '../config/duration.ts';
import { FINAL_STATES } from '../engine/job-data.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { keys } from '../queue/keys.ts';
import type { Clock } from '../schedule/clock.ts';
import { describeWindows } from '../schedule/windows.ts';
import { openAlerts, safe } from '../watch/alerts.ts';
import { readSnapshot, type WatchSnapshot } from '../watch/snapshot.ts';

export interface HomeDeps {
  inventory: Inventory;
  redis: Redis;
  queue: JobQueue;
  members: MembersLookup;
  clock: Clock;
  chat: ChatPort;
}

/** At most this many users get their Home tab republished on a change. */
const MAX_VIEWERS = 500;

function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function nodeTable(s: WatchSnapshot): string {
  const rows = [['NODE', 'VERSION', 'READY', 'HOLD']];
  for (const n of s.nodes) {
    const ready = n.error ? 'unreachable' : n.ready === undefined ? '?' : `${n.ready ? 'Ready' : 'NotReady'}${n.cordoned ? ',cordoned' : ''}`;
    rows.push([n.name, (n.version ?? '?').slice(0, 24), ready, safe(n.hold).slice(0, 40)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

async function clusterSection(deps: HomeDeps, cluster: ClusterConfig): Promise<HomeSection> {
  const now = deps.clock.now();
  const [snapshot, holder, jobs, alerts] = await Promise.all([
    readSnapshot(deps.redis, cluster.name),
    deps.queue.holder(cluster.name),
    deps.queue.list(20, cluster.name),
    openAlerts(deps.redis, cluster.name),
  ]);
  const lines: string[] = [];
  if (snapshot) {
    const ha = snapshot.highAvailability === undefined ? 'unknown (no control-plane node answered)' : snapshot.highAvailability ? 'yes' : 'no';
    lines.push(`*HA:* ${ha} · voters: ${snapshot.voters.join(', ') || 'none'}`);
  } else {
    lines.push(cluster.watch.interval > 0 ? '_The watch has not checked this cluster yet._' : '_The watch is off for this cluster (watch.interval: 0); `status` reads it._');
  }
  lines.push(holder ? `*Held by:* job ${holder.jobId} (${holder.verb}, ${holder.state}${holder.startsAt !== undefined ? `, starts ${utc(holder.startsAt)}` : ''}) by <@${holder.user}>` : '*Held by:* no job');
  const scheduled = jobs.filter((j) => j.startAt !== undefined && j.startAt > now && !FINAL_STATES.has(j.state));
  lines.push(scheduled.length > 0 ? `*Scheduled:* ${scheduled.map((j) => `job ${j.jobId} \`${j.text.slice(0, 80)}\` at ${utc(j.startAt!)}`).join('; ')}` : '*Scheduled:* nothing');
  if (cluster.policy.windows.length > 0) lines.push(`*Maintenance windows:* ${describeWindows(cluster.policy.windows)}`);
  lines.push(alerts.length > 0 ? `*Open alerts (${alerts.length}):*\n${alerts.map((a) => `${a.severity === 'critical' ? '🚨' : '⚠️'} ${safe(a.text).slice(0, 300)}`).join('\n')}` : '*Open alerts:* none');
  if (snapshot) lines.push('```', nodeTable(snapshot), '```');
  const watch = cluster.watch.interval > 0 ? `watch every ${formatDuration(cluster.watch.interval)}` : 'watch off';
  return {
    header: `Cluster ${cluster.name}`.slice(0, 150),
    body: lines.join('\n'),
    context: `${snapshot ? `Nodes as of the watch's check at ${utc(snapshot.at)}` : 'No check yet'} · ${watch} · channel <#${cluster.channel}>`,
  };
}

export async function buildHome(deps: HomeDeps, user: string): Promise<HomeView> {
  const sections: HomeSection[] = [];
  let open = 0;
  for (const name of Object.keys(deps.inventory.clusters)) {
    const cluster = clusterConfig(deps.inventory, name);
    if (!cluster || !(await hasRole('viewer', { user, cluster, inventory: deps.inventory, members: deps.members }))) continue;
    const section = await clusterSection(deps, cluster);
    open += (await deps.redis.hlen(keys.alerts(name)));
    sections.push(section);
  }
  const title = sections.length === 0 ? 'mk8s: no cluster you may view' : `mk8s · ${sections.length} cluster(s) · ${open} open alert(s)`;
  return { title, sections };
}

/** The view as text (the console's `home`, and `/mk8s home`). */
export function homeText(view: HomeView): string {
  return [view.title, ...view.sections.map((s) => `*${s.header}*\n${s.body}${s.context ? `\n_${s.context}_` : ''}`)].join('\n\n');
}

/** Publishes a user's Home tab and remembers them, so that changes republish it. */
export async function publishHome(deps: HomeDeps, user: string): Promise<void> {
  if (!deps.chat.publishHome) return;
  await deps.redis.sadd(keys.homeViewers, user);
  await deps.chat.publishHome(user, await buildHome(deps, user));
}

/** Republishes the Home tab of everyone who opened it (after alerts, jobs or nodes changed); returns the users it failed for. */
export async function refreshHomes(deps: HomeDeps): Promise<string[]> {
  if (!deps.chat.publishHome) return [];
  const users = (await deps.redis.smembers(keys.homeViewers)).slice(0, MAX_VIEWERS);
  const failed: string[] = [];
  for (const user of users) {
    try {
      await deps.chat.publishHome(user, await buildHome(deps, user));
    } catch {
      failed.push(user); // one user's tab (a deactivated account) must not keep the others stale
    }
  }
  return failed;
}
