import * as z from 'zod';
import { NodeName } from '../src/commands/validators.ts';
import { nodeInCluster } from '../src/config/inventory.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { RunbookFailure } from '../src/engine/errors.ts';
import { backupDatastore, backupPlanStep, describeBackup } from '../src/ops/backup.ts';
import { pickControlPlane, requireKubeNode } from '../src/ops/controller.ts';

/**
 * Back up the datastore on its own: tar the dqlite backend of a Ready control-plane node, fetch
 * it to the bot host over SFTP, check sha256 and size on both ends, keep the cluster's newest
 * `backups.keep` (the same step `upgrade` and `upgrade-cluster` take before the first node).
 */
export default defineRunbook(
  {
    verb: 'backup',
    usage: 'backup [--node N]',
    example: 'backup --node k8s-1',
    summary: 'Back up the dqlite datastore of a control-plane node to the bot host (sha256 checked on both ends; the newest K are kept; see `backups`)',
    positional: [],
    flags: { node: { key: 'node', type: 'string', describe: 'the control-plane node to back up (default: a Ready one the bot picks)' } },
    args: z.object({ node: NodeName.optional() }),
    mutating: true,
    validate: ({ node }, cluster) => {
      if (node === undefined) return undefined;
      const unknown = nodeInCluster(cluster, node);
      if (unknown) return unknown;
      const role = cluster.nodes.find((n) => n.name === node)?.role;
      return role === 'control-plane' ? undefined : `${node} is a worker: it has no datastore. Back up a control-plane node (${cluster.nodes.filter((n) => n.role === 'control-plane').map((n) => n.name).join(', ')}).`;
    },
    plan: ({ node }, cluster) => [
      { title: 'choose the node to back up', node: node ?? '(a Ready control-plane node)', commands: ['microk8s kubectl get nodes -o json'] },
      backupPlanStep(node ?? '<chosen node>', cluster.backups.keep),
    ],
  },
  async (run, { node }) => {
    const chosen = await run.step('choose the node to back up', async () => {
      const controller = await pickControlPlane(run);
      if (node === undefined) return controller.name;
      if (!requireKubeNode(controller.nodes, node).ready) throw new RunbookFailure(`${node} is NotReady: its datastore may be behind. Back up a Ready control-plane node, or leave out --node.`);
      return node;
    }, { describe: (n) => n });
    run.setPlan([run.plan()[0]!, backupPlanStep(chosen, run.cluster.backups.keep)]);
    await run.approvePlan({
      title: `Back up the datastore of ${run.cluster.name} from ${chosen}`,
      what: `Tar the dqlite backend on ${chosen}, fetch it here, check its sha256, remove it from the node, and keep the newest ${run.cluster.backups.keep} backups of ${run.cluster.name} (older ones are deleted).`,
      nodes: [chosen],
    });
    await run.step('back up the datastore', () => backupDatastore(run, chosen), { describe: describeBackup });
  },
);
