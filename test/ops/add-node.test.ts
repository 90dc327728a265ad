/**
 * add-node's steps (src/ops/add-node.ts): the inventory checks, the preflight over SSH and each
 * thing it refuses before any change, the HA prose, the re-check, the plan.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../../src/config/inventory.ts';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { addNodeApproval, addNodePlan, describeAddNode, haAfterText, notJoinedYet, preflightAdd, validateAddNode, type AddPreflight } from '../../src/ops/add-node.ts';
import { simMembership } from '../../src/sim/index.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('add-node: inventory checks and prose', () => {
  const cluster = { name: 'prod', nodes: [{ name: 'k8s-1', role: 'control-plane' }, { name: 'w1', role: 'worker' }, { name: 'win1', role: 'worker', os: 'windows' }] } as ClusterConfig;

  it('wants a known Linux node whose inventory role matches --worker', () => {
    expect(validateAddNode({ node: 'k8s-1' }, cluster)).toBeUndefined();
    expect(validateAddNode({ node: 'w1', worker: true }, cluster)).toBeUndefined();
    expect(validateAddNode({ node: 'k8s-9' }, cluster)).toBe("unknown node 'k8s-9' in cluster prod; its nodes are k8s-1, w1, win1");
    expect(validateAddNode({ node: 'win1', worker: true }, cluster)).toBe('win1 is a Windows node in the inventory; add-node joins Linux MicroK8s nodes only');
    expect(validateAddNode({ node: 'k8s-1', worker: true }, cluster)).toBe('k8s-1 is a control-plane node in the inventory; drop --worker, or make it `role: worker` in the inventory first');
    expect(validateAddNode({ node: 'w1' }, cluster)).toBe('w1 is a worker in the inventory; use `add-node w1 --worker`');
  });

  it('says what the join does to high availability', () => {
    const pre = (p: Partial<AddPreflight>) => ({ node: 'n', worker: false, haBefore: false, controlPlanesAfter: 1, ...p }) as AddPreflight;
    expect(haAfterText(pre({ worker: true, haBefore: true }))).toBe('Workers hold no datastore copy: high-availability stays yes.');
    expect(haAfterText(pre({ controlPlanesAfter: 3 }))).toBe('With 3 control-plane nodes the datastore gets 3 voters: high-availability becomes yes.');
    expect(haAfterText(pre({ haBefore: true, controlPlanesAfter: 4 }))).toBe('High-availability stays yes; n becomes a stand-by or spare.');
    expect(haAfterText(pre({ haBefore: true, controlPlanesAfter: 3 }))).toBe('High-availability stays yes; n becomes a voter.');
    expect(haAfterText(pre({ controlPlanesAfter: 2 }))).toBe('With 2 control-plane node(s) high-availability stays no (it needs 3).');
  });

  it('plans the join with the controller\'s address and --worker only for a worker', () => {
    const plan = addNodePlan('w1', true, 'k8s-1', '10.0.0.11');
    expect(plan.map((s) => [s.title, s.node])).toEqual([
      ['preflight: w1 can join as a worker', 'w1'],
      ['join w1 as a worker', 'w1'],
      ['wait for w1 to be Ready', 'k8s-1'],
      ['report the new HA state', 'k8s-1'],
    ]);
    expect(plan[1]?.commands).toEqual(['(k8s-1) microk8s add-node --token-ttl 300', 'microk8s join 10.0.0.11:25000/<token>/<fingerprint> --worker']);
    expect(addNodePlan('k8s-4', false, 'k8s-1')[1]?.commands[1]).toBe('microk8s join <controller-ip>:25000/<token>/<fingerprint>');
  });
});

describe('preflightAdd', () => {
  const rig = useOpsRig({
    nodes: [
      { name: 'k8s-1' },
      { name: 'k8s-2' },
      { name: 'k8s-3' },
      { name: 'k8s-4', joined: false },
      { name: 'k8s-5', joined: false, channel: '1.23/stable' },
      { name: 'w6', role: 'worker', joined: false },
      { name: 'k8s-7', joined: false, otherCluster: 'control-plane' },
    ],
  });
  const net = () => simMembership(rig.sim.state);
  afterEach(() => {
    net().setResolvable('k8s-4', 'k8s-2', true);
    net().setResolvable('k8s-1', 'k8s-4', true);
    net().setBlocked('k8s-4', '10.0.0.11', false);
  });

  it('checks a free host and reads what the join will change, without changing anything', async () => {
    const pre = await rig.run((run) => preflightAdd(run, 'k8s-4', false));
    expect(pre).toEqual({
      node: 'k8s-4', worker: false, controller: 'k8s-1', controllerIp: '10.0.0.11', channel: '1.22/stable', version: 'v1.22.3',
      votersBefore: 3, haBefore: true, controlPlanesAfter: 4, nodesBefore: ['k8s-1', 'k8s-2', 'k8s-3'],
    });
    const onNode = rig.commands('k8s-4');
    expect(onNode).toEqual(expect.arrayContaining(['snap list microk8s', 'microk8s status --format yaml', 'hostname', 'date +%s']));
    expect(onNode.some((c) => c.startsWith('nc -z') && c.includes('10.0.0.11 25000'))).toBe(true);
    expect(rig.commands().some((c) => /\b(join|add-node)\b/.test(c))).toBe(false);
    expect(addNodeApproval({ cluster: rig.cluster } as Parameters<typeof addNodeApproval>[0], pre)).toEqual({
      title: `Add k8s-4 to ${rig.cluster.name}`,
      what: 'Join k8s-4 as a control-plane node through k8s-1 (10.0.0.11:25000), wait until it is Ready. High-availability stays yes; k8s-4 becomes a stand-by or spare.',
      nodes: ['k8s-4'],
    });
  });

  it('refuses a node that is already in the cluster, on another channel, or a worker on a cluster older than 1.23', async () => {
    const message = async (node: string, worker = false) => (await rejectionOf(rig.run((run) => preflightAdd(run, node, worker)), RunbookFailure)).message;
    expect(await message('k8s-2')).toBe('k8s-2 is already in the cluster (kubectl on k8s-1 lists it Ready). Nothing was changed.');
    expect(await message('k8s-5')).toBe(
      'k8s-5 tracks 1.23/stable but the cluster tracks 1.22/stable (k8s-1). Refresh k8s-5 to 1.22/stable first (`sudo snap refresh microk8s --channel 1.22/stable`), then add it. Nothing was changed.',
    );
    expect(await message('w6', true)).toBe(
      'Worker nodes need MicroK8s 1.23 or newer; the cluster runs v1.22.3 (1.22/stable). Join w6 as a control-plane node or upgrade the cluster first. Nothing was changed.',
    );
    expect(await message('k8s-7')).toMatch(/^k8s-7 is already part of another cluster: its datastore lists .+\. Run `microk8s leave` on it first\. Nothing was changed\.$/);
  });

  it('refuses a host that cannot resolve the nodes, one the controller cannot resolve, and one that cannot reach the agent', async () => {
    net().setResolvable('k8s-4', 'k8s-2', false);
    expect((await rejectionOf(rig.run((run) => preflightAdd(run, 'k8s-4', false)), RunbookFailure)).message).toMatch(/^k8s-4 cannot resolve k8s-2 \(getent hosts\): /);
    net().setResolvable('k8s-4', 'k8s-2', true);
    net().setResolvable('k8s-1', 'k8s-4', false);
    expect((await rejectionOf(rig.run((run) => preflightAdd(run, 'k8s-4', false)), RunbookFailure)).message).toBe(
      'k8s-1 cannot resolve k8s-4 (getent hosts): add k8s-4 to DNS or /etc/hosts on every cluster node. Nothing was changed.',
    );
    net().setResolvable('k8s-1', 'k8s-4', true);
    net().setBlocked('k8s-4', '10.0.0.11', true);
    expect((await rejectionOf(rig.run((run) => preflightAdd(run, 'k8s-4', false)), RunbookFailure)).message).toMatch(
      /^k8s-4 cannot reach the cluster agent on k8s-1 \(10\.0\.0\.11:25000\): .+\. Open port 25000 \(and 16443, 19001\) between the nodes\. Nothing was changed\.$/,
    );
  });

  it('re-checks after the approval that the node did not join meanwhile, and describes what a failed job left', async () => {
    expect(await rig.run((run) => notJoinedYet(run, 'k8s-4'))).toBe('k8s-1');
    expect((await rejectionOf(rig.run((run) => notJoinedYet(run, 'k8s-3')), RunbookFailure)).message).toBe('k8s-3 joined the cluster meanwhile (kubectl on k8s-1 lists it). Nothing was done.');
    expect(await rig.run((run) => describeAddNode(run, 'k8s-4'))).toBe('k8s-4: not in the cluster; high-availability yes · voters k8s-1, k8s-2, k8s-3');
  });
});
