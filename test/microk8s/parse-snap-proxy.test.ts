import { describe, expect, it } from 'vitest';
import { OutputParseError } from '../../src/microk8s/errors.ts';
import { parseConfigValue, parseDeleteOverride, parseListOverrides, parseOverrideOutput, parseProxyStatus, sameProxyChannel } from '../../src/microk8s/parse-snap-proxy.ts';
import { assertDomain, assertProxyChannel, assertRevision, assertionsUrl } from '../../src/microk8s/snap-proxy.ts';

/** Real outputs: the seed ("Control upgrades") and docs.ubuntu.com/snap-store-proxy/en/overrides. */
describe('snap-proxy output parsers', () => {
  it('list-overrides, as the seed prints it', () => {
    const text = 'microk8s stable amd64 2645 (upstream 2645)\nmicrok8s edge amd64 2645 (upstream 2727)\nmicrok8s 1.22/edge amd64 2645 (upstream 2695)\n';
    expect(parseListOverrides(text)).toEqual([
      { snap: 'microk8s', channel: 'stable', arch: 'amd64', revision: '2645', upstream: '2645' },
      { snap: 'microk8s', channel: 'edge', arch: 'amd64', revision: '2645', upstream: '2727' },
      { snap: 'microk8s', channel: '1.22/edge', arch: 'amd64', revision: '2645', upstream: '2695' },
    ]);
    expect(parseListOverrides('')).toEqual([]);
    // one line per architecture (docs: core18 on amd64 and armhf); other snaps and noise are skipped
    const docs = 'Welcome to Ubuntu\ncore18 stable amd64 1722 (upstream 1705)\ncore18 stable armhf 1725 (upstream 1706)\n';
    expect(parseListOverrides(docs, 'core18').map((o) => `${o.arch}:${o.revision}`)).toEqual(['amd64:1722', 'armhf:1725']);
    expect(parseListOverrides(docs)).toEqual([]);
  });

  it('override: the line it prints for the pinned channel', () => {
    expect(parseOverrideOutput('microk8s 1.22/edge amd64 2645\n', 'microk8s', '1.22/edge', '2645')).toEqual([{ snap: 'microk8s', channel: '1.22/edge', arch: 'amd64', revision: '2645', upstream: null }]);
    // the proxy names latest/stable "stable"
    expect(parseOverrideOutput('microk8s stable amd64 2645\n', 'microk8s', 'latest/stable', '2645')).toHaveLength(1);
    expect(() => parseOverrideOutput('error: something\n', 'microk8s', 'stable', '2645')).toThrow(OutputParseError);
    expect(() => parseOverrideOutput('microk8s stable amd64 2646\n', 'microk8s', 'stable', '2645')).toThrow(/expected "microk8s stable <arch> 2645"/);
  });

  it('delete-override: the channel tracks upstream again', () => {
    expect(parseDeleteOverride('microk8s 1.22/edge amd64 is tracking upstream (revision 2695)\n')).toEqual([{ snap: 'microk8s', channel: '1.22/edge', arch: 'amd64', upstream: '2695' }]);
    expect(parseDeleteOverride('')).toEqual([]);
  });

  it('status: the store id and the registration status (seed step 10)', () => {
    const text =
      ' Store ID: YKNdvTH4IZfIFGtyaS7DSn6QCwgpgNfh\n Status: pending\n Connected Devices (updated daily): 0\n Device Limit: None\n Internal Service Status:\n   memcached: running\n   nginx: running\n   snapauth: running\n   snapdevicegw: running\n   snapdevicegw-local: running\n   snapproxy: running\n   snaprevs: running\n';
    const s = parseProxyStatus(text);
    expect(s.storeId).toBe('YKNdvTH4IZfIFGtyaS7DSn6QCwgpgNfh');
    expect(s.status).toBe('pending');
    expect(s.services).toMatchObject({ nginx: 'running', 'snapdevicegw-local': 'running', snaprevs: 'running' });
    expect(() => parseProxyStatus('Status: pending\n')).toThrow(/Store ID/);
  });

  it('config values and channel names', () => {
    expect(parseConfigValue('2048\n', 'snap-proxy config proxy.cache.size')).toBe('2048');
    expect(() => parseConfigValue('\n', 'x')).toThrow(OutputParseError);
    expect(sameProxyChannel('latest/stable', 'stable')).toBe(true);
    expect(sameProxyChannel('1.23/stable', 'stable')).toBe(false);
  });

  it('values are checked before they reach a command line', () => {
    for (const ok of ['stable', 'latest/edge', '1.23/stable', '1.23/candidate/hotfix-1']) expect(assertProxyChannel(ok)).toBe(ok);
    for (const bad of ['', 'stabel', '1.23', '1.23/stable;reboot', '../x/stable', 'latest/stable/']) expect(() => assertProxyChannel(bad)).toThrow(/not a channel the proxy can override/);
    expect(assertRevision('2645')).toBe('2645');
    for (const bad of ['0', '0123', '-1', '12a', '1 2']) expect(() => assertRevision(bad)).toThrow(/not a snap revision/);
    expect(assertionsUrl('proxy.internal')).toBe('http://proxy.internal/v2/auth/store/assertions');
    expect(assertDomain('10.0.0.5:8080')).toBe('10.0.0.5:8080');
    for (const bad of ['proxy.internal/evil', 'a b', '$(x)', 'http://x']) expect(() => assertDomain(bad)).toThrow(/not a host name/);
  });
});
