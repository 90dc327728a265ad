/**
 * `--at <time>`: when a scheduled job may start. An RFC 3339 time with its offset
 * (`2026-12-05T02:00:00+01:00`, `…Z`), or `next-window` (the next maintenance window's
 * start). Checked against the clock and the cluster's windows before anything is queued.
 */
import { describeInstant, describeWindows, nextWindow, openWindow, type MaintenanceWindow } from './windows.ts';

const RFC3339 = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2})?(?:Z|[+-][0-9]{2}:[0-9]{2})$/;
/** Further ahead than this is refused: the plan would be old news by then. */
export const MAX_SCHEDULE_AHEAD_MS = 14 * 86_400_000;

export type StartTime = { ok: true; at: number } | { ok: false; message: string };

export function parseStartTime(text: string, now: number, windows: readonly MaintenanceWindow[], overrideWindow: boolean): StartTime {
  const zone = windows[0]?.zone ?? 'UTC';
  let at: number;
  if (text === 'next-window') {
    const next = windows.length > 0 ? nextWindow(windows, now) : undefined;
    if (!next) return { ok: false, message: '--at next-window: this cluster has no maintenance windows (policy.windows); give a time such as 2026-12-05T02:00:00Z' };
    at = next.start;
  } else {
    const t = RFC3339.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(t)) {
      return { ok: false, message: `--at '${text.slice(0, 40)}' is not a time; use RFC 3339 with an offset (2026-12-05T02:00:00Z, 2026-12-05T03:00+01:00) or next-window` };
    }
    at = t;
  }
  if (at <= now) return { ok: false, message: `--at ${describeInstant(at, zone)} is not in the future (now: ${describeInstant(now, zone)})` };
  if (at - now > MAX_SCHEDULE_AHEAD_MS) return { ok: false, message: `--at ${describeInstant(at, zone)} is more than 14 days ahead; schedule it closer to the time` };
  if (windows.length > 0 && !overrideWindow && !openWindow(windows, at)) {
    const next = nextWindow(windows, at);
    return {
      ok: false,
      message: `--at ${describeInstant(at, zone)} is outside the maintenance windows (${describeWindows(windows)})${next ? `; the next one opens ${describeInstant(next.start, zone)}` : ''}. Pick a time inside one, use --at next-window, or add --now (approved as destructive)`,
    };
  }
  return { ok: true, at };
}
