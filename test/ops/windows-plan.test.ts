/** The windows-worker plans (src/ops/windows-plan.ts): the titles the steps use, in order, and what varies by the preflight. */
import { describe, expect, it } from 'vitest';
import { clusterConfig, parseInventory, type ClusterConfig } from '../../src/config/inventory.ts';
import { calicoReleaseUrl, type WindowsPreflight } from '../../src/ops/windows-cluster.ts';
import { addPlan, removePlan, upgradePlan, windowsTitles } from '../../src/ops/windows-plan.ts';

const cluster: ClusterConfig = clusterConfig(
  parseInventory(
    `
clusters:
  prod:
    channel: C0PROD00001
    ssh: { user: ubuntu, privateKeyPath: /nonexistent, knownHostsPath: /nonexistent }
    windows: { user: Administrator }
    nodes:
      - { name: k8s-1, host: 10.0.0.11, role: control-plane }
      - { name: k8s-2, host: 10.0.0.12, role: control-plane }
      - { name: win1, host: 10.0.0.21, role: worker, os: windows }
rbac: { operators: [alice], approvers: [bob] }
`,
    'windows-plan-test.yml',
  ),
  'prod',
)!;

const pre = (p: Partial<WindowsPreflight>): WindowsPreflight => ({
  node: 'win1', controller: 'k8s-2', kubeVersion: '1.27.5', calicoVersion: '3.25.0', calicoFrom: 'the calico-node DaemonSet', calicoctl: 'present', calicoctlVersion: 'v3.25.0',
  productName: 'Windows Server 2022 Datacenter', osBuild: '20348.2527', lastBoot: '2024-01-01T00:00:00Z', inCluster: false, warnings: [], ...p,
});

describe('windows-worker plans', () => {
  it('adds a node with the titles its steps use, in order; before the preflight, on the first control-plane node', () => {
    const t = windowsTitles('win1', { kubeVersion: '<cluster version>', calicoVersion: '<cluster Calico>' });
    const plan = addPlan(cluster, 'win1');
    expect(plan.map((s) => s.title)).toEqual([t.affinity, t.containerd, t.kubeconfig, t.download, t.calico, t.services, t.firewall, t.kubelet, t.start, t.ready, t.pod]);
    expect(plan[0]?.node).toBe('k8s-1');
    expect(plan.find((s) => s.title === t.ready)?.node).toBe('k8s-1');
    expect(plan.find((s) => s.title === t.download)?.commands[1]).toContain('-KubeVersion "<cluster version>"');
    expect(plan.find((s) => s.title === t.kubelet)?.commands[1]).toContain('remove (--logtostderr=true on 1.26+, --container-runtime=remote on 1.27+)');
  });

  it('after the preflight: its controller, its versions, the kubelet flags of that version, calicoctl fetched only when missing', () => {
    const t = windowsTitles('win1', { kubeVersion: '1.27.5', calicoVersion: '3.25.0' });
    const present = addPlan(cluster, 'win1', pre({}));
    expect(present[0]).toMatchObject({ title: t.affinity, node: 'k8s-2' });
    expect(present[0]?.commands).toHaveLength(1);
    expect(present.find((s) => s.title === t.download)?.commands[1]).toContain(`-ReleaseBaseURL "${calicoReleaseUrl(cluster, '3.25.0')}" -ReleaseFile "calico-windows-v3.25.0.zip" -KubeVersion "1.27.5"`);
    expect(present.find((s) => s.title === t.kubelet)?.commands[1]).toMatch(/remove --logtostderr=true, --container-runtime=remote$/);
    const fetched = addPlan(cluster, 'win1', pre({ calicoctl: 'fetch' }));
    expect(fetched[0]?.commands[0]).toMatch(/^curl -fsSL -o \S+ .*\/v3\.25\.0\/calicoctl-linux-amd64 \(calicoctl is not on k8s-2\)$/);
    const old = addPlan(cluster, 'win1', pre({ kubeVersion: '1.25.2' }));
    expect(old.find((s) => s.title.startsWith('set InterfaceName'))?.commands[1]).toMatch(/, no flag to remove$/);
  });

  it('removes by draining from the controller, then the destructive uninstall and delete', () => {
    const t = windowsTitles('win1', { kubeVersion: '', calicoVersion: '' });
    expect(removePlan(cluster, 'win1', { controller: 'k8s-2' }).map((s) => [s.title, s.node, s.destructive ?? false])).toEqual([
      [t.drain, 'k8s-2', false],
      [t.uninstall, 'win1', true],
      [t.delete, 'k8s-2', true],
    ]);
  });

  it('upgrades by uninstalling, then installing again without containerd', () => {
    const t = windowsTitles('win1', { kubeVersion: '1.27.5', calicoVersion: '3.25.0' });
    const plan = upgradePlan(cluster, 'win1', pre({}));
    expect(plan[0]).toMatchObject({ title: t.uninstall, destructive: true });
    expect(plan.map((s) => s.title)).not.toContain(t.containerd);
    expect(plan.map((s) => s.title).slice(1)).toEqual([t.kubeconfig, t.download, t.calico, t.services, t.firewall, t.kubelet, t.start, t.ready, t.pod]);
  });
});
