import { describe, expect, it } from 'vitest';
import { parseStartTime } from '../../src/schedule/start-time.ts';
import { describeInstant, nextWindow, openWindow, parseWindow, type MaintenanceWindow } from '../../src/schedule/windows.ts';

function win(text: string): MaintenanceWindow {
  const w = parseWindow(text);
  if (typeof w === 'string') throw new Error(w);
  return w;
}
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('maintenance windows', () => {
  it('parses days, ranges, lists, daily and a window across midnight', () => {
    expect(win('sat 02:00-06:00 Europe/Berlin')).toMatchObject({ days: [6], start: 120, end: 360, zone: 'Europe/Berlin' });
    expect(win('mon-fri 22:00-02:00 UTC').days).toEqual([1, 2, 3, 4, 5]);
    expect(win('fri-mon 01:00-02:00 UTC').days).toEqual([0, 1, 5, 6]);
    expect(win('sat,sun 00:00-24:00 UTC')).toMatchObject({ days: [0, 6], start: 0, end: 1440 });
    expect(win('daily 03:00-04:00 Asia/Tokyo').days).toHaveLength(7);
  });

  it('refuses what is not a window, saying what is allowed', () => {
    expect(parseWindow('sat 2-6 UTC')).toMatch(/^'2-6' is not a time range HH:MM-HH:MM .*e\.g\. "sat 02:00-06:00 Europe\/Berlin"/);
    expect(parseWindow('someday 02:00-06:00 UTC')).toMatch(/^'someday' is not a day or a range of days/);
    expect(parseWindow('sat 02:00-06:00 Europe/Atlantis')).toBe("'Europe/Atlantis' is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)");
    expect(parseWindow('sat 02:00-02:00 UTC')).toMatch(/empty window/);
    expect(parseWindow('sat 02:00-06:00')).toMatch(/^expected "<days> HH:MM-HH:MM <IANA time zone>"/);
    expect(parseWindow('sat 24:00-06:00 UTC')).toMatch(/is not a time range/);
  });

  it('finds the open window and the next one, in the zone and across midnight', () => {
    const berlin = [win('sat 02:00-06:00 Europe/Berlin')];
    // Berlin is UTC+1 in December: the window is 01:00-05:00 UTC.
    expect(openWindow(berlin, Date.parse('2026-12-05T00:59:00Z'))).toBeUndefined();
    expect(iso(openWindow(berlin, Date.parse('2026-12-05T01:00:00Z'))?.end)).toBe('2026-12-05T05:00:00.000Z');
    expect(openWindow(berlin, Date.parse('2026-12-05T05:00:00Z'))).toBeUndefined();
    expect(iso(nextWindow(berlin, Date.parse('2026-12-05T05:00:00Z'))?.start)).toBe('2026-12-12T01:00:00.000Z');
    // In July (UTC+2) the same wall-clock window is an hour earlier in UTC.
    expect(iso(nextWindow(berlin, Date.parse('2026-07-01T00:00:00Z'))?.start)).toBe('2026-07-04T00:00:00.000Z');
    const night = [win('fri 22:00-02:00 UTC')];
    expect(iso(openWindow(night, Date.parse('2026-12-05T01:30:00Z'))?.start)).toBe('2026-12-04T22:00:00.000Z');
  });

  it('follows DST: a window on the spring-forward night, and the start of a skipped time', () => {
    const w = [win('sun 01:00-04:00 Europe/Berlin')];
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST. 01:00 CET = 00:00 UTC; 04:00 CEST = 02:00 UTC.
    const span = nextWindow(w, Date.parse('2026-03-28T12:00:00Z'))!;
    expect([iso(span.start), iso(span.end)]).toEqual(['2026-03-29T00:00:00.000Z', '2026-03-29T02:00:00.000Z']);
    expect(describeInstant(span.start, 'Europe/Berlin')).toBe('Sun 2026-03-29 01:00 Europe/Berlin (2026-03-29 00:00 UTC)');
  });

  it('checks --at against the clock and the windows', () => {
    const windows = [win('sat 02:00-06:00 UTC')];
    const now = Date.parse('2026-12-04T20:00:00Z');
    expect(parseStartTime('2026-12-05T03:00:00Z', now, windows, false)).toEqual({ ok: true, at: Date.parse('2026-12-05T03:00:00Z') });
    expect(parseStartTime('2026-12-05T04:00+01:00', now, windows, false)).toEqual({ ok: true, at: Date.parse('2026-12-05T03:00:00Z') });
    expect(parseStartTime('next-window', now, windows, false)).toEqual({ ok: true, at: Date.parse('2026-12-05T02:00:00Z') });
    expect(parseStartTime('2026-12-05T07:00:00Z', now, windows, false)).toMatchObject({ ok: false, message: expect.stringContaining('is outside the maintenance windows') });
    expect(parseStartTime('2026-12-05T07:00:00Z', now, windows, true)).toMatchObject({ ok: true });
    expect(parseStartTime('2026-12-04T19:00:00Z', now, windows, false)).toMatchObject({ ok: false, message: expect.stringContaining('not in the future') });
    expect(parseStartTime('2027-01-30T03:00:00Z', now, [], false)).toMatchObject({ ok: false, message: expect.stringContaining('more than 14 days ahead') });
    expect(parseStartTime('2026-12-05 03:00', now, [], false)).toMatchObject({ ok: false, message: expect.stringContaining('use RFC 3339 with an offset') });
    expect(parseStartTime('next-window', now, [], false)).toMatchObject({ ok: false, message: expect.stringContaining('has no maintenance windows') });
  });
});
