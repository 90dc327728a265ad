import { readFileSync } from 'node:fs';
import { stringify, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { customisations, describeCustomisation, lostCustomisations, manifestDiff } from '../../src/microk8s/calico-customisations.ts';
import { applyManifestEdits, compareCalicoVersions, imageTag, parseCalicoManifest } from '../../src/microk8s/calico-manifest.ts';
import { OutputParseError } from '../../src/microk8s/errors.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const M124 = fixture('calico-1.24-excerpt.yaml');
const M126 = fixture('calico-1.26-excerpt.yaml');
const M133 = fixture('calico-1.33-excerpt.yaml');

describe('parseCalicoManifest (real MicroK8s manifests)', () => {
  it('takes the calico-node container of the calico-node DaemonSet, not the first image line', () => {
    // Since 1.25 a commented-out mount-bpffs init container names calico/node before the real
    // container, and calico/cni images come first: change only the real one and read it back.
    const text = M133.replace('          image: docker.io/calico/node:v3.29.3', '          image: docker.io/calico/node:v3.29.9');
    expect(text.indexOf('#   image: docker.io/calico/node:v3.29.3')).toBeLessThan(text.indexOf('image: docker.io/calico/node:v3.29.9'));
    const m = parseCalicoManifest(text);
    expect(m.image).toBe('docker.io/calico/node:v3.29.9');
    expect(m.version).toBe('v3.29.9');
    expect(m.config.calico_backend).toBe('vxlan');
    expect(m.config.veth_mtu).toBe('0');
    expect(m.env.find((e) => e.name === 'CALICO_IPV4POOL_CIDR')?.value).toBe('10.1.0.0/16');
    expect(m.env.find((e) => e.name === 'FELIX_VXLANMTU')?.from).toBe('calico-config/veth_mtu');
    expect(m.images.map((i) => i.where)).toEqual([
      'DaemonSet/calico-node upgrade-ipam',
      'DaemonSet/calico-node install-cni',
      'DaemonSet/calico-node calico-node',
      'Deployment/calico-kube-controllers calico-kube-controllers',
    ]);
  });

  it('reads a manifest MicroK8s re-dumped with PyYAML (patch_manifest: no comments, other layout)', () => {
    const docs = parseAllDocuments(M126).map((d) => d.toJS() as unknown);
    const dumped = docs.map((d) => stringify(d, { indent: 2 })).join('---\n');
    expect(parseCalicoManifest(dumped).version).toBe('v3.23.5');
  });

  it('refuses what is not a Calico manifest, naming it', () => {
    expect(() => parseCalicoManifest('kind: ConfigMap\nmetadata:\n  name: x\n', 'cni.yaml on k8s-1')).toThrow(OutputParseError);
    expect(() => parseCalicoManifest('kind: DaemonSet\nimage: [\n', 'cni.yaml on k8s-1')).toThrow(/cni.yaml on k8s-1.*valid YAML/);
  });

  it('compares release tags', () => {
    expect(compareCalicoVersions('v3.23.5', 'v3.25.0')).toBeLessThan(0);
    expect(compareCalicoVersions('v3.25.1', 'v3.25.0')).toBeGreaterThan(0);
    expect(compareCalicoVersions('v3.25.0', 'v3.25.0')).toBe(0);
    expect(compareCalicoVersions('latest', 'v3.25.0')).toBeUndefined();
    expect(imageTag('registry.local:5000/calico/node:v3.25.0')).toBe('v3.25.0');
    expect(imageTag('registry.local:5000/calico/node')).toBe('latest');
  });
});

describe('customisations and the new manifest', () => {
  const custom = M126.replace('value: "10.1.0.0/16"', 'value: "10.100.0.0/16"').replace('value: "first-found"', 'value: "can-reach=10.0.0.1"').replace('veth_mtu: "0"', 'veth_mtu: "1400"');

  it('finds the pod CIDR, IP autodetection and MTU changes, and none in a stock older manifest', () => {
    const found = customisations(parseCalicoManifest(custom), parseCalicoManifest(M133));
    expect(found.map(describeCustomisation)).toEqual([
      'IP autodetection IP_AUTODETECTION_METHOD=can-reach=10.0.0.1 (shipped: first-found)',
      'pod CIDR CALICO_IPV4POOL_CIDR=10.100.0.0/16 (shipped: 10.1.0.0/16)',
      'MTU calico-config veth_mtu=1400 (shipped: 0)',
    ]);
    // 1.24's stock FELIX_LOGSEVERITYSCREEN=error (dropped later) is not a customisation.
    expect(customisations(parseCalicoManifest(M124), parseCalicoManifest(M133))).toEqual([]);
  });

  it('names a customisation that cannot be carried over', () => {
    const fromConfig = M126.replace('            - name: CALICO_IPV4POOL_CIDR\n              value: "10.1.0.0/16"', '            - name: CALICO_IPV4POOL_CIDR\n              valueFrom:\n                configMapKeyRef:\n                  name: my-config\n                  key: cidr');
    const [c] = customisations(parseCalicoManifest(fromConfig), parseCalicoManifest(M133));
    expect(c?.edit).toBeUndefined();
    expect(c?.problem).toContain('CALICO_IPV4POOL_CIDR is taken from my-config/cidr in the deployed manifest');
  });

  it('edits the bundled text in place: only the customised values change', () => {
    const found = customisations(parseCalicoManifest(custom), parseCalicoManifest(M133));
    const next = applyManifestEdits(M133, [...found.flatMap((c) => (c.edit ? [c.edit] : [])), { target: 'env', key: 'FELIX_LOGSEVERITYSCREEN', value: 'info' }]);
    const m = parseCalicoManifest(next);
    expect(m.version).toBe('v3.29.3');
    expect(m.env.find((e) => e.name === 'CALICO_IPV4POOL_CIDR')?.value).toBe('10.100.0.0/16');
    expect(m.env.find((e) => e.name === 'FELIX_LOGSEVERITYSCREEN')?.value).toBe('info');
    expect(m.config.veth_mtu).toBe('1400');
    const before = M133.split('\n');
    const after = next.split('\n');
    expect(after.length).toBe(before.length + 2);
    // the commented-out block and every comment are still there
    expect(next).toContain('#   image: docker.io/calico/node:v3.29.3');
    expect(after.filter((l) => !before.includes(l)).map((l) => l.trim())).toEqual(['veth_mtu: "1400"', '- name: FELIX_LOGSEVERITYSCREEN', 'value: "info"', 'value: "can-reach=10.0.0.1"', 'value: "10.100.0.0/16"']);
    const diff = manifestDiff(parseCalicoManifest(custom), m, { deployed: custom, next }, found);
    expect(diff).toContain('- DaemonSet/calico-node calico-node: docker.io/calico/node:v3.23.5');
    expect(diff).toContain('+ DaemonSet/calico-node calico-node: docker.io/calico/node:v3.29.3');
    expect(diff).toContain('  env CALICO_IPV4POOL_CIDR=10.100.0.0/16   (kept)');
  });

  it('says what a replaced manifest lost', () => {
    expect(lostCustomisations(parseCalicoManifest(custom), parseCalicoManifest(M133)).map((l) => `${l.key}: ${l.before} → ${l.now}`)).toEqual([
      'IP_AUTODETECTION_METHOD: can-reach=10.0.0.1 → first-found',
      'CALICO_IPV4POOL_CIDR: 10.100.0.0/16 → 10.1.0.0/16',
      'calico-config veth_mtu: 1400 → 0',
    ]);
  });
});
