import { describe, expect, it } from 'vitest';
import { assertAddonName } from '../../src/microk8s/addons.ts';
import { parseAddonStatus, parseApplyOutput, parseCalicoDaemonSet, parseCalicoPods, parseXable } from '../../src/microk8s/parse-addons.ts';
import { InvalidValueError } from '../../src/microk8s/errors.ts';
import { CommandFailedError } from '../../src/ssh/errors.ts';

// The shapes of status.py's yaml printer (reference §C1), with and without `repository:`.
const STATUS_124 = `microk8s:
  running: True
high-availability:
  enabled: True
  nodes:
    - address: 10.0.0.1:19001
      role: voter
addons:
  - name: dns
    repository: core
    description: CoreDNS
    version: 1.13.1
    status: enabled
  - name: rbac
    repository: core
    description: Role-Based Access Control for authorisation
    version:  
    status: disabled
`;
const STATUS_122 = `microk8s:
  running: True
high-availability:
  enabled: False
addons:
  - name: dns
    description: CoreDNS
    version: 1.8.0
    status: enabled
  - name: storage
    description: Storage class; allocates storage from host directory
    version: 1.0.0
    status: enabled
`;
const NOT_READY = `microk8s:
  running: False
high-availability:
  enabled: True
  nodes:
  message: microk8s is not running. Use microk8s inspect for a deeper inspection.
`;

describe('parseAddonStatus', () => {
  it('reads repository, name, version and status (1.24+), an empty version as none', () => {
    const s = parseAddonStatus(STATUS_124);
    expect(s.running).toBe(true);
    expect(s.addons).toEqual([
      { name: 'dns', repository: 'core', version: '1.13.1', description: 'CoreDNS', enabled: true },
      { name: 'rbac', repository: 'core', description: 'Role-Based Access Control for authorisation', enabled: false },
    ]);
  });
  it('reads releases without repositories (1.21–1.23)', () => {
    expect(parseAddonStatus(STATUS_122).addons.map((a) => [a.name, a.repository, a.version, a.enabled])).toEqual([
      ['dns', undefined, '1.8.0', true],
      ['storage', undefined, '1.0.0', true],
    ]);
  });
  it('not ready: no add-ons, the message (indented under high-availability)', () => {
    expect(parseAddonStatus(NOT_READY)).toEqual({ running: false, addons: [], message: 'microk8s is not running. Use microk8s inspect for a deeper inspection.' });
  });
  it('the plain-text answers of a stopped node and a worker', () => {
    expect(parseAddonStatus('microk8s is not running, try microk8s start\n')).toMatchObject({ running: false, addons: [] });
    expect(parseAddonStatus('This MicroK8s deployment is acting as a node in a cluster.\nPlease use the control plane node.\n')).toMatchObject({ running: false });
  });
  it('reads the values as printed: a version like 1.10 stays 1.10, a description keeps its " #" and ": "', () => {
    const odd = STATUS_124.replace('version: 1.13.1', 'version: 1.10').replace('description: CoreDNS', 'description: CoreDNS # the DNS: fast');
    expect(parseAddonStatus(odd).addons[0]).toEqual({ name: 'dns', repository: 'core', version: '1.10', description: 'CoreDNS # the DNS: fast', enabled: true });
  });
  it('the same status as a YAML dumper prints it (keys sorted, sequences at column 0, values quoted, lowercase booleans) reads the same', () => {
    const dumped = [
      'addons:',
      '- description: "CoreDNS: the cluster DNS"',
      '  name: dns',
      "  repository: 'core'",
      "  status: 'enabled'",
      "  version: '1.10'",
      '- description: Role-Based Access Control for authorisation',
      '  name: rbac',
      '  repository: core',
      '  status: disabled',
      "  version: ''",
      'high-availability:',
      '  enabled: true',
      'microk8s:',
      '  running: true',
      '',
    ].join('\n');
    const s = parseAddonStatus(dumped);
    expect(s.running).toBe(true);
    expect(s.addons).toEqual([
      { name: 'dns', repository: 'core', version: '1.10', description: 'CoreDNS: the cluster DNS', enabled: true },
      { name: 'rbac', repository: 'core', description: 'Role-Based Access Control for authorisation', enabled: false },
    ]);
  });
  it('a running node with an empty add-on list is read as none; without any list it is an error', () => {
    expect(parseAddonStatus('microk8s:\n  running: True\nhigh-availability:\n  enabled: False\naddons:\n').addons).toEqual([]);
    expect(() => parseAddonStatus('microk8s is running\nhigh-availability: no\n')).toThrow(/add-on list/);
  });
  it('a description that would break a YAML parser (more ": ") is still read', () => {
    const broken = STATUS_124.replace('description: CoreDNS', 'description: CoreDNS: the cluster DNS: fast');
    expect(parseAddonStatus(broken).addons.map((a) => [a.name, a.enabled])).toEqual([
      ['dns', true],
      ['rbac', false],
    ]);
  });
});

describe('parseXable', () => {
  const r = (stdout: string, code = 0, stderr = '') => ({ stdout, stderr, code });
  it('already in that state is nothing done; unknown add-ons are named', () => {
    expect(parseXable('enable', 'dns', r('Addon core/dns is already enabled\n', 0, 'Infer repository core for addon dns\n')).outcome).toBe('unchanged');
    expect(parseXable('disable', 'dns', r('Addon dns is already disabled.\n')).outcome).toBe('unchanged');
    expect(() => parseXable('enable', 'foo', r('', 1, 'Addon foo was not found in any repository\n'), 'k8s-1')).toThrow(/k8s-1 has no add-on foo/);
    expect(() => parseXable('enable', 'foo', r('', 1, 'Nothing to do for `foo`.\n'))).toThrow(InvalidValueError);
  });
  it('hostpath-storage without a terminal: exit 1 after "Storage removed." is the data kept', () => {
    const out = 'Disabling hostpath storage.\ndeployment.apps "hostpath-provisioner" deleted\nStorage removed.\n';
    expect(parseXable('disable', 'hostpath-storage', r(out, 1)).outcome).toBe('done-data-kept');
    expect(parseXable('disable', 'storage', r('Disabling default storage\nStorage removed\n', 1)).outcome).toBe('done-data-kept');
    // any other exit 1 is a failure, and so is one that reclaimed the space
    expect(() => parseXable('disable', 'dns', r('Disabling DNS\n', 1))).toThrow(CommandFailedError);
    expect(() => parseXable('disable', 'hostpath-storage', r(`${out}Storage space reclaimed.\n`, 1))).toThrow(CommandFailedError);
  });
  it('a worker node is refused', () => {
    expect(() => parseXable('enable', 'dns', r('This MicroK8s deployment is acting as a node in a cluster.\nPlease use the master node.\n', 1))).toThrow(/control-plane node/);
  });
});

describe('add-on names', () => {
  it('takes one plain name, optionally with its repository', () => {
    for (const ok of ['dns', 'hostpath-storage', 'core/dns', 'community/argocd']) expect(assertAddonName(ok)).toBe(ok);
    for (const bad of ['hostpath-storage:destroy-storage', 'dns ingress', 'DNS', '../dns', 'dns;reboot', '', 'a/b/c', '-dns']) {
      expect(() => assertAddonName(bad), bad).toThrow(InvalidValueError);
    }
  });
});

describe('the calico-node DaemonSet and kubectl apply', () => {
  it('reads the calico-node container image and the rollout counts', () => {
    const ds = {
      kind: 'DaemonSet',
      metadata: { name: 'calico-node', generation: 3 },
      spec: { template: { spec: { initContainers: [{ name: 'install-cni', image: 'docker.io/calico/cni:v3.25.0' }], containers: [{ name: 'calico-node', image: 'docker.io/calico/node:v3.25.0' }] } } },
      status: { desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 3, numberReady: 3, observedGeneration: 3 },
    };
    expect(parseCalicoDaemonSet(JSON.stringify(ds))).toEqual({ image: 'docker.io/calico/node:v3.25.0', desired: 3, updated: 2, available: 3, ready: 3, generation: 3, observedGeneration: 3 });
    expect(() => parseCalicoDaemonSet('{"kind":"DaemonSet"}')).toThrow(/a DaemonSet object/);
  });
  it('reads calico-node pods: node, image, Ready', () => {
    const list = { items: [{ metadata: { name: 'calico-node-x' }, spec: { nodeName: 'k8s-1', containers: [{ name: 'calico-node', image: 'i:1' }] }, status: { conditions: [{ type: 'Ready', status: 'True' }] } }] };
    expect(parseCalicoPods(JSON.stringify(list))).toEqual([{ name: 'calico-node-x', node: 'k8s-1', image: 'i:1', ready: true }]);
  });
  it('reads kubectl apply lines', () => {
    expect(parseApplyOutput('configmap/calico-config unchanged\ndaemonset.apps/calico-node configured\nWarning: something\n')).toEqual([
      { object: 'configmap/calico-config', action: 'unchanged' },
      { object: 'daemonset.apps/calico-node', action: 'configured' },
    ]);
    expect(() => parseApplyOutput('error: no objects passed to apply\n')).toThrow(/daemonset.apps\/calico-node configured/);
  });
});
