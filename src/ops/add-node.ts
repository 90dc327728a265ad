/**
 * The steps of `add-node` (jobs/add-node.ts) — the seed's 添加节点 / Worker 节点: the checks
 * before a join (the preflight), the plan, the HA prose of the approval, and the waits after the
 * join. The join itself (add-node + join in one step, the token never leaving it) is
 * membership.ts's joinWithRetry.
 */
import { excerpt } from '../util/excerpt.ts';
import { nodeInCluster, type ClusterConfig } from '../config/inventory.ts';
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep, PrecheckContext } from '../engine/runbook.ts';
import { checkClocks } from './clock.ts';
import { chooseControlPlane, controlPlaneCandidates, pickControlPlane } from './controller.ts';
import { refuseLostNode } from './lost-nodes.ts';
import {
  AGENT_PORT,
  JOIN_TOKEN_TTL_SECONDS,
  describeHa,
  haOf,
  memberOf,
  minorOfVersion,
  readMembership,
  settleMembership,
  standing,
  voters,
  waitForNode,
} from './membership.ts';

/** What the preflight found; checkpointed (no secrets in it). */
export type AddPreflight = {
  node: string;
  worker: boolean;
  controller: string;
  controllerIp: string;
  channel: string;
  version: string;
  votersBefore: number;
  haBefore: boolean;
  /** Control-plane members after the join (voters and stand-bys to be). */
  controlPlanesAfter: number;
  nodesBefore: string[];
};

/** Inventory checks: the node is known, its role matches --worker, Linux. */
export function validateAddNode({ node, worker }: AddArgs, cluster: ClusterConfig): string | undefined {
  const problem = nodeInCluster(cluster, node);
  if (problem) return problem;
  const cfg = cluster.nodes.find((n) => n.name === node)!;
  if (cfg.os === 'windows') return `${node} is a Windows node in the inventory; add-node joins Linux MicroK8s nodes only`;
  if (worker && cfg.role !== 'worker') return `${node} is a control-plane node in the inventory; drop --worker, or make it \`role: worker\` in the inventory first`;
  if (!worker && cfg.role === 'worker') return `${node} is a worker in the inventory; use \`add-node ${node} --worker\``;
  return undefined;
}

/** Before queuing: the node is not in the cluster already, and runs the cluster's channel. */
export async function precheckAddNode({ node }: AddArgs, ctx: PrecheckContext): Promise<string | undefined> {
  const problems: string[] = [];
  const choice = await chooseControlPlane(ctx.cluster, (name) => ctx.nodes(name), { exclude: [node] }, problems);
  if (!choice) return `No control-plane node of ${ctx.cluster.name} answers kubectl (${problems.join('; ') || 'none in the inventory'}).`;
  const seen = choice.nodes.find((n) => n.name === node);
  if (seen) {
    return `${node} is already in cluster ${ctx.cluster.name} (kubectl on ${choice.name} lists it ${seen.ready ? 'Ready' : 'NotReady'}${seen.role === 'unknown' ? '' : `, ${seen.role === 'worker' ? 'worker' : 'control plane'}`}). To add it again, remove it first: \`remove-node ${node}\`.`;
  }
  // the channel: a different one is refused here, before any change (the job checks it again)
  try {
    const mine = await ctx.snap(node);
    const theirs = await ctx.snap(choice.name);
    if (mine.tracking !== theirs.tracking) return channelMessage(node, mine.tracking, choice.name, theirs.tracking);
  } catch {
    // the job's preflight says why the node cannot be read
  }
  return undefined;
}

export function channelMessage(node: string, mine: string, controller: string, theirs: string): string {
  return `${node} tracks ${mine} but the cluster tracks ${theirs} (${controller}). Refresh ${node} to ${theirs} first (\`sudo snap refresh microk8s --channel ${theirs}\`), then add it.`;
}

export function titles(node: string, worker: boolean) {
  return {
    preflight: `preflight: ${node} can join${worker ? ' as a worker' : ''}`,
    join: `join ${node}${worker ? ' as a worker' : ''}`,
    ready: `wait for ${node} to be Ready`,
    report: 'report the new HA state',
  };
}

export function addNodePlan(node: string, worker: boolean, controller: string, controllerIp = '<controller-ip>'): PlanStep[] {
  const t = titles(node, worker);
  return [
    {
      title: t.preflight,
      node,
      commands: [
        `(${controller}) microk8s kubectl get nodes -o json`,
        'snap list microk8s',
        'microk8s status --format yaml',
        'hostname',
        'date +%s',
        'getent hosts <each cluster node>',
        `nc -z -v -w 5 ${controllerIp} ${AGENT_PORT}`,
        `(${controller}) getent hosts ${node}`,
      ],
    },
    {
      title: t.join,
      node,
      commands: [`(${controller}) microk8s add-node --token-ttl ${JOIN_TOKEN_TTL_SECONDS}`, `microk8s join ${controllerIp}:${AGENT_PORT}/<token>/<fingerprint>${worker ? ' --worker' : ''}`],
    },
    { title: t.ready, node: controller, commands: ['microk8s kubectl get nodes -o json (until Ready)'] },
    { title: t.report, node: controller, commands: ['microk8s status --format yaml'] },
  ];
}

/**
 * The checks before a join: SSH works; MicroK8s is installed on the cluster's channel; the node
 * is its own single node (not stopped, not part of another cluster); its hostname is its name;
 * the clocks agree; it resolves every cluster node's name and the controller resolves its name;
 * it reaches the controller's cluster agent (port 25000).
 */
export async function preflightAdd(run: RunContext, node: string, worker: boolean): Promise<AddPreflight> {
  const controller = await pickControlPlane(run, { exclude: [node] });
  const seen = controller.nodes.find((n) => n.name === node);
  if (seen) throw new RunbookFailure(`${node} is already in the cluster (kubectl on ${controller.name} lists it ${seen.ready ? 'Ready' : 'NotReady'}). Nothing was changed.`);
  const controllerIp = controller.nodes.find((n) => n.name === controller.name)?.internalIp;
  if (!controllerIp) throw new RunbookFailure(`kubectl shows no InternalIP for ${controller.name}; cannot tell ${node} where to join. Nothing was changed.`);

  const target = run.node(node);
  let snap;
  try {
    snap = await target.snap();
  } catch (err) {
    const text = errorText(err);
    if (/no matching snaps installed/.test(text)) throw new RunbookFailure(`MicroK8s is not installed on ${node}. Install it on the cluster's channel first. Nothing was changed.`);
    throw new RunbookFailure(`Cannot run commands on ${node}: ${text}. Nothing was changed.`);
  }
  await refuseLostNode(run, node);
  const clusterSnap = await controller.ops.snap();
  if (snap.tracking !== clusterSnap.tracking) throw new RunbookFailure(`${channelMessage(node, snap.tracking, controller.name, clusterSnap.tracking)} Nothing was changed.`);
  const minor = minorOfVersion(clusterSnap.version);
  if (worker && minor !== undefined && minor < 23) {
    throw new RunbookFailure(`Worker nodes need MicroK8s 1.23 or newer; the cluster runs ${clusterSnap.version} (${clusterSnap.tracking}). Join ${node} as a control-plane node or upgrade the cluster first. Nothing was changed.`);
  }

  const st = await standing(run, node);
  if (st.kind === 'worker-elsewhere') {
    throw new RunbookFailure(`${node} is already a node of another cluster (it answers "acting as a node in a cluster"). Run \`microk8s leave\` on it first. Nothing was changed.`);
  }
  if (st.kind === 'clustered') {
    throw new RunbookFailure(`${node} is already part of another cluster: its datastore lists ${st.members.map((m) => m.address).join(', ')}. Run \`microk8s leave\` on it first. Nothing was changed.`);
  }
  if (st.kind === 'stopped') throw new RunbookFailure(`MicroK8s on ${node} is not running (${st.message}). Start it first (\`microk8s start\`). Nothing was changed.`);

  const hostname = await target.membership.hostname();
  if (hostname !== node) {
    throw new RunbookFailure(`${node}'s hostname is "${excerpt(hostname, 63)}": Kubernetes would list it under that name, not ${node}. Rename the host or the inventory entry. Nothing was changed.`);
  }

  await checkClocks(run, [controller.name, node]);

  const names = controller.nodes.map((n) => n.name);
  const missing = await target.membership.unresolvable(names);
  if (missing.length > 0) {
    throw new RunbookFailure(
      `${node} cannot resolve ${missing.join(', ')} (getent hosts): the nodes must know each other by name, or the join fails (often as "Invalid token (500)"). Add them to DNS or /etc/hosts on ${node}. Nothing was changed.`,
    );
  }
  const back = await controller.ops.membership.unresolvable([node]);
  if (back.length > 0) {
    throw new RunbookFailure(`${controller.name} cannot resolve ${node} (getent hosts): add ${node} to DNS or /etc/hosts on every cluster node. Nothing was changed.`);
  }
  const reach = await target.membership.canReach(controllerIp, AGENT_PORT);
  if (reach.checked && !reach.ok) {
    throw new RunbookFailure(`${node} cannot reach the cluster agent on ${controller.name} (${controllerIp}:${AGENT_PORT}): ${reach.detail}. Open port ${AGENT_PORT} (and 16443, 19001) between the nodes. Nothing was changed.`);
  }

  const m = await readMembership(run, controller.name);
  if (!m.haEnabled) throw new RunbookFailure(`The cluster is not in HA (dqlite) mode: ha-cluster is disabled on ${controller.name}. Run \`enable-ha\` first. Nothing was changed.`);
  const controlPlanes = m.members.length;
  return {
    node,
    worker,
    controller: controller.name,
    controllerIp,
    channel: clusterSnap.tracking,
    version: clusterSnap.version,
    votersBefore: voters(m).length,
    haBefore: haOf(m),
    controlPlanesAfter: worker ? controlPlanes : controlPlanes + 1,
    nodesBefore: names,
  };
}

export function haAfterText(pre: AddPreflight): string {
  if (pre.worker) return `Workers hold no datastore copy: high-availability stays ${pre.haBefore ? 'yes' : 'no'}.`;
  const votersAfter = Math.min(3, pre.controlPlanesAfter);
  if (!pre.haBefore && votersAfter > 2) return `With ${pre.controlPlanesAfter} control-plane nodes the datastore gets ${votersAfter} voters: high-availability becomes yes.`;
  if (pre.haBefore) return `High-availability stays yes; ${pre.node} becomes a ${pre.controlPlanesAfter > 3 ? 'stand-by or spare' : 'voter'}.`;
  return `With ${pre.controlPlanesAfter} control-plane node(s) high-availability stays no (it needs 3).`;
}

/** What add-node's steps are given: the node, and whether it joins as a worker. */
export type AddArgs = { node: string; worker?: boolean | undefined };

/** The plan before the job picks its control-plane node (dry run). */
export function addNodeDryPlan(node: string, worker: boolean, cluster: ClusterConfig): PlanStep[] {
  return addNodePlan(node, worker, controlPlaneCandidates(cluster, { exclude: [node] })[0] ?? '<control-plane node>');
}

/** Step 0: the preflight, as a step. */
export function preflightAddStep(run: RunContext, node: string, worker: boolean): Promise<AddPreflight> {
  return run.step(titles(node, worker).preflight, () => preflightAdd(run, node, worker), {
    describe: (p) => `${node} runs ${p.channel} like the cluster; add-node on ${p.controller} (${p.controllerIp}); ${p.votersBefore} voter(s), high-availability ${p.haBefore ? 'yes' : 'no'}`,
  });
}

/** The approval's text: through which node it joins, and what it does to high availability. */
export function addNodeApproval(run: RunContext, pre: AddPreflight): { title: string; what: string; nodes: string[] } {
  const { node, worker } = pre;
  return {
    title: `Add ${node} to ${run.cluster.name}${worker ? ' as a worker' : ''}`,
    what: `Join ${node} ${worker ? 'as a worker' : 'as a control-plane node'} through ${pre.controller} (${pre.controllerIp}:${AGENT_PORT}), wait until it is Ready. ${haAfterText(pre)}`,
    nodes: [node],
  };
}

/** The re-check after the approval: the node did not join meanwhile. */
export async function notJoinedYet(run: RunContext, node: string): Promise<string> {
  const controller = await pickControlPlane(run, { exclude: [node] });
  const seen = controller.nodes.find((n) => n.name === node);
  if (seen) throw new RunbookFailure(`${node} joined the cluster meanwhile (kubectl on ${controller.name} lists it). Nothing was done.`);
  return controller.name;
}

/** Step 2: the node is Ready in Kubernetes. */
export function readyStep(run: RunContext, node: string, worker: boolean): Promise<string> {
  return run.step(titles(node, worker).ready, async () => {
    const controller = await pickControlPlane(run, { exclude: [node] });
    const seen = await waitForNode(run, controller.name, node, 'ready', run.cluster.policy.readyTimeout);
    return `${node} is Ready (${seen?.role === 'worker' ? 'worker' : 'control plane'}, ${seen?.kubeletVersion ?? '?'})`;
  }, { describe: (s) => s });
}

/** Step 3: the new HA state, once dqlite lists the new member and has filled the voter seats. */
export function reportHaStep(run: RunContext, node: string, worker: boolean): Promise<string> {
  return run.step(titles(node, worker).report, async () => {
    const controller = await pickControlPlane(run, { exclude: [node] });
    const m = await settleMembership(
      run,
      controller.name,
      (now) => worker || (memberOf(now.members, now.kube.find((k) => k.name === node)) !== undefined && voters(now).length >= Math.min(3, now.members.length)),
      Math.min(60_000, run.cluster.policy.readyTimeout),
    );
    return describeHa(m);
  }, { describe: (s) => s });
}

/** What the job left when it did not succeed: is the node in the cluster, and the HA state. */
export async function describeAddNode(run: RunContext, node: string): Promise<string> {
  try {
    const controller = await pickControlPlane(run, { exclude: [node] });
    const seen = controller.nodes.find((n) => n.name === node);
    const m = await readMembership(run, controller.name);
    return `${node}: ${seen ? `in the cluster, ${seen.ready ? 'Ready' : 'NotReady'}` : 'not in the cluster'}; ${describeHa(m)}`;
  } catch (err) {
    return `could not read the cluster (${errorText(err)})`;
  }
}
