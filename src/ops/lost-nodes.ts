/**
 * add-node's guard against a node a quorum recovery declared lost (the marks are
 * src/store/lost-nodes.ts; recover-quorum writes them with `markLostMembers`,
 * src/ops/recover-quorum-steps.ts).
 */
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import { clearLost, readLost, stillNamesOldCluster } from '../store/lost-nodes.ts';

/**
 * add-node's guard: a node a recovery declared lost joins only after a reinstall — its datastore
 * must no longer name the old cluster. Then its mark is cleared.
 */
export async function refuseLostNode(run: RunContext, node: string): Promise<void> {
  const lost = (await readLost(run.redis, run.cluster.name)).get(node);
  if (!lost) return;
  let addresses: string[];
  try {
    addresses = (await run.node(node).backend().clusterYaml()).cluster.members.map((m) => m.address);
  } catch (err) {
    throw new RunbookFailure(`${node} was declared lost by recover-quorum job ${lost.byJob} and its datastore cannot be read (${errorText(err)}). Reinstall MicroK8s on it before adding it. Nothing was changed.`);
  }
  if (stillNamesOldCluster(lost, addresses)) {
    throw new RunbookFailure(
      `${node} was declared lost by recover-quorum job ${lost.byJob}, and its datastore still names the old cluster (${addresses.join(', ')}): started as it is, it would try to rejoin with the old membership. Reinstall MicroK8s on it (\`sudo snap remove --purge microk8s\`, then install the cluster's channel) before \`add-node ${node}\`. Nothing was changed.`,
    );
  }
  await clearLost(run.redis, run.cluster.name, node);
}
