/**
 * The verification workload (src/ops/verify-workload.ts): deploy, curl every node's NodePort from
 * another node, require more than one pod, and always delete it — also when a check failed.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../../src/config/inventory.ts';
import { RunbookFailure } from '../../src/engine/errors.ts';
import type { KubeNode } from '../../src/microk8s/types.ts';
import { curlPairs, describeAnswers, nodeAddress, nodePortUrl, runVerifyWorkload, verifyPlan, verifyTitles, verifyWorkloadName } from '../../src/ops/verify-workload.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('verification workload: addresses, pairs, words', () => {
  const cluster = { nodes: [{ name: 'a', host: '127.0.0.1', role: 'control-plane' }, { name: 'b', host: 'b.example', role: 'worker' }, { name: 'win', host: 'w', role: 'worker', os: 'windows' }] } as ClusterConfig;

  it('curls each Linux node from the next one, and a lone node from itself', () => {
    expect(curlPairs(cluster)).toEqual([{ target: 'a', from: 'b' }, { target: 'b', from: 'a' }]);
    expect(curlPairs({ nodes: [cluster.nodes[0]!] } as ClusterConfig)).toEqual([{ target: 'a', from: 'a' }]);
  });

  it('reaches a node at its InternalIP, else its inventory host unless that is loopback; brackets IPv6', () => {
    const kube = [{ name: 'a', internalIp: 'fd00::1' }] as KubeNode[];
    expect(nodeAddress(cluster, 'a', kube)).toBe('fd00::1');
    expect(nodeAddress(cluster, 'a', [])).toBeUndefined();
    expect(nodeAddress(cluster, 'b', [])).toBe('b.example');
    expect(nodePortUrl('fd00::1', 30080)).toBe('http://[fd00::1]:30080/');
    expect(nodePortUrl('10.0.0.1', 30080)).toBe('http://10.0.0.1:30080/');
  });

  it('names the workload after the job and scales it to one more than the nodes', () => {
    expect(verifyWorkloadName('42')).toBe('microbot-verify-42');
    const plan = verifyPlan(cluster, 'microbot-verify-42');
    expect(plan.map((s) => s.title)).toEqual(Object.values(verifyTitles('microbot-verify-42')));
    expect(plan[0]?.commands).toContain('microk8s kubectl scale deploy microbot-verify-42 --replicas 4');
    expect(plan[3]?.commands.filter((c) => c.startsWith('on b: curl'))).toHaveLength(1);
    expect(describeAnswers({ name: 'x', nodePort: 1, pods: ['p'], answers: [
      { node: 'a', from: 'b', url: 'http://10.0.0.1:30080/', pod: 'p', error: null },
      { node: 'a', from: 'b', url: 'http://10.0.0.1:30080/', pod: null, error: 'curl exit 7' },
      { node: 'b', from: 'a', url: '', pod: null, error: null },
    ] })).toBe('a (10.0.0.1, from b): p, (curl exit 7) · b (from a): (no answer)');
  });
});

describe('runVerifyWorkload', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }] });
  const left = (name: string) => rig.sim.state.nodeList().flatMap((n) => rig.sim.state.podsOn(n.name)).filter((p) => p.app === name);

  it('deploys, curls every node twice from another node, sees several pods answer, and deletes it', async () => {
    const report = await rig.run((run) => runVerifyWorkload(run, verifyWorkloadName(run.jobId)));
    const name = verifyWorkloadName(rig.jobId);
    const t = verifyTitles(name);
    expect(rig.doneSteps()).toEqual([t.create, t.wait, t.nodePort, t.curl, t.delete]);
    expect(report.answers.map((a) => `${a.node}<${a.from}`)).toEqual(['k8s-1<k8s-2', 'k8s-1<k8s-2', 'k8s-2<k8s-3', 'k8s-2<k8s-3', 'k8s-3<k8s-1', 'k8s-3<k8s-1']);
    expect(report.answers.every((a) => a.pod !== null && a.url === `http://10.0.0.1${a.node.slice(-1)}:${report.nodePort}/`)).toBe(true);
    expect(report.pods.length).toBeGreaterThan(1);
    expect(rig.commands('k8s-2').filter((c) => c.startsWith('curl '))).toHaveLength(2);
    expect(left(name)).toEqual([]);
  });

  it('fails naming the node nobody answered on, and still deletes the workload', async () => {
    // the path k8s-1 → k8s-3 is cut: curl there cannot connect (k8s-3 is the node k8s-1 curls)
    rig.sim.inject({ node: 'k8s-1', match: /^curl .*10\.0\.0\.13/, kind: 'fail', exitCode: 7, stderr: '', stdout: '' });
    const err = await rejectionOf(rig.run((run) => runVerifyWorkload(run, verifyWorkloadName(run.jobId))), RunbookFailure);
    expect(err.message).toMatch(/^The verification workload failed: no pod answered on k8s-3\. Answers: k8s-1 \(10\.0\.0\.11, from k8s-2\): [^·]+ · k8s-2 [^·]+ · k8s-3 \(10\.0\.0\.13, from k8s-1\): \(.+\), \(.+\)\.$/);
    const name = verifyWorkloadName(rig.jobId);
    expect(rig.doneSteps().at(-1)).toBe(verifyTitles(name).delete);
    expect(left(name)).toEqual([]);
  });
});
