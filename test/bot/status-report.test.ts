import { describe, expect, it } from 'vitest';
import { renderClusterStatus, renderDrift } from '../../src/bot/status-report.ts';
import { haConfFailureDomain as failureDomainOf } from '../../src/microk8s/args-files.ts';
import type { ClusterStatus } from '../../src/status/cluster-status.ts';

describe('status report helpers', () => {
  it('reads the failure domain as run-kubelite-with-args does', () => {
    expect(failureDomainOf('failure-domain=3\n')).toBe(3);
    expect(failureDomainOf('# comment\nfailure-domain 7\n')).toBe(7);
    expect(failureDomainOf('')).toBeUndefined();
    expect(failureDomainOf('failure-domain=abc\n')).toBeUndefined();
  });

  it('lists members it could not put on a node by address, and says what is unreadable', () => {
    const s: ClusterStatus = {
      cluster: 'prod',
      via: 'k8s-1',
      status: { running: true, highAvailability: false, members: [{ address: '127.0.0.1:19001', role: 'voter' }, { address: '10.9.9.9:19001', role: 'standby' }] },
      rows: [
        { name: 'k8s-1', role: 'control-plane', windows: false, datastore: 'voter', failureDomain: 'unreadable', drift: [], kube: { name: 'k8s-1', ready: true, unschedulable: true, kubeletVersion: 'v1.22.3', role: 'control-plane', labels: {} }, facts: { version: 'v1.22.3', revision: '2551', channel: '1.22/stable', held: true, holdUntil: '2026-07-01T10:00:00Z' } },
        { name: 'w1', role: 'worker', windows: true, drift: [], kube: { name: 'w1', ready: false, unschedulable: false, kubeletVersion: 'v1.22.3', role: 'worker', labels: {} } },
        { name: 'k8s-2', role: 'control-plane', windows: false, drift: [], error: 'connect ECONNREFUSED' },
      ],
      unmatched: [{ address: '10.9.9.9:19001', role: 'standby' }],
      problems: [],
      driftOnly: false,
    };
    const text = renderClusterStatus(s, 'job 4 (hold, running)');
    expect(text).toContain('high-availability: no');
    expect(text).toContain('datastore voters: k8s-1 · standby: 10.9.9.9:19001 · spare: none');
    expect(text).toMatch(/k8s-1\s+control-plane\s+voter\s+\?\s+v1\.22\.3\s+2551\s+1\.22\/stable\s+Ready\s+yes\s+until 2026-07-01T10:00:00Z/);
    expect(text).toMatch(/w1\s+worker\s+-\s+-\s+-\s+-\s+-\s+NotReady\s+no\s+-/);
    expect(text).toMatch(/k8s-2\s+control-plane\s+-\s+-\s+\?\s+\?\s+\?\s+unreachable/);
    expect(text).toContain('⚠️ k8s-2: connect ECONNREFUSED');
    expect(text).toContain('Held by job 4 (hold, running).');
    const drift = renderDrift({ ...s, driftOnly: true }, undefined);
    expect(drift).toMatch(/k8s-1\s+2551 1\.22\/stable until 2026-07-01T10:00:00Z\s+-\s+-\s+no record/);
    expect(drift).toMatch(/w1\s+windows \(no snap\)/);
    expect(drift).toMatch(/k8s-2\s+unreadable\s+-\s+-\s+unknown/);
    expect(drift).toContain('No drift');
  });
});
