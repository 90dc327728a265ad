import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  argValue,
  canonicalProvider,
  haConfFailureDomain,
  parseFailureDomain,
  parseLbAddress,
  providerServers,
  refreshDisabled,
  setArg,
  setHaConfFailureDomain,
  setProviderServers,
} from '../../src/microk8s/args-files.ts';
import { parsePlan } from '../../src/ops/failure-domains.ts';
import { parseServiceCurrent } from '../../src/microk8s/diagnostics.ts';

/** provider.yaml as Go's yaml.v2 writes it when the proxy refreshes the list (sequence not indented). */
const GO_PROVIDER = `tcp:
  routers:
    Router-1:
      rule: HostSNI(\`*\`)
      service: kube-apiserver
      tls:
        passthrough: true
  services:
    kube-apiserver:
      loadBalancer:
        servers:
        - address: 10.0.0.1:16443
        - address: 10.0.0.2:16443
        - address: 10.0.0.3:16443
`;

describe('ha-conf', () => {
  it('reads failure-domain in both forms and rewrites only that line', () => {
    expect(haConfFailureDomain('failure-domain=1\n')).toBe(1);
    expect(haConfFailureDomain('# comment\nfailure-domain 42\n')).toBe(42);
    expect(haConfFailureDomain('failure-domain=x\n')).toBeUndefined();
    expect(haConfFailureDomain('')).toBeUndefined();
    expect(setHaConfFailureDomain('failure-domain=1\n', 2)).toBe('failure-domain=2\n');
    expect(setHaConfFailureDomain('# keep\nfailure-domain 3\nother=1\nfailure-domain=4', 7)).toBe('# keep\nfailure-domain=7\nother=1\n');
    expect(setHaConfFailureDomain('', 0)).toBe('failure-domain=0\n');
    expect(() => setHaConfFailureDomain('', -1)).toThrow(RangeError);
  });

  it('accepts whole numbers 0…999999999 as failure domains, nothing else', () => {
    expect(['0', '7', '42', '999999999'].map(parseFailureDomain)).toEqual([0, 7, 42, 999_999_999]);
    for (const bad of ['', '-1', '1.5', '1e3', '0x10', ' 1', '1 ', '9999999999', '+1']) expect(parseFailureDomain(bad), bad).toBeUndefined();
  });

  it('parses --plan node=domain lists', () => {
    expect(parsePlan('k8s-1=1,k8s-2=2')).toEqual([{ node: 'k8s-1', domain: 1 }, { node: 'k8s-2', domain: 2 }]);
    expect(parsePlan('k8s-1=1,k8s-1=2')).toBe('k8s-1 is in the plan twice');
    expect(parsePlan('K8S=1')).toMatch(/not a node name/);
    expect(parsePlan('a=1,')).toMatch(/is not node=domain/);
  });
});

describe('apiserver-proxy args', () => {
  const DEFAULT = '--traefik-config ${SNAP_DATA}/args/traefik/traefik.yaml\n--kubeconfig ${SNAP_DATA}/credentials/kubelet.config\n--refresh-interval 30s\n';
  it('replaces the --refresh-interval line in place and keeps the others', () => {
    expect(argValue(DEFAULT, '--refresh-interval')).toBe('30s');
    expect(setArg(DEFAULT, '--refresh-interval', '0')).toBe(DEFAULT.replace('--refresh-interval 30s', '--refresh-interval 0'));
    expect(setArg('--refresh-interval=5m\n--kubeconfig x\n', '--refresh-interval', '30s')).toBe('--refresh-interval 30s\n--kubeconfig x\n');
    expect(setArg('--kubeconfig x', '--refresh-interval', '0')).toBe('--kubeconfig x\n--refresh-interval 0\n');
    expect(() => setArg(DEFAULT, '--refresh-interval', '0; rm -rf /')).toThrow(RangeError);
  });

  it('knows which intervals turn the refresh off', () => {
    expect(['0', '0s', '0ms', '0.0s'].every(refreshDisabled)).toBe(true);
    expect(['30s', '15s', undefined].some((v) => refreshDisabled(v))).toBe(false);
  });
});

describe('provider.yaml', () => {
  it('reads the servers from the PyYAML and the Go layouts', () => {
    expect(providerServers(canonicalProvider(['10.0.0.1:16443']))).toEqual(['10.0.0.1:16443']);
    expect(providerServers(GO_PROVIDER)).toEqual(['10.0.0.1:16443', '10.0.0.2:16443', '10.0.0.3:16443']);
    expect(providerServers('tcp: [')).toBeUndefined();
    expect(providerServers('tcp:\n  services: {}\n')).toBeUndefined();
  });

  it('replaces only the servers list; a file of another shape becomes the canonical one', () => {
    const out = setProviderServers(`# managed by hand\n${GO_PROVIDER}`, ['lb.example.com:6443']);
    expect(out.startsWith('# managed by hand\n')).toBe(true);
    const doc = parse(out) as { tcp: { routers: unknown; services: { 'kube-apiserver': { loadBalancer: { servers: unknown } } } } };
    expect(doc.tcp.services['kube-apiserver'].loadBalancer.servers).toEqual([{ address: 'lb.example.com:6443' }]);
    expect(doc.tcp.routers).toEqual({ 'Router-1': { rule: 'HostSNI(`*`)', service: 'kube-apiserver', tls: { passthrough: true } } });
    expect(setProviderServers('not: [valid', ['a:1'])).toBe(canonicalProvider(['a:1']));
    expect(setProviderServers(undefined, ['a:1'])).toBe(canonicalProvider(['a:1']));
    expect(() => setProviderServers(GO_PROVIDER, [])).toThrow(/at least one/);
  });
});

describe('load-balancer addresses', () => {
  it('accepts host names and IPv4 addresses with a port 1–65535', () => {
    expect(parseLbAddress('10.0.0.100:16443')).toEqual({ address: '10.0.0.100:16443', host: '10.0.0.100', port: 16443 });
    expect(parseLbAddress('lb.example.com:06443')).toEqual({ address: 'lb.example.com:6443', host: 'lb.example.com', port: 6443 });
    expect(parseLbAddress('api:1')).toMatchObject({ address: 'api:1' });
  });

  it('refuses everything else with a reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['host', /has no port/],
      ['host:99999', /out of range/],
      ['host:0', /out of range/],
      ['host:', /not a number/],
      [':80', /has no host/],
      ['a;b:1', /not a host name/],
      ['10.0.0.256:1', /not a host name or IPv4/],
      ['-lb:1', /not a host name/],
      ['lb_1:1', /not a host name/],
      ['fe80::1:6443', /IPv6/],
      ['$(id):1', /not a host name/],
      [`${'a'.repeat(64)}.example:1`, /not a host name/],
    ];
    for (const [text, why] of cases) {
      const r = parseLbAddress(text);
      expect(typeof r, text).toBe('string');
      expect(r, text).toMatch(why);
    }
  });
});

describe('snap services', () => {
  it('reads the Current column', () => {
    const out = 'Service                          Startup  Current   Notes\nmicrok8s.daemon-apiserver-proxy  enabled  inactive  -\n';
    expect(parseServiceCurrent(out, 'microk8s.daemon-apiserver-proxy')).toBe('inactive');
    expect(parseServiceCurrent(out, 'microk8s.daemon-kubelite')).toBeUndefined();
  });
});
