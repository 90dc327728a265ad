/** add-node's guard against a node a quorum recovery declared lost (src/ops/lost-nodes.ts); the marks themselves are test/store/lost-nodes.test.ts. */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { refuseLostNode } from '../../src/ops/lost-nodes.ts';
import { markLost, readLost, type LostNode } from '../../src/store/lost-nodes.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const OLD = ['10.0.0.11:19001', '10.0.0.12:19001', '10.0.0.13:19001'];
const lost = (node: string, address: string): LostNode => ({ node, address, oldMembers: OLD, byJob: '17', at: 1_700_000_000_000 });

describe('refuseLostNode', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }, { name: 'k8s-4', joined: false }] });

  it('refuses to add a lost node whose datastore still names the old cluster, and keeps its mark', async () => {
    await markLost(rig.redis, rig.cluster.name, [lost('k8s-2', '10.0.0.12:19001')]);
    const err = await rejectionOf(rig.run((run) => refuseLostNode(run, 'k8s-2')), RunbookFailure);
    expect(err.message).toMatch(/^k8s-2 was declared lost by recover-quorum job 17, and its datastore still names the old cluster \(10\.0\.0\.1\d:19001(, 10\.0\.0\.1\d:19001)+\): .* before `add-node k8s-2`\. Nothing was changed\.$/);
    expect(rig.commands('k8s-2')).toEqual(['cat /var/snap/microk8s/current/var/kubernetes/backend/cluster.yaml']);
    expect((await readLost(rig.redis, rig.cluster.name)).has('k8s-2')).toBe(true);
  });

  it('refuses one whose datastore cannot be read', async () => {
    await rig.sim.setDown('k8s-2', true);
    try {
      const err = await rejectionOf(rig.run((run) => refuseLostNode(run, 'k8s-2')), RunbookFailure);
      expect(err.message).toMatch(/^k8s-2 was declared lost by recover-quorum job 17 and its datastore cannot be read \(.+\)\. Reinstall MicroK8s on it before adding it\. Nothing was changed\.$/s);
    } finally {
      await rig.sim.setDown('k8s-2', false);
    }
  });

  it('lets a reinstalled node through and clears its mark; a node never marked is not even read', async () => {
    await markLost(rig.redis, rig.cluster.name, [lost('k8s-4', '10.0.0.14:19001')]);
    await rig.run((run) => refuseLostNode(run, 'k8s-4'));
    expect(rig.commands('k8s-4')).toHaveLength(1);
    expect((await readLost(rig.redis, rig.cluster.name)).has('k8s-4')).toBe(false);
    await rig.run((run) => refuseLostNode(run, 'k8s-3'));
    expect(rig.commands()).toEqual([]);
  });
});
