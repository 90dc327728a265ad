import * as z from 'zod';
import { nodeInCluster } from '../config/inventory.ts';
import { NodeName } from './validators.ts';
import type { PlanStep, VerbSpec } from '../engine/runbook.ts';
import { displayController } from '../ops/controller.ts';

/** The arguments of `<verb> <node>`. */
export const NodeArgs = z.object({ node: NodeName });

/**
 * The spec of a verb that changes one node through kubectl on a control-plane node (cordon,
 * uncordon, drain): `<verb> <node>`, mutating, the node must be in the inventory. `steps`
 * writes the plan for the node, given the control-plane node shown for the kubectl commands.
 */
export function kubectlNodeVerb(
  spec: Pick<VerbSpec, 'verb' | 'usage' | 'example' | 'summary'> & { steps: (node: string, controller: string) => PlanStep[] },
): VerbSpec<typeof NodeArgs> & { mutating: true } {
  const { steps, ...text } = spec;
  return {
    ...text,
    positional: ['node'],
    args: NodeArgs,
    mutating: true,
    validate: ({ node }, cluster) => nodeInCluster(cluster, node),
    plan: ({ node }, cluster) => steps(node, displayController(cluster.nodes, node)),
  };
}
