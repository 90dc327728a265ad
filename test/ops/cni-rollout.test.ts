/**
 * The calico-node rollout wait (src/ops/cni-rollout.ts): `rollout status` bounded by the timeout,
 * then the DaemonSet's image and a Ready pod of it on every node; each way it fails says why.
 */
import { describe, expect, it } from 'vitest';
import { CheckFailedError } from '../../src/errors/user-facing.ts';
import { awaitCalicoRollout } from '../../src/ops/cni-rollout.ts';
import { simCalico } from '../../src/sim/calico.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const NODES = ['k8s-1', 'k8s-2', 'k8s-3'];

describe('awaitCalicoRollout', () => {
  const rig = useOpsRig({ nodes: NODES.map((name) => ({ name, channel: '1.26/stable' })) });
  const image = () => simCalico(rig.sim.state).image();
  const calicoPod = (node: string) => rig.sim.state.pods.find((p) => p.app === 'calico-node' && p.nodeName === node)!;

  it('waits for the rollout on the controller, then says every node runs the image', async () => {
    expect(image()).toBe('docker.io/calico/node:v3.23.5');
    const r = await rig.run((run) => awaitCalicoRollout(run, 'k8s-1', image(), NODES, 5));
    expect(r).toBe('3/3 calico-node pods updated, 3 available; k8s-1, k8s-2, k8s-3 run docker.io/calico/node:v3.23.5');
    expect(rig.commands('k8s-1')).toEqual([
      'microk8s kubectl rollout status ds/calico-node -n kube-system --timeout=5s',
      'microk8s kubectl get ds calico-node -n kube-system -o json',
      'microk8s kubectl get pods -n kube-system -l k8s-app=calico-node -o json',
    ]);
    expect(rig.commands('k8s-2')).toEqual([]);
  });

  it('fails when the DaemonSet names another image than the one applied', async () => {
    const err = await rejectionOf(rig.run((run) => awaitCalicoRollout(run, 'k8s-2', 'docker.io/calico/node:v3.25.0', NODES, 5)), CheckFailedError);
    expect(err.message).toBe('the calico-node DaemonSet runs docker.io/calico/node:v3.23.5, not docker.io/calico/node:v3.25.0');
    expect(rig.commands('k8s-2').some((c) => c.includes('get pods'))).toBe(false);
  });

  it('fails when the DaemonSet is gone', async () => {
    rig.sim.inject({ node: 'k8s-1', match: 'get ds calico-node', kind: 'fail', exitCode: 1, stderr: 'Error from server (NotFound): daemonsets.apps "calico-node" not found\n' });
    const err = await rejectionOf(rig.run((run) => awaitCalicoRollout(run, 'k8s-1', image(), NODES, 5)), CheckFailedError);
    expect(err.message).toBe('the calico-node DaemonSet is gone');
  });

  it('names the nodes without a Ready pod of the image', async () => {
    const img = image();
    const pod = (node: string, ready: boolean) => ({
      metadata: { name: `calico-node-${node}` },
      spec: { nodeName: node, containers: [{ name: 'calico-node', image: img }] },
      status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    const list = { apiVersion: 'v1', kind: 'List', items: [pod('k8s-1', true), pod('k8s-3', false)] };
    rig.sim.inject({ node: 'k8s-1', match: 'get pods -n kube-system -l k8s-app=calico-node', kind: 'fail', exitCode: 0, stdout: JSON.stringify(list), stderr: '' });
    const err = await rejectionOf(rig.run((run) => awaitCalicoRollout(run, 'k8s-1', img, NODES, 5)), CheckFailedError);
    expect(err.message).toBe(`calico-node on k8s-2, k8s-3 does not run a Ready ${img} pod`);
  });

  it('gives up at the timeout when a pod never becomes available, with kubectl\'s words', async () => {
    const pod = calicoPod('k8s-3');
    pod.phase = 'Pending';
    try {
      const started = Date.now();
      const err = await rejectionOf(rig.run((run) => awaitCalicoRollout(run, 'k8s-1', image(), NODES, 1)), Error);
      expect(err.message).toContain('timed out waiting for the condition');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(rig.commands('k8s-1')).toEqual(['microk8s kubectl rollout status ds/calico-node -n kube-system --timeout=1s']);
    } finally {
      pod.phase = 'Running';
    }
  });
});
