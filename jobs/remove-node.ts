import * as z from 'zod';
import { NodeName } from '../src/commands/validators.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { drainStep } from '../src/ops/drain.ts';
import {
  cordonStep,
  describeRemoveNode,
  forceIfUnreachable,
  goneStep,
  leaveStep,
  notReadyStep,
  precheckRemoveNode,
  preflightRemoveStep,
  removeNodeApproval,
  removeNodeDryPlan,
  removePlan,
  removeStep,
  titles,
  validateRemoveNode,
} from '../src/ops/remove-node.ts';

const Args = z.object({ node: NodeName, force: z.boolean().optional(), iUnderstandQuorumLoss: z.boolean().optional() });

/**
 * Remove a node — the seed's 删除节点 and 使用 HA: drain it, `microk8s leave` on it, wait until
 * Kubernetes marks it NotReady, then `microk8s remove-node <node>` on a remaining control-plane
 * node. A node that cannot be reached is removed only with `--force` (destructive approval).
 */
export default defineRunbook(
  {
    verb: 'remove-node',
    usage: 'remove-node <node> [--force] [--i-understand-quorum-loss]',
    example: 'remove-node k8s-3',
    summary: 'Drain a node, make it leave, and remove it from the cluster (--force for a node that is gone)',
    positional: ['node'],
    flags: {
      force: { key: 'force', type: 'boolean', describe: 'the node is gone for good: unregister it without `leave` (destructive approval)' },
      'i-understand-quorum-loss': { key: 'iUnderstandQuorumLoss', type: 'boolean', describe: 'allow a removal that leaves fewer than two datastore voters (still approved)' },
    },
    args: Args,
    mutating: true,
    validate: validateRemoveNode,
    precheck: precheckRemoveNode,
    plan: ({ node, force }, cluster) => removeNodeDryPlan(node, force === true, cluster),
  },
  async (run, { node, force: forceFlag, iUnderstandQuorumLoss }) => {
    // 0. Preflight: the node's role, whether it answers, and what its removal does to the quorum.
    const pre = await preflightRemoveStep(run, node, iUnderstandQuorumLoss === true);

    // An unreachable node cannot leave: stop, or go on with --force (its own destructive approval).
    const force = await forceIfUnreachable(run, pre, forceFlag === true);
    run.setPlan(removePlan(node, pre.controller, force, pre.reachable));
    await run.approvePlan(removeNodeApproval(run, pre, force));

    // Every cluster-wide command runs on the control-plane node the preflight chose (never the node, never a worker).
    if (pre.reachable) {
      // 1. Drain, 2. leave, 3. NotReady — the graceful way.
      await drainStep(run, [node], () => pre.controller, titles(node).drain);
      if (await leaveStep(run, pre, force)) await notReadyStep(run, pre);
    } else {
      await cordonStep(run, pre);
    }

    // 4. remove-node on a remaining control-plane node.
    await removeStep(run, pre, force);

    // 5. Gone from Kubernetes and from the datastore; a stand-by took the voter's seat.
    await goneStep(run, pre);
  },
  { describeState: (run, { node }) => describeRemoveNode(run, node) },
);
