import * as z from 'zod';
import { NodeName } from '../src/commands/validators.ts';
import { defineRunbook } from '../src/engine/define.ts';
import {
  addNodeApproval,
  addNodeDryPlan,
  addNodePlan,
  describeAddNode,
  notJoinedYet,
  precheckAddNode,
  preflightAddStep,
  readyStep,
  reportHaStep,
  titles,
  validateAddNode,
} from '../src/ops/add-node.ts';
import { joinWithRetry } from '../src/ops/membership.ts';

const Args = z.object({ node: NodeName, worker: z.boolean().optional() });

/**
 * Add a node — the seed's 添加节点 / Worker 节点: `microk8s add-node` on a control-plane node
 * of the cluster, `microk8s join` on the new node (as a worker with --worker), wait until it
 * is Ready, report the HA state.
 */
export default defineRunbook(
  {
    verb: 'add-node',
    usage: 'add-node <node> [--worker]',
    example: 'add-node k8s-4',
    summary: 'Join a node (in the inventory, not yet in the cluster) as a control-plane node or, with --worker, as a worker',
    positional: ['node'],
    flags: { worker: { key: 'worker', type: 'boolean', describe: 'join as a worker (no control plane, no datastore copy; 1.23+)' } },
    args: Args,
    mutating: true,
    validate: validateAddNode,
    precheck: precheckAddNode,
    plan: ({ node, worker }, cluster) => addNodeDryPlan(node, worker === true, cluster),
  },
  async (run, { node, worker: workerFlag }) => {
    const worker = workerFlag === true;

    // 0. Preflight: nothing changes until every check passes.
    const pre = await preflightAddStep(run, node, worker);
    run.setPlan(addNodePlan(node, worker, pre.controller, pre.controllerIp));

    await run.approvePlan({ ...addNodeApproval(run, pre), recheck: () => notJoinedYet(run, node) });

    // 1. add-node on the controller and join on the node, in one step (the token never leaves it).
    await joinWithRetry(run, { node, worker, controller: pre.controller, controllerIp: pre.controllerIp }, titles(node, worker).join);

    // 2. Ready in Kubernetes.
    await readyStep(run, node, worker);

    // 3. The new HA state: wait for dqlite to list the new member and fill the voter seats.
    await reportHaStep(run, node, worker);
  },
  { describeState: (run, { node }) => describeAddNode(run, node) },
);
