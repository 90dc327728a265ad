/**
 * What the watch finds wrong with a cluster, from one read-only look at it
 * (src/status/cluster-status.ts's readClusterStatus): each problem has a stable key (one
 * alert per key while it lasts), a line for people, and the next safe action as the
 * exact command. Pure: tests feed it states.
 */
import type { ClusterConfig } from '../config/inventory.ts';
import type { ClusterStatus, NodeRow } from '../status/cluster-status.ts';

export interface Problem {
  /** Stable while the problem is the same: `drift:k8s-1`, `quorum-lost`. */
  key: string;
  severity: 'warning' | 'critical';
  /** One line, mrkdwn; node text in it is escaped by the caller's renderer. */
  text: string;
  /** The next safe action, as typed after `/mk8s` (without --cluster). */
  action: string;
}

export interface ProblemContext {
  cluster: ClusterConfig;
  now: number;
  /** Nodes a job of the bot cordoned (or drained) last, from the audit trail. */
  cordonedByBot: ReadonlySet<string>;
  /** The datastore voters of the last check that saw them (names); fallback: the first three control-plane nodes. */
  knownVoters: readonly string[];
  /** When each node was first seen NotReady (for nodes whose Ready condition has no transition time). */
  notReadySince: ReadonlyMap<string, number>;
}

const DAY = 86_400_000;

function duration(ms: number): string {
  if (ms < 90_000) return `${Math.max(1, Math.round(ms / 1000))} s`;
  if (ms < 90 * 60_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 2 * DAY) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / DAY)} d`;
}

function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A reachable Linux node changed outside the bot while its refreshes are not held (an auto-refresh, a hand-run refresh). */
function driftProblem(row: NodeRow): Problem | undefined {
  if (!row.facts || row.drift.length === 0 || row.facts.held) return undefined;
  return {
    key: `drift:${row.name}`,
    severity: 'warning',
    text: `${row.name} changed outside the bot: ${row.drift.join('; ')}. Its snap refreshes are not held, so snapd may refresh it again at any time.`,
    action: 'hold all 24h',
  };
}

/** Timed refresh holds that end within 24 h, as one problem for the cluster (a `hold all 24h` sets several at once). */
function holdsEnding(rows: NodeRow[], now: number): Problem | undefined {
  const ending: string[] = [];
  for (const r of rows) {
    const until = r.facts?.held && r.facts.holdUntil && r.facts.holdUntil !== 'forever' ? Date.parse(r.facts.holdUntil) : Number.NaN;
    if (!Number.isNaN(until) && until > now && until - now <= DAY) ending.push(`${r.name} at ${utc(until)} (in ${duration(until - now)})`);
  }
  if (ending.length === 0) return undefined;
  return {
    key: 'hold-ending',
    severity: 'warning',
    text: `Refresh holds end within 24 h: ${ending.join(', ')}. After that snapd refreshes those nodes on its own schedule.`,
    action: 'hold all forever',
  };
}

function notReadyFor(row: NodeRow, ctx: ProblemContext): number | undefined {
  if (!row.kube || row.kube.ready) return undefined;
  const since = row.kube.readySince ?? ctx.notReadySince.get(row.name) ?? ctx.now;
  return ctx.now - since;
}

export function findProblems(s: ClusterStatus, ctx: ProblemContext): Problem[] {
  const out: Problem[] = [];
  const cps = ctx.cluster.nodes.filter((n) => n.role === 'control-plane').map((n) => n.name);
  const rowOf = (name: string) => s.rows.find((r) => r.name === name);
  for (const row of s.rows) {
    if (row.error) {
      out.push({ key: `unreachable:${row.name}`, severity: 'warning', text: `${row.name} does not answer over SSH: ${row.error}`, action: 'status' });
      continue;
    }
    const drift = driftProblem(row);
    if (drift) out.push(drift);
    const down = notReadyFor(row, ctx);
    if (down !== undefined && down > ctx.cluster.watch.notReadyAfter) {
      out.push({ key: `notready:${row.name}`, severity: 'warning', text: `${row.name} has been NotReady for ${duration(down)} (longer than watch.notReadyAfter).`, action: `inspect ${row.name}` });
    }
    if (row.kube?.unschedulable && !ctx.cordonedByBot.has(row.name)) {
      out.push({ key: `cordoned:${row.name}`, severity: 'warning', text: `${row.name} is cordoned, and no job of the bot cordoned it.`, action: `uncordon ${row.name}` });
    }
  }

  const ending = holdsEnding(s.rows.filter((r) => !r.error), ctx.now);
  if (ending) out.push(ending);
  if (s.status && !s.driftOnly) {
    const voters = s.rows.filter((r) => r.datastore === 'voter');
    const working = voters.filter((r) => r.kube?.ready === true).map((r) => r.name);
    if (cps.length >= 3 && working.length < 3) {
      const lost = voters.filter((r) => !working.includes(r.name)).map((r) => r.name);
      out.push({
        key: 'ha-lost',
        severity: 'critical',
        text: `High availability lost: ${working.length} working datastore voter(s) (${working.join(', ') || 'none'}), 3 needed${lost.length > 0 ? `; not working: ${lost.join(', ')}` : ''}. One more lost voter stops the datastore.`,
        action: 'status',
      });
    }
  } else if (!s.driftOnly) {
    // No control-plane node answered. Quorum is lost when some do answer over SSH but at most half of the voters do.
    const reachable = cps.filter((n) => rowOf(n) && !rowOf(n)?.error);
    const voters = ctx.knownVoters.length > 0 ? ctx.knownVoters : cps.slice(0, 3);
    const up = voters.filter((v) => reachable.includes(v));
    if (reachable.length > 0 && up.length * 2 <= voters.length) {
      out.push({
        key: 'quorum-lost',
        severity: 'critical',
        text: `Datastore quorum lost: ${up.length} of the voters ${voters.join(', ')} answer${up.length > 0 ? ` (${up.join(', ')})` : ''}, and the Kubernetes API answers on no control-plane node.`,
        action: 'recover-quorum --dry-run',
      });
    } else if (reachable.length > 0) {
      out.push({ key: 'api-down', severity: 'critical', text: `The Kubernetes API answers on no control-plane node (${s.problems.join('; ').slice(0, 300)}).`, action: 'status' });
    }
  }
  return out;
}

