import { describe, expect, it } from 'vitest';
import { goDuration, holdSpecFromRecord, parseHoldValue } from '../../src/ops/holds.ts';
import { driftOf, holdInForce, type NodeRecord } from '../../src/store/node-records.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');

describe('hold values', () => {
  it('accepts forever, Go-style durations, days and RFC 3339 times in the future', () => {
    expect(parseHoldValue('forever', NOW)).toEqual({ kind: 'forever' });
    expect(parseHoldValue('24h', NOW)).toEqual({ kind: 'for', duration: '24h', seconds: 86_400 });
    expect(parseHoldValue('1h30m', NOW)).toEqual({ kind: 'for', duration: '1h30m', seconds: 5400 });
    expect(parseHoldValue('45s', NOW)).toEqual({ kind: 'for', duration: '45s', seconds: 45 });
    expect(parseHoldValue('2d', NOW)).toEqual({ kind: 'for', duration: '48h', seconds: 172_800 });
    expect(parseHoldValue('2026-07-01T10:00:00Z', NOW)).toEqual({ kind: 'until', at: '2026-07-01T10:00:00Z', epochMs: Date.parse('2026-07-01T10:00:00Z') });
    expect(parseHoldValue('2026-07-01T12:00:00+02:00', NOW)).toMatchObject({ kind: 'until', epochMs: Date.parse('2026-07-01T10:00:00Z') });
    expect(parseHoldValue('2026-07-01t10:00:00.5z', NOW)).toMatchObject({ kind: 'until', epochMs: Date.parse('2026-07-01T10:00:00.5Z') });
  });

  it('refuses everything else with a message saying what is allowed', () => {
    const cases: Array<[string, RegExp]> = [
      ['24hr', /not a duration snapd accepts.*24h/],
      ['3 days', /not a refresh hold/],
      ['1.5h', /whole numbers/],
      ['0s', /at least one second/],
      ['0h0m', /at least one second/],
      ['999999h', /too long/],
      ['5000d', /out of range/],
      ['2026-02-30T10:00:00Z', /not a valid date/],
      ['2026-13-01T10:00:00Z', /not a valid date/],
      ['2026-07-01T24:00:00Z', /not a valid date/],
      ['2026-07-01T10:00:00', /not a refresh hold/],
      ['2026-07-01', /not a refresh hold/],
      ['2026-07-01T10:00:00+2:00', /not a refresh hold/],
      ['2020-01-01T00:00:00Z', /not in the future/],
      ['2046-07-01T00:00:00Z', /more than 3650 days away/],
      ['tomorrow', /not a refresh hold/],
      ['', /not a refresh hold/],
    ];
    for (const [value, message] of cases) {
      const r = parseHoldValue(value, NOW);
      expect(typeof r, value).toBe('string');
      expect(r, value).toMatch(message);
    }
  });

  it('turns seconds into a Go duration snapd parses', () => {
    expect(goDuration(1)).toBe('1s');
    expect(goDuration(61)).toBe('1m1s');
    expect(goDuration(86_400)).toBe('24h0m0s');
    expect(goDuration(90_061)).toBe('25h1m1s');
  });

  it('re-reads a recorded hold: forever, a future time, or nothing once it has passed', () => {
    expect(holdSpecFromRecord('forever', NOW)).toEqual({ kind: 'forever' });
    expect(holdSpecFromRecord(undefined, NOW)).toEqual({ kind: 'forever' });
    expect(holdSpecFromRecord('2026-06-02T00:00:00Z', NOW)).toMatchObject({ kind: 'until' });
    expect(holdSpecFromRecord('2026-05-01T00:00:00Z', NOW)).toBeUndefined();
    expect(holdSpecFromRecord('in 4 days, at 14:00 UTC', NOW)).toBeUndefined();
  });
});

describe('drift against the node record', () => {
  const record: NodeRecord = { version: 'v1.22.3', revision: '2551', channel: '1.22/stable', held: true, holdUntil: 'forever', byJob: '7', verb: 'hold', at: NOW };
  const same = { version: 'v1.22.3', revision: '2551', channel: '1.22/stable', held: true, holdUntil: 'forever' };

  it('is empty when the node is as recorded, or has no record', () => {
    expect(driftOf(record, same, NOW)).toEqual([]);
    expect(driftOf(undefined, { ...same, revision: '9999' }, NOW)).toEqual([]);
  });

  it('names a changed revision, a changed channel and a hold that is gone', () => {
    expect(driftOf(record, { ...same, revision: '2688', version: 'v1.22.4' }, NOW)).toEqual(['revision 2551 → 2688 (v1.22.4)']);
    expect(driftOf(record, { ...same, channel: '1.22/candidate' }, NOW)).toEqual(['channel 1.22/stable → 1.22/candidate']);
    expect(driftOf(record, { ...same, held: false, holdUntil: undefined }, NOW)).toEqual(['hold gone (set forever)']);
  });

  it('does not flag a timed hold that ran out as set', () => {
    const timed = { ...record, holdUntil: '2026-05-31T00:00:00Z' };
    expect(holdInForce(timed.holdUntil, NOW)).toBe(false);
    expect(driftOf(timed, { ...same, held: false }, NOW)).toEqual([]);
    expect(driftOf({ ...record, holdUntil: '2026-06-02T00:00:00Z' }, { ...same, held: false }, NOW)).toEqual(['hold gone (set until 2026-06-02T00:00:00Z)']);
  });
});
