/**
 * src/ops/membership.ts: its rules on real output formats (reference §1–3, the seed), and its
 * steps over SSH to simulated nodes (the join and its token, leave, remove-node, the waits).
 */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import type { HaMember, KubeNode } from '../../src/microk8s/types.ts';
import {
  JOIN_TOKEN_TTL_SECONDS,
  describeHa,
  isControlPlaneNode,
  joinOnce,
  joinWithRetry,
  leaveIfJoined,
  quorumImpact,
  readMembership,
  removeNodeFrom,
  settleMembership,
  standing,
  voters,
  waitForNode,
  type Membership,
} from '../../src/ops/membership.ts';
import { simMembership } from '../../src/sim/index.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

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

describe('membership over SSH: the datastore, standing, the join, leave and remove-node', () => {
  const rig = useOpsRig({
    nodes: [
      { name: 'k8s-1', channel: '1.23/stable' },
      { name: 'k8s-2', channel: '1.23/stable' },
      { name: 'k8s-3', channel: '1.23/stable' },
      { name: 'k8s-4', channel: '1.23/stable', joined: false },
      { name: 'w5', role: 'worker', channel: '1.23/stable', joined: false },
      { name: 'x6', channel: '1.23/stable', joined: false, otherCluster: 'worker' },
    ],
  });
  const net = () => simMembership(rig.sim.state);
  const spec = (node: string, worker = false) => ({ node, worker, controller: 'k8s-1', controllerIp: '10.0.0.11' });

  it('reads the datastore from the controller and puts each member on its node', async () => {
    const m = await rig.run((run) => readMembership(run, 'k8s-1'));
    expect(m.haEnabled).toBe(true);
    expect(m.kube.map((k) => k.name)).toEqual(['k8s-1', 'k8s-2', 'k8s-3']);
    expect(m.members.map((x) => [x.node, x.role])).toEqual([['k8s-1', 'voter'], ['k8s-2', 'voter'], ['k8s-3', 'voter']]);
    expect(describeHa(m)).toBe('high-availability yes · voters k8s-1, k8s-2, k8s-3');
    expect(rig.commands('k8s-1')).toEqual(['microk8s status --format yaml', 'microk8s kubectl get nodes -o json']);
  });

  it('tells a host free to join from one in a cluster, a worker elsewhere, or a stopped one', async () => {
    const kinds = await rig.run(async (run) => Promise.all(['k8s-4', 'k8s-1', 'x6'].map(async (n) => (await standing(run, n)).kind)));
    expect(kinds).toEqual(['standalone', 'clustered', 'worker-elsewhere']);
    rig.sim.state.node('k8s-4').stopped = true;
    try {
      expect(await rig.run((run) => standing(run, 'k8s-4'))).toMatchObject({ kind: 'stopped' });
    } finally {
      rig.sim.state.node('k8s-4').stopped = false;
    }
  });

  it('joins with a fresh short-lived token that never reaches the job data or the thread; a repeat sees it joined', async () => {
    const r = await rig.run((run) => joinWithRetry(run, spec('k8s-4')));
    expect(r).toEqual({ node: 'k8s-4', via: '10.0.0.11:25000', worker: false, already: false });
    const tokens = net().tokens();
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatchObject({ node: 'k8s-1', ttlSeconds: JOIN_TOKEN_TTL_SECONDS });
    expect(rig.commands('k8s-1')).toContain(`microk8s add-node --token-ttl ${JOIN_TOKEN_TTL_SECONDS}`);
    expect(rig.commands('k8s-4').some((c) => c.startsWith('microk8s join 10.0.0.11:25000/'))).toBe(true);
    expect(JSON.stringify(rig.data())).not.toContain(tokens[0]!.token);
    expect(rig.thread().join('\n')).not.toContain(tokens[0]!.token);
    expect(rig.doneSteps()).toEqual(['join k8s-4']);
    expect(net().isMember('k8s-4')).toBe(true);
    expect(await rig.run((run) => joinOnce(run, spec('k8s-4')))).toEqual({ node: 'k8s-4', via: 'already a member', worker: false, already: true });
    expect(net().tokens()).toHaveLength(1); // no new token for a node already joined
  });

  it('after a failed join asks whether to retry with a new token; Retry makes one and joins', async () => {
    net().setAgentRunning('k8s-1', false);
    const asked: string[] = [];
    const r = await rig.run((run) => joinWithRetry(run, spec('w5', true)), {
      decide: (gate) => {
        asked.push(gate.title);
        expect(gate.options?.map((o) => o.id)).toEqual(['retry', 'stop']);
        net().setAgentRunning('k8s-1', true);
        return { choice: 'retry' };
      },
    });
    expect(asked).toEqual(['w5 did not join (attempt 1)']);
    expect(r).toMatchObject({ node: 'w5', worker: true, already: false });
    expect(rig.doneSteps()).toEqual(['join w5 as a worker (attempt 2, new token)']);
    expect(net().tokens()).toHaveLength(3);
    expect(rig.sim.state.node('w5').role).toBe('worker');
  });

  it('stops when told to, saying the node still runs on its own', async () => {
    rig.sim.inject({ node: 'x6', match: 'microk8s join', kind: 'fail', exitCode: 1, stderr: 'Connection failed. Invalid token (500).' });
    const err = await rejectionOf(rig.run((run) => joinWithRetry(run, spec('x6')), { decide: () => ({ choice: 'stop' }) }), RunbookFailure);
    expect(err.message).toMatch(/^Stopped after a failed join: .* x6 is not in the cluster; it still runs MicroK8s on its own\.$/s);
  });

  it('waits until kubectl shows the node as wanted, and says what it shows when the time is up', async () => {
    const seen = await rig.run((run) => waitForNode(run, 'k8s-1', 'k8s-4', 'ready', 20_000));
    expect(seen).toMatchObject({ name: 'k8s-4', ready: true });
    const err = await rejectionOf(rig.run((run) => waitForNode(run, 'k8s-2', 'k8s-4', 'gone', 300)), RunbookFailure);
    expect(err.message).toBe('k8s-4 did not become gone within 0 s (kubectl on k8s-2 shows it Ready).');
    expect(new Set(rig.commands('k8s-2'))).toEqual(new Set(['microk8s kubectl get nodes -o json']));
  });

  it('leaves and removes a member: leave, NotReady, remove-node on the controller, gone; repeats find it done', async () => {
    expect(await rig.run((run) => leaveIfJoined(run, 'k8s-4', 'k8s-1'))).toBe('left');
    expect(rig.commands('k8s-4')).toContain('microk8s leave');
    expect(await rig.run((run) => waitForNode(run, 'k8s-1', 'k8s-4', 'not-ready', 20_000))).toMatchObject({ ready: false });
    expect(await rig.run((run) => leaveIfJoined(run, 'k8s-4', 'k8s-1'))).toBe('not-joined');
    expect(rig.commands('k8s-4').includes('microk8s leave')).toBe(false);
    expect(await rig.run((run) => removeNodeFrom(run, 'k8s-1', 'k8s-4', false))).toBe('removed');
    expect(rig.commands('k8s-1')).toEqual(['microk8s remove-node k8s-4']);
    expect(await rig.run((run) => waitForNode(run, 'k8s-1', 'k8s-4', 'gone', 20_000))).toBeUndefined();
    expect(await rig.run((run) => removeNodeFrom(run, 'k8s-1', 'k8s-4', false))).toBe('already-gone');
    const m = await rig.run((run) => settleMembership(run, 'k8s-1', (now) => voters(now).length === 3, 20_000));
    expect(m.members.some((x) => x.node === 'k8s-4')).toBe(false);
  });
});
