/**
 * The one control-plane picker: which node runs the cluster-wide commands (kubectl, add-node,
 * remove-node) of a job, and which node a plan shows for them before the job picks for real.
 */
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

/** A candidate's view of the cluster: its name and `kubectl get nodes` as it answers. */
export interface ControlPlaneChoice {
  name: string;
  nodes: KubeNode[];
}

/** What the picker needs of a cluster: its nodes' names and inventory roles. */
type Inventory = { nodes: readonly { name: string; role: string }[] };

export interface PickOptions {
  /** Never picked: the node being added or removed. */
  exclude?: readonly string[];
  /** Picked only when no other candidate will do: the node being upgraded or restarted. */
  avoid?: string | undefined;
  /**
   * Take a candidate that answers only about itself (a cluster of its own) when no candidate
   * lists another inventory node: a single-node cluster (default). false: never.
   */
  allowAlone?: boolean;
}

/** The inventory's control-plane nodes in the order they are tried: not `exclude`, `avoid` last. */
export function controlPlaneCandidates(cluster: Inventory, options: PickOptions = {}): string[] {
  const cps = cluster.nodes.filter((n) => n.role === 'control-plane' && !(options.exclude ?? []).includes(n.name)).map((n) => n.name);
  return [...cps.filter((n) => n !== options.avoid), ...cps.filter((n) => n === options.avoid)];
}

/**
 * The control-plane node to run cluster-wide commands on: among the candidates, one that answers
 * kubectl, lists itself Ready and is not a worker. A host outside the cluster also answers kubectl,
 * about itself only: a candidate that lists another inventory node wins at once; one alone in its
 * list is taken only when no candidate lists anyone else and `allowAlone`. `problems` collects why
 * the others were not taken. `read` is how a candidate is asked (the job's SSH, or the bot's
 * bounded precheck probe).
 */
export async function chooseControlPlane(
  cluster: Inventory,
  read: (node: string) => Promise<KubeNode[]>,
  options: PickOptions,
  problems: string[],
): Promise<ControlPlaneChoice | undefined> {
  const allowAlone = options.allowAlone ?? true;
  const inventory = new Set(cluster.nodes.map((n) => n.name));
  let alone: ControlPlaneChoice | undefined;
  for (const name of controlPlaneCandidates(cluster, options)) {
    let nodes: KubeNode[];
    try {
      nodes = await read(name);
    } catch (err) {
      problems.push(`${name}: ${errorText(err)}`);
      continue;
    }
    const self = nodes.find((n) => n.name === name);
    if (!self) problems.push(`${name} is not in the cluster it answers for`);
    else if (!self.ready) problems.push(`${name} is NotReady`);
    else if (self.role === 'worker') problems.push(`${name} is a worker`);
    else if (nodes.some((n) => n.name !== name && inventory.has(n.name))) return { name, nodes };
    else {
      if (!allowAlone) problems.push(`${name} runs a cluster of its own`);
      alone ??= { name, nodes };
    }
  }
  return allowAlone ? alone : undefined;
}

/**
 * A Ready control-plane member of the cluster for this job's cluster-wide commands (see
 * chooseControlPlane), over the job's SSH connections. None → a RunbookFailure saying why each
 * candidate was not taken (`failure` words it for the runbook, when given).
 */
export async function pickControlPlane(run: RunContext, options: PickOptions = {}, failure?: (problems: string) => string): Promise<Controller> {
  const problems: string[] = [];
  const choice = await chooseControlPlane(run.cluster, (name) => run.node(name).nodes(), options, problems);
  if (choice) return { name: choice.name, ops: run.node(choice.name), nodes: choice.nodes };
  const why = problems.join('; ') || 'the inventory lists none';
  const exclude = options.exclude ?? [];
  throw new RunbookFailure(failure?.(why) ?? `No Ready control-plane node of ${run.cluster.name} can run the cluster commands${exclude.length ? ` (not counting ${exclude.join(', ')})` : ''}: ${why}.`);
}

/** The control-plane node a plan shows for the cluster-wide commands, before the job picks one for real. */
export function displayController(nodes: { name: string; role: string }[], avoid: string): string {
  return controlPlaneCandidates({ nodes }, { avoid })[0] ?? avoid;
}

/** Kubernetes' view of one node, or a failure naming it. */
export function requireKubeNode(nodes: KubeNode[], name: string): KubeNode {
  const node = nodes.find((n) => n.name === name);
  if (!node) {
    throw new RunbookFailure(`Node ${name} is in the inventory but not in the cluster (kubectl get nodes lists ${nodes.map((n) => n.name).join(', ') || 'nothing'}).`);
  }
  return node;
}
