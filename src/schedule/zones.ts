/**
 * Wall-clock arithmetic in IANA time zones with Intl only (no dependency): the local
 * date and time of an instant, and the instant of a local date and time.
 */

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function format(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short',
    });
    formats.set(zone, f);
  }
  return f;
}

/** Is `zone` a time zone Intl knows (an IANA name such as Europe/Berlin, or UTC)? */
export function isTimeZone(zone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]{0,30}(?:\/[A-Za-z0-9_+-]{1,30}){0,2}$/.test(zone)) return false;
  try {
    format(zone);
    return true;
  } catch {
    return false;
  }
}

export function localTime(ms: number, zone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of format(zone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year), month: Number(parts.month), day: Number(parts.day),
    hour: Number(parts.hour) % 24, minute: Number(parts.minute), weekday: WEEKDAYS.indexOf(parts.weekday ?? ''),
  };
}

/** Zone offset at `ms`, in ms (local − UTC), to the minute. */
function offsetAt(ms: number, zone: string): number {
  const t = localTime(ms, zone);
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute) - Math.floor(ms / 60_000) * 60_000;
}

/**
 * The instant at which the wall clock in `zone` shows this date and time. A time that
 * does not exist (skipped by a DST change) moves forward by the gap, as Temporal's
 * "compatible" disambiguation does (02:30 on the spring-forward night → 03:30).
 */
export function instantOf(year: number, month: number, day: number, hour: number, minute: number, zone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let t = wall - offsetAt(wall, zone);
  const second = wall - offsetAt(t, zone);
  if (second !== t) t = Math.max(t, second);
  return t;
}

/** `Sat 2026-12-05 02:00 Europe/Berlin` */
export function formatLocal(ms: number, zone: string): string {
  const t = localTime(ms, zone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${WEEKDAYS[t.weekday] ?? '?'} ${t.year}-${two(t.month)}-${two(t.day)} ${two(t.hour)}:${two(t.minute)} ${zone}`;
}
