import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { MicroK8sNode } from '../microk8s/node.ts';
import type { KubeNode } from '../microk8s/types.ts';

export interface Controller {
  /** The control-plane node that runs kubectl for this job. */
  name: string;
  ops: MicroK8sNode;
  /** `kubectl get nodes` as that node saw it when chosen. */
  nodes: KubeNode[];
}

/**
 * Picks a Ready control-plane node to run cluster-wide commands (kubectl) from:
 * never a worker, and not `avoid` (the node being upgraded) unless it is the
 * only control-plane node.
 */
export async function pickController(run: RunContext, avoid?: string): Promise<Controller> {
  const candidates = run.cluster.nodes.filter((n) => n.role === 'control-plane');
  const ordered = [...candidates.filter((n) => n.name !== avoid), ...candidates.filter((n) => n.name === avoid)];
  const problems: string[] = [];
  for (const candidate of ordered) {
    try {
      const ops = run.node(candidate.name);
      const nodes = await ops.nodes();
      const self = nodes.find((n) => n.name === candidate.name);
      if (self && !self.ready) {
        problems.push(`${candidate.name} is NotReady`);
        continue;
      }
      return { name: candidate.name, ops, nodes };
    } catch (err) {
      problems.push(`${candidate.name}: ${errorText(err)}`);
    }
  }
  throw new RunbookFailure(`No control-plane node can run kubectl: ${problems.join('; ')}`);
}

/** Kubernetes' view of one node, or a failure naming it. */
export function requireKubeNode(nodes: KubeNode[], name: string): KubeNode {
  const node = nodes.find((n) => n.name === name);
  if (!node) {
    throw new RunbookFailure(`Node ${name} is in the inventory but not in the cluster (kubectl get nodes lists ${nodes.map((n) => n.name).join(', ') || 'nothing'}).`);
  }
  return node;
}

/** The control-plane node shown in a plan before the job picks one for real. */
export function displayController(nodes: { name: string; role: string }[], avoid: string): string {
  return nodes.find((n) => n.role === 'control-plane' && n.name !== avoid)?.name ?? avoid;
}
