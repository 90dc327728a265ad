import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OutputParseError } from '../../src/microk8s/errors.ts';
import { parseHoldOutput, parseRefreshOutput, parseRevertOutput, parseSnapInfo, parseSnapList, parseVersion } from '../../src/microk8s/parse-snap.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('parseSnapList', () => {
  it('reads the TTY form (canonical✓)', () => {
    expect(parseSnapList(fixture('snap-list-tty.txt'))).toEqual({ version: 'v1.32.3', revision: '7964', tracking: '1.32/stable', notes: ['classic'] });
  });

  it('reads the non-TTY form over SSH (canonical**) with a hold', () => {
    expect(parseSnapList(fixture('snap-list-ssh-held.txt'))).toEqual({ version: 'v1.22.3', revision: '2551', tracking: '1.22/stable', notes: ['classic', 'held'] });
  });

  it('reads old snapd (canonical*), latest/stable, a trailing blank line', () => {
    expect(parseSnapList(fixture('snap-list-old-latest.txt'))).toMatchObject({ version: 'v1.19.3', tracking: 'latest/stable' });
  });

  it('picks the active revision from snap list --all', () => {
    expect(parseSnapList(fixture('snap-list-all.txt'))).toMatchObject({ version: 'v1.23.17', revision: '4916', tracking: '1.23/stable' });
  });

  it('reads a locally installed snap: no tracking, notes "-"', () => {
    expect(parseSnapList(fixture('snap-list-local.txt'))).toEqual({ version: 'v1.23.0', revision: 'x1', tracking: '', notes: [] });
  });

  it('tolerates CRLF, colours and extra whitespace', () => {
    const text = '\r\n  Name      Version  Rev   Tracking     Publisher    Notes  \r\n\x1b[1mmicrok8s\x1b[0m  v1.22.3  2551  1.22/stable  canonical\x1b[32m**\x1b[0m  -\r\n\r\n';
    expect(parseSnapList(text)).toEqual({ version: 'v1.22.3', revision: '2551', tracking: '1.22/stable', notes: [] });
  });

  it('refuses other output with a clear message quoting it', () => {
    expect(() => parseSnapList('error: no matching snaps installed\n')).toThrow(/microk8s snap to be installed/);
    expect(() => parseSnapList('bash: snap: command not found\n')).toThrow(OutputParseError);
    expect(() => parseSnapList('bash: snap: command not found\n')).toThrow(/cannot read the output of `snap list microk8s`: expected .*Name.*; got "bash: snap: command not found"/);
    expect(() => parseSnapList('Name  Version  Rev  Tracking  Publisher  Notes\ncore20  20230126  1822  latest/stable  canonical**  base\n')).toThrow(/"microk8s" row/);
    expect(() => parseSnapList('Name  Version  Rev  Tracking  Publisher  Notes\nmicrok8s  v1.22.3  abc  1.22/stable  canonical**  classic\n')).toThrow(/numeric revision/);
  });

  it('keeps error excerpts short', () => {
    let message = '';
    try {
      parseSnapList('x'.repeat(5000));
    } catch (e) {
      expect(e).toBeInstanceOf(OutputParseError);
      if (e instanceof Error) message = e.message;
    }
    expect(message).toMatch(/^cannot read the output/);
    expect(message.length).toBeLessThan(400);
  });
});

describe('parseSnapInfo', () => {
  it('reads tracking, installed, hold and the channel table (non-TTY)', () => {
    const info = parseSnapInfo(fixture('snap-info-ssh.txt'));
    expect(info.name).toBe('microk8s');
    expect(info.tracking).toBe('1.22/stable');
    expect(info.hold).toBe('forever');
    expect(info.refreshDate).toBe('7 days ago, at 11:37 UTC');
    expect(info.installed).toEqual({ version: 'v1.22.3', revision: '2551', size: '192MB', notes: ['classic'] });
    expect(info.channels['1.23/stable']).toEqual({ version: 'v1.23.17', released: '2023-03-21', revision: '4916', size: '189MB', notes: ['classic'] });
    expect(info.channels['1.23/beta']).toEqual({ closed: true });
    expect(info.channels['1.22/candidate']).toEqual({ closed: true });
    expect(info.channels['dqlite/stable']).toEqual({ closed: true });
    expect(info.channels['1.23/edge']?.version).toBe('v1.23.17-rc.0');
    expect(Object.keys(info.channels)).toHaveLength(9);
  });

  it('reads the unicode TTY form (✓, ↑, –) and no hold', () => {
    const info = parseSnapInfo(fixture('snap-info-tty.txt'));
    expect(info.hold).toBeUndefined();
    expect(info.channels['latest/candidate']).toEqual({ closed: true });
    expect(info.channels['dqlite/stable']).toEqual({ closed: true });
    expect(info.installed?.revision).toBe('2551');
  });

  it('reads the snapd test sample (tabs, --abs-time dates, disabled)', () => {
    const text =
      'name:      hello\nsummary:   The GNU Hello snap\npublisher: Canonical**\nlicense:   unset\ndescription: |\n  GNU hello prints a friendly greeting.\n' +
      'snap-id:      mVyGrEwiqSi5PugCwyH7WgpoQLemtTd6\ntracking:     beta\nrefresh-date: 2006-01-02T22:04:07Z\nchannels:\n' +
      '  1/stable:    2.10 2018-12-18T15:16:56Z   (1) 65.5kB -\n  1/candidate: ^                                      \n' +
      'installed:     2.10                      (100)  1024B disabled\n';
    const info = parseSnapInfo(text);
    expect(info.tracking).toBe('beta');
    expect(info.channels['1/stable']).toEqual({ version: '2.10', released: '2018-12-18T15:16:56Z', revision: '1', size: '65.5kB', notes: [] });
    expect(info.installed).toEqual({ version: '2.10', revision: '100', size: '1024B', notes: ['disabled'] });
  });

  it('reads a snap that is not installed (no tracking, no installed)', () => {
    const info = parseSnapInfo('name:      microk8s\nsummary:   Kubernetes\nchannels:\n  1.23/stable: v1.23.17 2023-03-21 (4916) 189MB classic\n');
    expect(info.installed).toBeUndefined();
    expect(info.tracking).toBeUndefined();
  });

  it('refuses garbage and unknown snaps', () => {
    expect(() => parseSnapInfo('error: no snap found for "microk8z"\n')).toThrow(/no snap named "microk8z"/);
    expect(() => parseSnapInfo('Segmentation fault\n')).toThrow(/"name:" line/);
    expect(() => parseSnapInfo('name: microk8s\ninstalled: whatever\n')).toThrow(/installed/);
  });
});

describe('parseRefreshOutput', () => {
  it('reads the version and channel from a refresh', () => {
    expect(parseRefreshOutput('microk8s (1.23/candidate) v1.23.0-rc.0 from Canonical✓ refreshed\n')).toEqual({
      changed: true,
      version: 'v1.23.0-rc.0',
      channel: '1.23/candidate',
    });
    expect(parseRefreshOutput('microk8s (1.23/stable) v1.23.17 from Canonical** refreshed\n')).toMatchObject({ version: 'v1.23.17' });
  });

  it('reads latest/stable, where snapd leaves out the channel', () => {
    expect(parseRefreshOutput('microk8s v1.32.3 from Canonical** refreshed\n')).toEqual({ changed: true, version: 'v1.32.3' });
  });

  it('reports "no updates available" (stderr, exit 0) as unchanged', () => {
    expect(parseRefreshOutput('', 'snap "microk8s" has no updates available\n')).toEqual({ changed: false });
  });

  it('keeps the closed-channel forwarding notice', () => {
    const r = parseRefreshOutput(
      'microk8s (1.23/stable) v1.23.17 from Canonical** refreshed\nChannel 1.23/candidate for microk8s is closed; temporarily forwarding to 1.23/stable.\n',
    );
    expect(r.notice).toBe('Channel 1.23/candidate for microk8s is closed; temporarily forwarding to 1.23/stable.');
  });

  it('reads a channel switch', () => {
    expect(parseRefreshOutput('"microk8s" switched to the "1.23/stable" channel\n')).toEqual({ changed: true, channel: '1.23/stable' });
  });

  it('refuses anything else', () => {
    expect(() => parseRefreshOutput('error: unable to contact snap store\n')).toThrow(/refreshed.*no updates available.*got "error: unable to contact snap store"/);
    expect(() => parseRefreshOutput('')).toThrow(/\(no output\)/);
  });
});

describe('parseRevertOutput', () => {
  it('reads the version reverted to', () => {
    expect(parseRevertOutput('microk8s reverted to v1.22.3\n')).toEqual({ version: 'v1.22.3' });
  });
  it('explains "no revision to revert to" and refuses garbage', () => {
    expect(() => parseRevertOutput('', 'error: cannot revert "microk8s": no revision to revert to\n')).toThrow(/no revision to revert to/);
    expect(() => parseRevertOutput('ok\n')).toThrow(OutputParseError);
  });
});

describe('parseHoldOutput', () => {
  it('reads forever, until a time, and removed', () => {
    expect(parseHoldOutput('General refreshes of "microk8s" held indefinitely\n')).toEqual({ held: true, until: 'forever' });
    expect(parseHoldOutput('General refreshes of "microk8s" held until 2026-07-01T10:00:00Z\n')).toEqual({ held: true, until: '2026-07-01T10:00:00Z' });
    expect(parseHoldOutput('Removed general refresh hold of "microk8s"\n')).toEqual({ held: false });
  });
  it('refuses other output', () => {
    expect(() => parseHoldOutput('Auto-refresh of all snaps held indefinitely\n')).toThrow(OutputParseError);
  });
});

describe('parseVersion', () => {
  it('reads microk8s version', () => {
    expect(parseVersion('MicroK8s v1.32.3 revision 7647\n')).toEqual({ version: 'v1.32.3', revision: '7647' });
    expect(parseVersion('MicroK8s (unknown) revision (unknown)\n')).toEqual({ version: '(unknown)', revision: '(unknown)' });
  });
  it('refuses other output', () => {
    expect(() => parseVersion("'version' is not a valid MicroK8s subcommand.\n")).toThrow(/MicroK8s <version> revision <revision>/);
  });
});
