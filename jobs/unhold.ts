import * as z from 'zod';
import { NodeOrAll } from '../src/commands/validators.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { holdTargets, validateHoldTarget } from '../src/ops/holds.ts';
import { describeRecord, describeSnapStates, recordNodeState } from '../src/ops/node-records.ts';

/** Remove the refresh hold of MicroK8s on a node or all nodes (`snap refresh --unhold microk8s`). */
export default defineRunbook(
  {
    verb: 'unhold',
    usage: 'unhold <node|all>',
    example: 'unhold k8s-1',
    summary: 'Remove the snap refresh hold of MicroK8s on a node (or all): snapd may refresh it again on its schedule',
    positional: ['node'],
    args: z.object({ node: NodeOrAll }),
    mutating: true,
    validate: ({ node }, cluster) => validateHoldTarget(cluster, node),
    plan: ({ node }, cluster) =>
      holdTargets(cluster, node).map((n) => ({ title: `remove the refresh hold on ${n}`, node: n, commands: ['sudo snap refresh --unhold microk8s', 'snap list microk8s'] })),
  },
  async (run, { node }) => {
    const nodes = holdTargets(run.cluster, node);
    await run.approvePlan({
      title: `Remove the refresh hold of MicroK8s on ${node === 'all' ? `all ${nodes.length} nodes` : node}`,
      what: `Run \`snap refresh --unhold microk8s\` on ${nodes.join(', ')}: snapd may then refresh MicroK8s there on its own schedule, within the channel each node tracks.`,
      nodes,
    });
    for (const n of nodes) {
      await run.step(`remove the refresh hold on ${n}`, async () => {
        await run.node(n).unhold();
        const record = await recordNodeState(run, n, { scope: 'hold' });
        return `recorded ${describeRecord(record)}${record.drift.length > 0 ? ` · ⚠️ changed outside the bot: ${record.drift.join('; ')}` : ''}`;
      }, { describe: (r) => r });
    }
  },
  { describeState: (run, { node }) => describeSnapStates(run, holdTargets(run.cluster, node)) },
);
