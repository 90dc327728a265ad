import { describe, expect, it } from 'vitest';
import { channelProblem, kubeMinor, nextMinorCheck, parseChannel } from '../../src/microk8s/channels.ts';
import { InvalidValueError } from '../../src/microk8s/errors.ts';
import type { SnapState } from '../../src/microk8s/types.ts';
import { assertNodeName, assertSeconds, holdDuration } from '../../src/microk8s/validate.ts';

const on = (tracking: string, version: string): SnapState => ({ version, revision: '2551', tracking, notes: ['classic'] });

describe('parseChannel', () => {
  it('reads track, risk, branch and the minor of numeric tracks', () => {
    expect(parseChannel('1.23/stable')).toEqual({ name: '1.23/stable', track: '1.23', risk: 'stable', major: 1, minor: 23 });
    expect(parseChannel('1.23/candidate/hotfix-1')).toEqual({ name: '1.23/candidate/hotfix-1', track: '1.23', risk: 'candidate', branch: 'hotfix-1', major: 1, minor: 23 });
    expect(parseChannel('latest/edge')).toEqual({ name: 'latest/edge', track: 'latest', risk: 'edge' });
    expect(parseChannel('1.28-strict/beta').minor).toBeUndefined();
  });

  it('refuses bad channels with a hint', () => {
    expect(() => parseChannel('1.23/stabel')).toThrow(InvalidValueError);
    expect(channelProblem('1.23/stabel')).toMatch(/did you mean 1.23\/stable\?/);
    expect(channelProblem('stable')).toMatch(/has no track; write the version too, such as 1\.23\/stable/);
    expect(channelProblem('1.23')).toMatch(/add the risk to '1\.23'/);
    expect(channelProblem('1.23/stable; rm -rf /')).toMatch(/too many parts|unknown risk/);
    expect(channelProblem('$(id)/stable')).toMatch(/track/);
    expect(channelProblem('1.23/stable/a/b')).toBeDefined();
    expect(channelProblem(`1.23/stable/${'x'.repeat(100)}`)).toMatch(/branch/);
    expect(channelProblem('1.23/stable')).toBeUndefined();
  });
});

describe('kubeMinor', () => {
  it('reads kubelet and snap versions', () => {
    expect(kubeMinor('v1.22.3-3+9ec7c40ec93c73')).toEqual({ major: 1, minor: 22, patch: 3 });
    expect(kubeMinor('v1.23.0-rc.0.2+f4d3c97c512f07')).toEqual({ major: 1, minor: 23, patch: 0 });
    expect(kubeMinor('1.30')).toEqual({ major: 1, minor: 30 });
    expect(() => kubeMinor('(unknown)')).toThrow(InvalidValueError);
  });
});

describe('nextMinorCheck', () => {
  it('allows the next minor and the same minor (risk change, re-run)', () => {
    expect(nextMinorCheck(on('1.22/stable', 'v1.22.3'), '1.23/stable')).toMatchObject({ ok: true, kind: 'next-minor' });
    expect(nextMinorCheck(on('1.22/stable', 'v1.22.3'), '1.23/candidate')).toMatchObject({ ok: true, kind: 'next-minor' });
    expect(nextMinorCheck(on('1.22/stable', 'v1.22.3'), '1.22/stable')).toMatchObject({ ok: true, kind: 'same-minor' });
    expect(nextMinorCheck(on('1.22/stable', 'v1.22.3'), '1.22/edge')).toMatchObject({ ok: true, kind: 'same-minor' });
    // re-run after the refresh already happened
    expect(nextMinorCheck(on('1.23/stable', 'v1.23.17'), '1.23/stable')).toMatchObject({ ok: true, kind: 'same-minor' });
  });

  it('refuses a skip-level upgrade, naming the allowed next channel', () => {
    const r = nextMinorCheck(on('1.21/stable', 'v1.21.5'), '1.23/stable');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/One minor version at a time.*next channel is 1\.22\/stable, not 1\.23\/stable/);
  });

  it('refuses a downgrade, also when the installed version is ahead of the track', () => {
    const r = nextMinorCheck(on('1.23/stable', 'v1.23.17'), '1.22/stable');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/downgrade/);
    const pinned = nextMinorCheck(on('1.22/stable', 'v1.23.1'), '1.22/stable');
    expect(pinned.ok).toBe(false);
  });

  it('refuses moves to or from latest, explaining instead of guessing', () => {
    const to = nextMinorCheck(on('1.22/stable', 'v1.22.3'), 'latest/stable');
    expect(to.ok).toBe(false);
    if (!to.ok) expect(to.message).toMatch(/follows the newest MicroK8s release.*explicit <major>\.<minor>\/<risk> channel such as 1\.23\/stable/);
    const from = nextMinorCheck(on('latest/stable', 'v1.22.3'), '1.23/stable');
    expect(from.ok).toBe(false);
    if (!from.ok) expect(from.message).toMatch(/tracks latest\/stable.*--channel=1\.22\/stable/);
  });

  it('refuses a major change, a non-minor track, no tracking and a bad channel', () => {
    expect(nextMinorCheck(on('1.30/stable', 'v1.30.1'), '2.0/stable').ok).toBe(false);
    expect(nextMinorCheck(on('1.28-strict/stable', 'v1.28.1'), '1.29/stable').ok).toBe(false);
    expect(nextMinorCheck(on('', 'v1.22.3'), '1.23/stable').ok).toBe(false);
    const bad = nextMinorCheck(on('1.22/stable', 'v1.22.3'), '1.23/stabel');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toMatch(/did you mean/);
  });
});

describe('validate', () => {
  it('accepts DNS-1123 node names only', () => {
    expect(assertNodeName('k8s-1')).toBe('k8s-1');
    for (const bad of ['K8S-1', 'k8s-1; rm -rf /', '$(id)', '-k8s', 'a'.repeat(64), '', 'k8s_1', 'k8s-1\n']) {
      expect(() => assertNodeName(bad)).toThrow(InvalidValueError);
    }
  });

  it('accepts whole seconds within bounds', () => {
    expect(assertSeconds(300, 'x')).toBe(300);
    for (const bad of [0, -1, 1.5, Number.NaN, 10 ** 9]) expect(() => assertSeconds(bad, 'the timeout')).toThrow(/the timeout must be/);
  });

  it('normalises refresh holds', () => {
    expect(holdDuration('forever')).toBe('forever');
    expect(holdDuration('24h')).toBe('24h');
    expect(holdDuration('1h30m')).toBe('1h30m');
    expect(holdDuration('2d')).toBe('48h');
    for (const bad of ['24hr', '0s', '', '1w', '24h; reboot', '-1h']) expect(() => holdDuration(bad)).toThrow(InvalidValueError);
  });
});
