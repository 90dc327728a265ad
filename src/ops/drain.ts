/**
 * The drain — the seed's `microk8s kubectl drain <node> --ignore-daemonsets`: cordon the node and
 * evict its pods to the others, from a control-plane node, within the cluster's drainTimeout.
 * One step for every runbook that drains (upgrade, rollback, remove-node, enable-ha), and the
 * same command behind the `drain` verb.
 */
import type { RunContext } from '../engine/context.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { nodesLabel, onEach, perNode } from './batch.ts';

/** The drain as a plan shows it. */
export function drainCommand(node: string): string {
  return `microk8s kubectl drain ${node} --ignore-daemonsets --delete-emptydir-data --timeout=<drainTimeout>`;
}

/** The drain step as a plan line. */
export function drainPlanStep(node: string, controller: string, title = `drain ${node}`): PlanStep {
  return { title, node: controller, commands: [drainCommand(node)] };
}

/** Drains `node` from `controller` (the cluster's drainTimeout): the pods evicted. */
export async function drain(run: RunContext, controller: string, node: string): Promise<string[]> {
  return (await run.node(controller).drain(node, Math.ceil(run.cluster.policy.drainTimeout / 1000))).evicted;
}

/**
 * The drain step of a node, or of a batch of nodes at once ("drain w1, w3"): each from the
 * control-plane node `controllerOf` names for it. The pods evicted, by node. Idempotent: a
 * drained node drains again with nothing to evict.
 */
export async function drainStep(
  run: RunContext,
  nodes: readonly string[],
  controllerOf: (node: string) => string | Promise<string>,
  title = `drain ${nodesLabel(nodes)}`,
): Promise<Record<string, string[]>> {
  return run.step(title, () => onEach(nodes, async (node) => drain(run, await controllerOf(node), node)), {
    describe: (r) => perNode(nodes, r, (evicted) => `${evicted.length} pod(s) evicted`),
  });
}
