/**
 * Refresh holds: `snap refresh --hold[=<duration>] microk8s` and `--unhold`.
 *
 * snapd's CLI takes `--hold` (forever) or `--hold=<Go duration>` and nothing
 * else (`cmd_snap_op.go::holdRefreshes`: `time.ParseDuration`, at least a
 * second); it turns the duration into an RFC 3339 time itself. So a hold "until
 * <RFC 3339 time>" is sent as the whole seconds left until then by the node's
 * own clock (`date +%s` on the node), read just before the hold.
 */
import type { ClusterConfig } from '../config/inventory.ts';
import type { RunContext } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { HoldResult } from '../microk8s/types.ts';
import { excerpt } from '../util/excerpt.ts';

export type HoldSpec = { kind: 'forever' } | { kind: 'for'; duration: string; seconds: number } | { kind: 'until'; at: string; epochMs: number };

/** Longest hold the bot sets: 10 years (a longer one is what `forever` is for). */
const MAX_SECONDS = 10 * 365 * 86_400;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;
const DURATION = /^(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,8})s)?$/;
const DAYS = /^(\d{1,4})d$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * `forever`, a duration (`24h`, `1h30m`, `90m`, `45s`, `2d`) or an RFC 3339 time
 * (`2026-07-01T10:00:00Z`, `2026-07-01T12:00:00+02:00`) in the future; or a
 * message saying what is allowed. `now: null` skips the future/range check of a
 * time (a job re-reading what was checked when the command was parsed). The argument's
 * schema (`HoldValue`, src/commands/validators.ts) is this check at parse time.
 */
export function parseHoldValue(text: string, now: number | null = Date.now()): HoldSpec | string {
  const v = text.trim();
  const allowed = 'use forever, a duration such as 24h, 1h30m or 2d, or an RFC 3339 time such as 2026-07-01T10:00:00Z';
  if (v === 'forever') return { kind: 'forever' };
  const days = DAYS.exec(v);
  if (days) {
    const n = Number(days[1]);
    if (n < 1 || n * 86_400 > MAX_SECONDS) return `'${excerpt(v)}' is out of range: a hold lasts from 1 second to ${MAX_SECONDS / 86_400} days`;
    return { kind: 'for', duration: `${n * 24}h`, seconds: n * 86_400 };
  }
  const go = DURATION.exec(v);
  if (v !== '' && go) {
    const seconds = Number(go[1] ?? 0) * 3600 + Number(go[2] ?? 0) * 60 + Number(go[3] ?? 0);
    if (seconds < 1) return `'${excerpt(v)}' is too short: snapd holds for at least one second`;
    if (seconds > MAX_SECONDS) return `'${excerpt(v)}' is too long: at most ${MAX_SECONDS / 3600}h (or use forever)`;
    return { kind: 'for', duration: v, seconds };
  }
  const t = RFC3339.exec(v);
  if (t) {
    const [year, month, day, hour, minute, second] = [t[1], t[2], t[3], t[4], t[5], t[6]].map(Number) as [number, number, number, number, number, number];
    const offH = t[10] === undefined ? 0 : Number(t[10]);
    const offM = t[11] === undefined ? 0 : Number(t[11]);
    if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59 || offH > 23 || offM > 59) {
      return `'${excerpt(v)}' is not a valid date and time; ${allowed}`;
    }
    const epochMs = Date.parse(v.toUpperCase());
    if (Number.isNaN(epochMs)) return `'${excerpt(v)}' is not a valid date and time; ${allowed}`;
    if (now !== null && epochMs - now < 1000) return `'${excerpt(v)}' is not in the future; a hold must end later than now (${new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z')})`;
    if (now !== null && epochMs - now > MAX_SECONDS * 1000) return `'${excerpt(v)}' is more than ${MAX_SECONDS / 86_400} days away; use forever for an indefinite hold`;
    return { kind: 'until', at: v, epochMs };
  }
  if (/^\d+(?:\.\d+)?(?:hr|hrs|hours?|mins?|minutes?|secs?|seconds?|days?)$/i.test(v)) {
    return `'${excerpt(v)}' is not a duration snapd accepts; write it with h, m or s (such as 24h, 30m) or d for days`;
  }
  if (/^\d+\.\d+[hms]$/.test(v)) return `'${excerpt(v)}': use whole numbers, such as 1h30m instead of 1.5h`;
  return `'${excerpt(v)}' is not a refresh hold; ${allowed}`;
}

/** The nodes `<node|all>` names: every Linux node for `all` (Windows workers have no snap). */
export function holdTargets(cluster: ClusterConfig, node: string): string[] {
  if (node === 'all') return cluster.nodes.filter((n) => n.os !== 'windows').map((n) => n.name);
  return [node];
}

/** undefined when `<node|all>` names nodes that have a snap; else why not. */
export function validateHoldTarget(cluster: ClusterConfig, node: string): string | undefined {
  if (node === 'all') return undefined;
  const found = cluster.nodes.find((n) => n.name === node);
  if (!found) return `unknown node '${excerpt(node)}' in cluster ${cluster.name}; its nodes are ${cluster.nodes.map((n) => n.name).join(', ')} (or all)`;
  if (found.os === 'windows') return `${node} is a Windows worker: it runs no snap, so there is nothing to hold`;
  return undefined;
}

/** `XhYmZs` from whole seconds (`86400` → `24h0m0s`), what snapd's Go parser reads. */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}

/** What the plan shows for a hold. */
export function holdCommand(spec: HoldSpec): string {
  if (spec.kind === 'forever') return 'sudo snap refresh --hold microk8s';
  if (spec.kind === 'for') return `sudo snap refresh --hold=${spec.duration} microk8s`;
  return `date +%s; sudo snap refresh --hold=<seconds left until ${spec.at} by the node's clock>s microk8s`;
}

export function describeHoldSpec(spec: HoldSpec): string {
  return spec.kind === 'forever' ? 'forever' : spec.kind === 'for' ? `for ${spec.duration}` : `until ${spec.at}`;
}

/**
 * Sets the hold on one node. "until" is turned into the seconds left by the
 * node's clock; a time that has passed by then fails, naming the node's clock.
 */
export async function applyHold(run: RunContext, node: string, spec: HoldSpec): Promise<HoldResult> {
  const ops = run.node(node);
  if (spec.kind === 'forever') return ops.hold('forever');
  if (spec.kind === 'for') return ops.hold(spec.duration);
  const nodeNow = await ops.epochSeconds();
  const left = Math.floor(spec.epochMs / 1000) - nodeNow;
  if (left < 1) {
    throw new RunbookFailure(`${spec.at} has passed by ${node}'s clock (${new Date(nodeNow * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')}); no hold was set on ${node}.`);
  }
  return ops.hold(goDuration(left));
}

/** A hold as recorded (`forever` or an RFC 3339 time) back as a spec; undefined when it has ended or its end is unreadable. */
export function holdSpecFromRecord(holdUntil: string | undefined, now: number = Date.now()): HoldSpec | undefined {
  if (holdUntil === undefined || holdUntil === 'forever') return { kind: 'forever' };
  const epochMs = Date.parse(holdUntil);
  if (Number.isNaN(epochMs)) return undefined;
  return epochMs - now >= 1000 ? { kind: 'until', at: holdUntil, epochMs } : undefined;
}

/** The spec of an argument validated when the command was parsed (a time may have passed since: see applyHold). */
export function holdSpecOf(value: string): HoldSpec {
  const spec = parseHoldValue(value, null);
  if (typeof spec === 'string') throw new RunbookFailure(`Bad hold value: ${spec}. Nothing was done.`);
  return spec;
}
