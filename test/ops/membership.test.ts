/** Rules of src/ops/membership.ts on real output formats (reference §1–3, the seed). */
import { describe, expect, it } from 'vitest';
import type { HaMember, KubeNode } from '../../src/microk8s/types.ts';
import { isControlPlaneNode, quorumImpact, type Membership } from '../../src/ops/membership.ts';

describe('quorumImpact', () => {
  const kube = (name: string, ip: string, ready = true): KubeNode => ({ name, ready, unschedulable: false, kubeletVersion: 'v1.24.0', role: 'control-plane', internalIp: ip, labels: {} });
  const member = (ip: string, role: HaMember['role'], node: string) => ({ address: `${ip}:19001`, role, node });
  const cluster = (ready: Record<string, boolean>, extra: Array<[string, string, HaMember['role']]> = []): Membership => {
    const rows: Array<[string, string, HaMember['role']]> = [['k8s-1', '10.0.0.11', 'voter'], ['k8s-2', '10.0.0.12', 'voter'], ['k8s-3', '10.0.0.13', 'voter'], ...extra];
    return { kube: rows.map(([n, ip]) => kube(n, ip, ready[n] ?? true)), members: rows.map(([n, ip, r]) => member(ip, r, n)), haEnabled: true };
  };

  it('a stand-by takes a leaving voter\'s seat: no warning', () => {
    const q = quorumImpact(cluster({}, [['k8s-4', '10.0.0.14', 'standby']]), 'k8s-1');
    expect(q).toMatchObject({ role: 'voter', votersBefore: 3, votersAfter: 3, haBefore: true, haAfter: true, warnings: [] });
  });

  it('HA lost at 3 → 2 voters; quorum loss when a remaining voter is down', () => {
    expect(quorumImpact(cluster({}), 'k8s-3').warnings).toEqual(['⚠️ HA LOST: high-availability goes from yes to no (3 → 2 voters)']);
    const q = quorumImpact(cluster({ 'k8s-2': false }), 'k8s-3');
    expect(q.warnings[0]).toBe('⚠️ QUORUM LOSS: after removing k8s-3 the datastore has 2 voter(s) but only 1 Ready — fewer than the 2 a majority needs');
    expect(q.warnings[1]).toMatch(/^⚠️ HA LOST/);
  });

  it('a worker or a stand-by leaving changes nothing', () => {
    const m = cluster({}, [['k8s-4', '10.0.0.14', 'standby']]);
    expect(quorumImpact(m, 'k8s-4')).toMatchObject({ role: 'standby', votersAfter: 3, warnings: [] });
    const withWorker: Membership = { ...m, kube: [...m.kube, { ...kube('w1', '10.0.0.21'), role: 'worker' }] };
    expect(quorumImpact(withWorker, 'w1')).toMatchObject({ votersBefore: 3, votersAfter: 3, warnings: [] });
    expect(quorumImpact(withWorker, 'w1').role).toBeUndefined();
  });
});

describe('isControlPlaneNode', () => {
  const node = (name: string, role: KubeNode['role']): KubeNode => ({ name, ready: true, unschedulable: false, kubeletVersion: 'v1.22.3', role, labels: {} });
  const inventory = [{ name: 'a', role: 'control-plane' }, { name: 'w', role: 'worker' }];
  it('goes by the label (1.23+), else by the inventory (1.22 set no role label)', () => {
    expect(isControlPlaneNode(node('a', 'control-plane'), inventory)).toBe(true);
    expect(isControlPlaneNode(node('w', 'worker'), inventory)).toBe(false);
    expect(isControlPlaneNode(node('a', 'unknown'), inventory)).toBe(true);
    expect(isControlPlaneNode(node('w', 'unknown'), inventory)).toBe(false);
    expect(isControlPlaneNode(node('x', 'unknown'), inventory)).toBe(true);
  });
});
