/** waitForLeaseRenewal (src/ops/heartbeat.ts): a renewal newer than the baseline, read from a control-plane node. */
import { describe, expect, it } from 'vitest';
import { NotReadyError } from '../../src/errors/user-facing.ts';
import { waitForLeaseRenewal } from '../../src/ops/heartbeat.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('waitForLeaseRenewal', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'w1', role: 'worker' }] });

  it('reads the lease from the controller until a renewal newer than the first reading', async () => {
    const r = await rig.run((run) => waitForLeaseRenewal(run, 'k8s-1', 'w1', 20_000));
    expect(r.renewed).toBeGreaterThan(r.baseline);
    const reads = rig.commands('k8s-1');
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(new Set(reads)).toEqual(new Set(['microk8s kubectl get lease w1 -n kube-node-lease -o json']));
    expect(rig.commands('w1')).toEqual([]);
  });

  it('gives up when the kubelet stops renewing, saying since when', async () => {
    const node = rig.sim.state.node('w1');
    node.ready = false; // its kubelet no longer reaches the API: the lease freezes
    try {
      const err = await rejectionOf(rig.run((run) => waitForLeaseRenewal(run, 'k8s-2', 'w1', 300)), NotReadyError);
      expect(err.message).toMatch(/^w1 did not show a kubelet heartbeat within 0 s: its kubelet has not renewed its lease since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(err.node).toBe('w1');
    } finally {
      node.ready = true;
    }
  });

  it('says the lease could not be read, with the controller\'s error, when kubectl never answers', async () => {
    rig.sim.inject({ node: 'k8s-2', match: 'get lease', kind: 'fail', exitCode: 1, stderr: 'The connection to the server 127.0.0.1:16443 was refused - did you specify the right host or port?' });
    const err = await rejectionOf(rig.run((run) => waitForLeaseRenewal(run, 'k8s-2', 'w1', 300)), NotReadyError);
    expect(err.message).toMatch(/^w1 did not show a kubelet heartbeat within 0 s: its lease could not be read from k8s-2 \(.*connection to the server 127\.0\.0\.1:16443 was refused.*\)$/s);
  });
});
