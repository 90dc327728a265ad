/**
 * The steps of `remove-node` (jobs/remove-node.ts) — the seed's 删除节点 and 使用 HA: what the
 * removal does to the datastore (the preflight and the quorum guard), the plan and the approval,
 * the way out for a node that cannot be reached (--force), and the steps after the leave.
 */
import { nodeInCluster, type ClusterConfig } from '../config/inventory.ts';
import type { PlanApproval, RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep, PrecheckContext } from '../engine/runbook.ts';
import { chooseControlPlane, pickControlPlane } from './controller.ts';
import { drainPlanStep } from './drain.ts';
import {
  isControlPlaneNode,
  describeHa,
  leaveIfJoined,
  memberOf,
  quorumImpact,
  readMembership,
  removeNodeFrom,
  settleMembership,
  voters,
  waitForNode,
  type QuorumImpact,
} from './membership.ts';

/** What the preflight found; checkpointed. */
export type RemovePreflight = {
  node: string;
  controller: string;
  kind: 'control-plane' | 'worker';
  /** The node's datastore role (null: not a member). */
  role: string | null;
  reachable: boolean;
  /** Why it could not be reached. */
  unreachable: string | null;
  wasReady: boolean;
  votersBefore: number;
  votersAfter: number;
  haBefore: boolean;
  haAfter: boolean;
  warnings: string[];
  quorumLossAcknowledged: boolean;
};

export function otherControlPlanes(cluster: ClusterConfig, node: string): string[] {
  return cluster.nodes.filter((n) => n.role === 'control-plane' && n.name !== node).map((n) => n.name);
}

/** Inventory checks: the node is known; the last control-plane node is never removed. */
export function validateRemoveNode({ node }: RemoveArgs, cluster: ClusterConfig): string | undefined {
  const problem = nodeInCluster(cluster, node);
  if (problem) return problem;
  const cfg = cluster.nodes.find((n) => n.name === node)!;
  if (cfg.role === 'control-plane' && otherControlPlanes(cluster, node).length === 0) {
    return `${node} is the last control-plane node of ${cluster.name}: removing it would leave no API server and no datastore. Nothing was queued.`;
  }
  return undefined;
}

/** Before queuing: the node is in the cluster, another control-plane node remains, and enough voters would. */
export async function precheckRemoveNode({ node, iUnderstandQuorumLoss }: RemoveArgs, ctx: PrecheckContext): Promise<string | undefined> {
  const problems: string[] = [];
  const choice = await chooseControlPlane(ctx.cluster, (name) => ctx.nodes(name), { exclude: [node], allowAlone: false }, problems);
  if (!choice) {
    return `No other Ready control-plane node of ${ctx.cluster.name} answers kubectl (${problems.join('; ') || 'none in the inventory'}), so ${node} cannot be removed safely.`;
  }
  const target = choice.nodes.find((n) => n.name === node);
  if (!target) return `${node} is not in cluster ${ctx.cluster.name} (kubectl on ${choice.name} does not list it); nothing to remove.`;
  const remaining = choice.nodes.filter((n) => n.name !== node && isControlPlaneNode(n, ctx.cluster.nodes));
  const controlPlane = isControlPlaneNode(target, ctx.cluster.nodes);
  if (controlPlane && remaining.length === 0) {
    return `${node} is the last control-plane node of ${ctx.cluster.name} (kubectl on ${choice.name} lists no other): removing it would leave no API server and no datastore.`;
  }
  if (controlPlane && remaining.length < 2 && !iUnderstandQuorumLoss) {
    return `Removing ${node} would leave ${remaining.length} control-plane node (a single datastore voter: losing it loses the cluster). If that is really wanted, request it again with --i-understand-quorum-loss (it still needs an approval).`;
  }
  return undefined;
}

export function titles(node: string) {
  return {
    preflight: `preflight: ${node} can be removed`,
    drain: `drain ${node}`,
    cordon: `cordon ${node}`,
    leave: `leave the cluster on ${node}`,
    notReady: `wait for ${node} to be NotReady`,
    remove: (force: boolean) => `remove ${node} from the cluster${force ? ' (--force)' : ''}`,
    verify: `check ${node} is gone and report the HA state`,
  };
}

export function removePlan(node: string, controller: string, force: boolean, reachable = true): PlanStep[] {
  const t = titles(node);
  const steps: PlanStep[] = [
    { title: t.preflight, node: controller, commands: ['microk8s kubectl get nodes -o json', 'microk8s status --format yaml', `(${node}) microk8s status --format yaml`] },
  ];
  if (reachable) {
    steps.push(
      drainPlanStep(node, controller, t.drain),
      { title: t.leave, node, commands: ['microk8s leave'] },
      { title: t.notReady, node: controller, commands: ['microk8s kubectl get nodes -o json (until NotReady)'] },
    );
  } else {
    steps.push({ title: t.cordon, node: controller, commands: [`microk8s kubectl cordon ${node}`] });
  }
  steps.push(
    { title: t.remove(force), node: controller, commands: [`microk8s remove-node ${node}${force ? ' --force' : ''}`], destructive: force },
    { title: t.verify, node: controller, commands: ['microk8s kubectl get nodes -o json', 'microk8s status --format yaml'] },
  );
  return steps;
}

/** Reads the cluster and the node: its role, reachability, and what its removal does to the quorum. */
export async function preflightRemove(run: RunContext, node: string, acknowledged: boolean): Promise<RemovePreflight> {
  // a control-plane node of the node's own cluster: it lists the node (a host on its own does not)
  const controller = await pickControlPlane(run, { exclude: [node], allowAlone: false });
  const m = await readMembership(run, controller.name);
  const kube = m.kube.find((k) => k.name === node);
  if (!kube) throw new RunbookFailure(`${node} is not in the cluster (kubectl on ${controller.name} does not list it). Nothing was changed.`);
  const member = memberOf(m.members, kube);
  const kind: RemovePreflight['kind'] = member || isControlPlaneNode(kube, run.cluster.nodes) ? 'control-plane' : 'worker';
  const remainingControlPlanes = m.kube.filter((k) => k.name !== node && isControlPlaneNode(k, run.cluster.nodes));
  if (kind === 'control-plane' && remainingControlPlanes.length === 0) {
    throw new RunbookFailure(`${node} is the last control-plane node: removing it would leave no API server and no datastore. Nothing was changed.`);
  }
  const impact: QuorumImpact = quorumImpact(m, node);
  if (member && impact.votersAfter < 2 && !acknowledged) {
    throw new RunbookFailure(
      `Refused: removing ${node} leaves ${impact.votersAfter} datastore voter(s) — fewer than two, so losing one more node loses the cluster. If that is really wanted, request it again with --i-understand-quorum-loss (it still needs an approval). Nothing was changed.`,
    );
  }
  let reachable = true;
  let unreachable: string | null = null;
  try {
    await run.node(node).status();
  } catch (err) {
    reachable = false;
    unreachable = errorText(err);
  }
  return {
    node,
    controller: controller.name,
    kind,
    role: impact.role ?? null,
    reachable,
    unreachable,
    wasReady: kube.ready,
    votersBefore: impact.votersBefore,
    votersAfter: impact.votersAfter,
    haBefore: impact.haBefore,
    haAfter: impact.haAfter,
    warnings: impact.warnings,
    quorumLossAcknowledged: acknowledged,
  };
}

/** The gate's title: the quorum warnings first (its first line), then what it does. */
export function gateTitle(pre: RemovePreflight, force: boolean): string {
  const action = force ? `remove-node ${pre.node} --force` : `Remove ${pre.node} from ${pre.kind === 'worker' ? 'the cluster (worker)' : 'the cluster'}`;
  return pre.warnings.length > 0 ? `${pre.warnings.join(' · ')} — ${action}` : action;
}

export function gateWhat(pre: RemovePreflight, force: boolean): string {
  const lines: string[] = [];
  if (pre.kind === 'control-plane') {
    lines.push(`${pre.node} is a control-plane node (${pre.role ? `datastore ${pre.role}` : 'not a datastore member'}). Voters: ${pre.votersBefore} → ${pre.votersAfter}; high-availability ${pre.haBefore ? 'yes' : 'no'} → ${pre.haAfter ? 'yes' : 'no'}.`);
  } else lines.push(`${pre.node} is a worker: the datastore is not affected.`);
  if (force) {
    lines.push(`${pre.node} is ${pre.reachable ? 'reachable' : `unreachable (${pre.unreachable ?? 'no answer'})`}: it is removed with \`microk8s remove-node ${pre.node} --force\` from ${pre.controller}${pre.reachable ? ' after it leaves' : ', without leaving'}; its pods are rescheduled when its Node object is deleted.`);
  } else {
    lines.push(`Drain ${pre.node}, run \`microk8s leave\` on it, wait until it is NotReady, then \`microk8s remove-node ${pre.node}\` on ${pre.controller}.`);
  }
  if (pre.quorumLossAcknowledged) lines.push('Requested with --i-understand-quorum-loss.');
  return lines.join('\n');
}

/** What remove-node's steps are given. */
export type RemoveArgs = { node: string; force?: boolean | undefined; iUnderstandQuorumLoss?: boolean | undefined };

/** The plan before the job picks its control-plane node (dry run). */
export function removeNodeDryPlan(node: string, force: boolean, cluster: ClusterConfig): PlanStep[] {
  return removePlan(node, otherControlPlanes(cluster, node)[0] ?? '<control-plane node>', force);
}

/** Step 0: the preflight, as a step. */
export function preflightRemoveStep(run: RunContext, node: string, acknowledged: boolean): Promise<RemovePreflight> {
  return run.step(titles(node).preflight, () => preflightRemove(run, node, acknowledged), {
    describe: (p) =>
      `${node}: ${p.kind}${p.role ? ` (datastore ${p.role})` : ''}, ${p.wasReady ? 'Ready' : 'NotReady'}, ${p.reachable ? 'reachable' : 'unreachable'}; commands via ${p.controller}; voters ${p.votersBefore} → ${p.votersAfter}`,
  });
}

/**
 * An unreachable node cannot leave: stop, or go on with --force (its own destructive approval).
 * Returns whether the removal goes on with --force.
 */
export async function forceIfUnreachable(run: RunContext, pre: RemovePreflight, force: boolean): Promise<boolean> {
  const { node } = pre;
  if (pre.reachable || force) return force;
  const pick = await run.choice({
    title: `${node} cannot be reached: remove it with --force?`,
    what: `${pre.unreachable ?? 'No answer over SSH.'}\nWithout \`leave\`, the only way is \`microk8s remove-node ${node} --force\`: it unregisters ${node} from the datastore and deletes its Node object. Choose it only if ${node} will never come back as it is (wipe or reinstall it before reusing it).`,
    nodes: [node],
    options: [
      { id: 'force', label: 'Remove with --force', style: 'danger', destructive: true },
      { id: 'stop', label: 'Stop' },
    ],
    onExpiry: 'stop',
  });
  if (pick !== 'force') {
    throw new RunbookFailure(`Stopped: ${node} cannot be reached, so it was not removed and nothing was changed. When it is back, request \`remove-node ${node}\` again; if it is gone for good, \`remove-node ${node} --force\`.`);
  }
  return true;
}

/** The approval (always for --force, destructive, and for any quorum warning; else per policy), with its re-check. */
export function removeNodeApproval(run: RunContext, pre: RemovePreflight, force: boolean): PlanApproval {
  const { node } = pre;
  return {
    always: force || pre.warnings.length > 0,
    title: gateTitle(pre, force),
    what: gateWhat(pre, force),
    why: force ? `--force skips \`leave\`: ${node}'s datastore membership and Node object are deleted while it may still hold state; it must never rejoin without a reinstall.` : undefined,
    nodes: [node],
    destructive: force,
    recheck: async () => {
      const m = await readMembership(run, pre.controller);
      if (!m.kube.some((k) => k.name === node)) throw new RunbookFailure(`${node} left the cluster meanwhile (kubectl on ${pre.controller} no longer lists it). Nothing was done.`);
      const now = voters(m).length;
      if (now !== pre.votersBefore) throw new RunbookFailure(`The datastore changed since the plan was approved: ${pre.votersBefore} voter(s) then, ${now} now. Nothing was done; request the removal again.`);
      return pre.controller;
    },
  };
}

/** Step 2: `microk8s leave` on the node (with --force a failed leave does not stop the removal): did it leave? */
export async function leaveStep(run: RunContext, pre: RemovePreflight, force: boolean): Promise<boolean> {
  const { node } = pre;
  const leave = () => run.step(titles(node).leave, () => leaveIfJoined(run, node, pre.controller), { describe: (r) => (r === 'left' ? `${node} left; it runs MicroK8s on its own now` : `${node} was no longer joined`) });
  if (!force) {
    await leave();
    return true;
  }
  return (await run.attempt(leave)).ok;
}

/** Step 3: Kubernetes marks the node NotReady (or drops it). */
export function notReadyStep(run: RunContext, pre: RemovePreflight): Promise<string> {
  return run.step(titles(pre.node).notReady, async () => {
    const seen = await waitForNode(run, pre.controller, pre.node, 'not-ready', run.cluster.policy.readyTimeout);
    return seen ? 'NotReady' : 'no longer listed';
  }, { describe: (s) => s });
}

/** Instead of steps 1–3 for a node that cannot be reached: cordon it. */
export function cordonStep(run: RunContext, pre: RemovePreflight): Promise<string> {
  return run.step(titles(pre.node).cordon, async () => ((await run.node(pre.controller).cordon(pre.node)).changed ? 'cordoned' : 'already cordoned'), { describe: (s) => s });
}

/** Step 4: `microk8s remove-node` on a remaining control-plane node (never the node itself, never a worker). */
export function removeStep(run: RunContext, pre: RemovePreflight, force: boolean): Promise<string> {
  return run.step(titles(pre.node).remove(force), async () => {
    const r = await removeNodeFrom(run, pre.controller, pre.node, force);
    return `${r === 'removed' ? 'removed' : 'the Node object was already gone'} (on ${pre.controller})`;
  }, { describe: (s) => s });
}

/** Step 5: gone from Kubernetes and from the datastore; a stand-by took the voter's seat. */
export function goneStep(run: RunContext, pre: RemovePreflight): Promise<string> {
  const { node } = pre;
  return run.step(titles(node).verify, async () => {
    await waitForNode(run, pre.controller, node, 'gone', run.cluster.policy.readyTimeout);
    const m = await settleMembership(run, pre.controller, (now) => voters(now).length >= Math.min(pre.votersAfter, now.members.length), Math.min(60_000, run.cluster.policy.readyTimeout));
    const still = m.members.find((x) => x.node === node);
    if (still) throw new RunbookFailure(`${node} is no longer a Kubernetes node but the datastore still lists ${still.address} (${still.role}). Run \`remove-node ${node} --force\` to unregister it.`);
    return describeHa(m);
  }, { describe: (s) => s });
}

/** What the job left when it did not succeed: the node in the cluster or not, its datastore role, the HA state. */
export async function describeRemoveNode(run: RunContext, node: string): Promise<string> {
  try {
    const c = await pickControlPlane(run, { exclude: [node] });
    const m = await readMembership(run, c.name);
    const seen = m.kube.find((k) => k.name === node);
    const member = memberOf(m.members, seen);
    return `${node}: ${seen ? `in the cluster, ${seen.ready ? 'Ready' : 'NotReady'}${seen.unschedulable ? ', cordoned' : ''}` : 'not in the cluster'}${member ? `, datastore ${member.role}` : ''}; ${describeHa(m)}`;
  } catch (err) {
    return `could not read the cluster (${errorText(err)})`;
  }
}
