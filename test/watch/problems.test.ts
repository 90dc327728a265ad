import { describe, expect, it } from 'vitest';
import type { ClusterStatus, NodeRow } from '../../src/status/cluster-status.ts';
import { parseInventory, clusterConfig } from '../../src/config/inventory.ts';
import { findProblems, type ProblemContext } from '../../src/watch/problems.ts';

const inv = parseInventory(
  `clusters:
  prod:
    channel: C0PROD00001
    ssh: { user: ubuntu, agent: true, knownHostsPath: /k }
    watch: { notReadyAfter: 5m }
    nodes:
      - { name: k8s-1, host: 10.0.0.11, role: control-plane }
      - { name: k8s-2, host: 10.0.0.12, role: control-plane }
      - { name: k8s-3, host: 10.0.0.13, role: control-plane }
      - { name: w1, host: 10.0.0.21, role: worker }
`,
  'inv.yml',
);
const cluster = clusterConfig(inv, 'prod')!;
const NOW = Date.parse('2026-12-04T12:00:00Z');
const facts = { version: 'v1.22.3', revision: '2551', channel: '1.22/stable', held: false };

function row(name: string, over: Partial<NodeRow> = {}, kube: Partial<NonNullable<NodeRow['kube']>> = {}): NodeRow {
  return {
    name, role: name.startsWith('w') ? 'worker' : 'control-plane', windows: false, facts, drift: [],
    kube: { name, ready: true, unschedulable: false, kubeletVersion: 'v1.22.3', role: 'control-plane', labels: {}, ...kube },
    ...(name.startsWith('k8s') ? { datastore: 'voter' as const } : {}),
    ...over,
  };
}

function healthy(rows: NodeRow[] = ['k8s-1', 'k8s-2', 'k8s-3', 'w1'].map((n) => row(n))): ClusterStatus {
  return { cluster: 'prod', via: 'k8s-1', status: { running: true, highAvailability: true, members: [] }, rows, unmatched: [], problems: [], driftOnly: false };
}

const ctx: ProblemContext = { cluster, now: NOW, cordonedByBot: new Set(), knownVoters: ['k8s-1', 'k8s-2', 'k8s-3'], notReadySince: new Map() };
const keys = (s: ClusterStatus, c: Partial<ProblemContext> = {}) => findProblems(s, { ...ctx, ...c }).map((p) => p.key);

describe('the watch finds', () => {
  it('nothing on a healthy cluster', () => {
    expect(keys(healthy())).toEqual([]);
  });

  it('a node NotReady for longer than watch.notReadyAfter, not sooner', () => {
    const s = healthy(['k8s-1', 'k8s-2', 'k8s-3'].map((n) => row(n)).concat(row('w1', {}, { ready: false, readySince: NOW - 6 * 60_000 })));
    expect(findProblems(s, ctx).find((p) => p.key === 'notready:w1')).toMatchObject({ text: 'w1 has been NotReady for 6 min (longer than watch.notReadyAfter).', action: 'inspect w1' });
    const soon = healthy(['k8s-1', 'k8s-2', 'k8s-3'].map((n) => row(n)).concat(row('w1', {}, { ready: false, readySince: NOW - 4 * 60_000 })));
    expect(keys(soon)).toEqual([]);
  });

  it('a cordoned node nobody\'s job cordoned, and not one the bot cordoned', () => {
    const s = healthy(['k8s-1', 'k8s-2', 'k8s-3'].map((n) => row(n)).concat(row('w1', {}, { unschedulable: true })));
    expect(keys(s)).toEqual(['cordoned:w1']);
    expect(keys(s, { cordonedByBot: new Set(['w1']) })).toEqual([]);
  });

  it('HA lost when fewer than 3 voters work', () => {
    const s = healthy([row('k8s-1'), row('k8s-2'), row('k8s-3', {}, { ready: false, readySince: NOW }), row('w1')]);
    expect(findProblems(s, ctx).find((p) => p.key === 'ha-lost')?.text).toContain('2 working datastore voter(s) (k8s-1, k8s-2), 3 needed; not working: k8s-3');
  });

  it('quorum lost when at most half the voters answer and no API does; an API outage otherwise', () => {
    const down = (n: string) => row(n, { error: 'connect ECONNREFUSED', facts: undefined, kube: undefined });
    const lost: ClusterStatus = { ...healthy([row('k8s-1', { kube: undefined }), down('k8s-2'), down('k8s-3'), row('w1', { kube: undefined })]), status: undefined, problems: ['k8s-1: timeout'] };
    const found = findProblems(lost, ctx);
    expect(found.map((p) => p.key)).toEqual(['unreachable:k8s-2', 'unreachable:k8s-3', 'quorum-lost']);
    expect(found.at(-1)).toMatchObject({ severity: 'critical', action: 'recover-quorum --dry-run' });
    const apiOnly: ClusterStatus = { ...healthy([row('k8s-1', { kube: undefined }), row('k8s-2', { kube: undefined }), row('k8s-3', { kube: undefined }), row('w1', { kube: undefined })]), status: undefined, problems: ['x'] };
    expect(keys(apiOnly)).toEqual(['api-down']);
  });

  it('drift only while refreshes are not held; holds ending within 24 h as one problem', () => {
    const drifted = row('k8s-1', { drift: ['revision 2551 → 2558 (v1.22.4)'] });
    expect(keys(healthy([drifted, row('k8s-2'), row('k8s-3'), row('w1')]))).toEqual(['drift:k8s-1']);
    const held = (n: string, until: string) => row(n, { facts: { ...facts, held: true, holdUntil: until } });
    const s = healthy([held('k8s-1', '2026-12-05T10:00:00Z'), held('k8s-2', '2026-12-06T12:00:00Z'), held('k8s-3', 'forever'), row('w1', { drift: ['x'], facts: { ...facts, held: true } })]);
    const ending = findProblems(s, ctx);
    expect(ending.map((p) => p.key)).toEqual(['hold-ending']);
    expect(ending[0]!.text).toBe('Refresh holds end within 24 h: k8s-1 at 2026-12-05 10:00 UTC (in 22 h). After that snapd refreshes those nodes on its own schedule.');
  });
});
