/**
 * Maintenance windows (inventory `policy.windows`): `sat 02:00-06:00 Europe/Berlin`,
 * `mon-fri 22:00-02:00 UTC` (an end at or before the start ends the next day),
 * `sat,sun 01:00-05:00 America/New_York`, `daily 03:00-04:00 Asia/Tokyo`.
 * Times are the wall clock of the named IANA zone, so a window follows its zone's DST.
 */
import { formatLocal, instantOf, isTimeZone, localTime } from './zones.ts';

export interface MaintenanceWindow {
  /** As written in the inventory. */
  text: string;
  /** Weekdays it starts on, 0 = Sunday … 6 = Saturday. */
  days: readonly number[];
  /** Minutes after local midnight. */
  start: number;
  end: number;
  zone: string;
}

/** One occurrence of a window: [start, end) in epoch ms. */
export interface WindowSpan {
  window: MaintenanceWindow;
  start: number;
  end: number;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const ALLOWED = 'expected "<days> HH:MM-HH:MM <IANA time zone>", e.g. "sat 02:00-06:00 Europe/Berlin"; days: mon … sun, a range such as mon-fri, a list such as sat,sun, or daily';

function dayIndex(word: string): number | undefined {
  const i = DAY_NAMES.indexOf(word);
  return i >= 0 ? i : undefined;
}

function parseDays(text: string): number[] | string {
  if (text === 'daily') return [0, 1, 2, 3, 4, 5, 6];
  const days = new Set<number>();
  for (const part of text.split(',')) {
    const [from, to, extra] = part.split('-');
    const a = from === undefined ? undefined : dayIndex(from);
    const b = to === undefined ? a : dayIndex(to);
    if (a === undefined || b === undefined || extra !== undefined) return `'${part.slice(0, 20)}' is not a day or a range of days (mon … sun, e.g. mon-fri)`;
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  }
  return [...days].toSorted((a, b) => a - b);
}

function parseClock(text: string, allow24: boolean): number | undefined {
  const m = /^([01][0-9]|2[0-4]):([0-5][0-9])$/.exec(text);
  if (!m) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  if (minutes > 24 * 60 || (minutes === 24 * 60 && !allow24)) return undefined;
  return minutes;
}

/** A window, or the reason the text is not one (naming what is allowed). */
export function parseWindow(text: string): MaintenanceWindow | string {
  const words = text.trim().split(' ').filter((w) => w !== '');
  if (words.length !== 3) return ALLOWED;
  const [dayText = '', range = '', zone = ''] = words;
  const days = parseDays(dayText.toLowerCase());
  if (typeof days === 'string') return `${days}; ${ALLOWED}`;
  const [from = '', to = '', extra] = range.split('-');
  const start = parseClock(from, false);
  const end = parseClock(to, true);
  if (start === undefined || end === undefined || extra !== undefined) return `'${range.slice(0, 20)}' is not a time range HH:MM-HH:MM (24-hour clock, e.g. 02:00-06:00); ${ALLOWED}`;
  if (start === end) return `'${range}' is an empty window; the end must differ from the start`;
  if (!isTimeZone(zone)) return `'${zone.slice(0, 40)}' is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`;
  return { text: words.join(' '), days, start, end, zone };
}

/** The occurrences of a window that start between one day before and eight days after `around`. */
function spans(w: MaintenanceWindow, around: number): WindowSpan[] {
  const today = localTime(around, w.zone);
  const out: WindowSpan[] = [];
  for (let k = -1; k <= 8; k++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + k));
    if (!w.days.includes(date.getUTCDay())) continue;
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    const start = instantOf(y, m, d, Math.floor(w.start / 60), w.start % 60, w.zone);
    const endDay = w.end <= w.start ? d + 1 : d;
    const end = instantOf(y, m, endDay, Math.floor(w.end / 60), w.end % 60, w.zone);
    if (end > start) out.push({ window: w, start, end });
  }
  return out;
}

/** The window open at `now` (the one that closes last, when several overlap), or undefined. */
export function openWindow(windows: readonly MaintenanceWindow[], now: number): WindowSpan | undefined {
  let best: WindowSpan | undefined;
  for (const w of windows) {
    for (const s of spans(w, now)) if (s.start <= now && now < s.end && (!best || s.end > best.end)) best = s;
  }
  return best;
}

/** The next window to open after `now` (windows repeat weekly, so there always is one). */
export function nextWindow(windows: readonly MaintenanceWindow[], now: number): WindowSpan | undefined {
  let best: WindowSpan | undefined;
  for (const w of windows) {
    for (const s of spans(w, now)) if (s.start > now && (!best || s.start < best.start)) best = s;
  }
  return best;
}

/** `Sat 2026-12-05 02:00 Europe/Berlin (01:00 UTC)` */
export function describeInstant(ms: number, zone: string): string {
  const utc = new Date(ms).toISOString();
  const sameZone = zone === 'UTC' || zone === 'Etc/UTC';
  return sameZone ? formatLocal(ms, 'UTC') : `${formatLocal(ms, zone)} (${utc.slice(0, 10)} ${utc.slice(11, 16)} UTC)`;
}

export function describeWindows(windows: readonly MaintenanceWindow[]): string {
  return windows.map((w) => w.text).join('; ');
}
