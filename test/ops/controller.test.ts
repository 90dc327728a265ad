/** The one control-plane picker (src/ops/controller.ts): candidates, order, and what makes a node fit to run cluster commands. */
import { describe, expect, it } from 'vitest';
import type { KubeNode } from '../../src/microk8s/types.ts';
import { chooseControlPlane, controlPlaneCandidates, displayController } from '../../src/ops/controller.ts';
import { SshError } from '../../src/ssh/errors.ts';

const inventory = {
  nodes: [
    { name: 'k8s-1', role: 'control-plane' as const },
    { name: 'k8s-2', role: 'control-plane' as const },
    { name: 'k8s-3', role: 'control-plane' as const },
    { name: 'w1', role: 'worker' as const },
  ],
};

function kube(name: string, ready = true, role: KubeNode['role'] = 'control-plane'): KubeNode {
  return { name, ready, role, unschedulable: false, kubeletVersion: 'v1.23.3', internalIp: `10.0.0.${name.slice(-1)}` } as KubeNode;
}

/** What each node answers to `kubectl get nodes` (an Error: it cannot be reached). */
function answers(views: Record<string, KubeNode[] | Error>) {
  const asked: string[] = [];
  const read = async (node: string): Promise<KubeNode[]> => {
    asked.push(node);
    const v = views[node];
    if (v === undefined || v instanceof Error) throw v ?? new SshError(`${node}: no route to host`, node);
    return v;
  };
  return { read, asked };
}

const cluster = [kube('k8s-1'), kube('k8s-2'), kube('k8s-3'), kube('w1', true, 'worker')];

describe('controlPlaneCandidates', () => {
  it('lists the inventory control-plane nodes, without the excluded ones, the avoided one last', () => {
    expect(controlPlaneCandidates(inventory)).toEqual(['k8s-1', 'k8s-2', 'k8s-3']);
    expect(controlPlaneCandidates(inventory, { exclude: ['k8s-2'] })).toEqual(['k8s-1', 'k8s-3']);
    expect(controlPlaneCandidates(inventory, { avoid: 'k8s-1' })).toEqual(['k8s-2', 'k8s-3', 'k8s-1']);
    expect(displayController(inventory.nodes, 'k8s-1')).toBe('k8s-2');
    expect(displayController([{ name: 'solo', role: 'control-plane' }], 'solo')).toBe('solo');
  });
});

describe('chooseControlPlane', () => {
  it('takes the first candidate that answers, is Ready, is no worker and lists the cluster', async () => {
    const { read, asked } = answers({ 'k8s-1': new SshError('connect ECONNREFUSED', 'k8s-1'), 'k8s-2': [kube('k8s-1'), kube('k8s-2', false), kube('k8s-3')], 'k8s-3': cluster });
    const problems: string[] = [];
    const choice = await chooseControlPlane(inventory, read, {}, problems);
    expect(choice?.name).toBe('k8s-3');
    expect(asked).toEqual(['k8s-1', 'k8s-2', 'k8s-3']);
    expect(problems).toEqual(['k8s-1: connect ECONNREFUSED', 'k8s-2 is NotReady']);
  });

  it('never picks an excluded node, and the avoided one only when no other will do', async () => {
    const { read } = answers({ 'k8s-1': cluster, 'k8s-2': cluster, 'k8s-3': cluster });
    expect((await chooseControlPlane(inventory, read, { exclude: ['k8s-1'] }, []))?.name).toBe('k8s-2');
    expect((await chooseControlPlane(inventory, read, { avoid: 'k8s-1' }, []))?.name).toBe('k8s-2');
    const onlyAvoided = answers({ 'k8s-1': cluster });
    expect((await chooseControlPlane(inventory, onlyAvoided.read, { avoid: 'k8s-1' }, []))?.name).toBe('k8s-1');
  });

  it('a host alone in a cluster of its own is taken only when none lists the others, and never with allowAlone: false', async () => {
    const alone = { 'k8s-1': [kube('k8s-1')], 'k8s-2': cluster };
    expect((await chooseControlPlane(inventory, answers(alone).read, {}, []))?.name).toBe('k8s-2');
    const single = { 'k8s-1': [kube('k8s-1')] };
    expect((await chooseControlPlane(inventory, answers(single).read, {}, []))?.name).toBe('k8s-1');
    const problems: string[] = [];
    expect(await chooseControlPlane(inventory, answers(single).read, { allowAlone: false }, problems)).toBeUndefined();
    expect(problems).toContain('k8s-1 runs a cluster of its own');
  });

  it('refuses a node that is a worker or not in the list it answers', async () => {
    const problems: string[] = [];
    const views = { 'k8s-1': [kube('k8s-1', true, 'worker'), kube('k8s-2')], 'k8s-2': [kube('k8s-1')], 'k8s-3': new SshError('timeout', 'k8s-3') };
    expect(await chooseControlPlane(inventory, answers(views).read, {}, problems)).toBeUndefined();
    expect(problems).toEqual(['k8s-1 is a worker', 'k8s-2 is not in the cluster it answers for', 'k8s-3: timeout']);
  });
});
