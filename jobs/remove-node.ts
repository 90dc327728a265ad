import * as z from 'zod';
import { NodeName, nodeInCluster } from '../src/commands/validators.ts';
import type { ClusterConfig } from '../src/config/inventory.ts';
import type { RunContext } from '../src/engine/context.ts';
import { errorText } from '../src/engine/context.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { RunbookFailure } from '../src/engine/errors.ts';
import type { PlanStep, PrecheckContext } from '../src/engine/runbook.ts';
import { chooseControlPlane, pickControlPlane } from '../src/ops/controller.ts';
import { drainPlanStep, drainStep } from '../src/ops/drain.ts';
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
} from '../src/ops/membership.ts';

const Args = z.object({ node: NodeName, force: z.boolean().optional(), iUnderstandQuorumLoss: z.boolean().optional() });
type RemoveArgs = z.infer<typeof Args>;

/** What the preflight found; checkpointed. */
interface RemovePreflight {
  [key: string]: string | number | boolean | string[] | null;
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
}

function otherControlPlanes(cluster: ClusterConfig, node: string): string[] {
  return cluster.nodes.filter((n) => n.role === 'control-plane' && n.name !== node).map((n) => n.name);
}

/** Inventory checks: the node is known; the last control-plane node is never removed. */
function validate({ node }: RemoveArgs, cluster: ClusterConfig): string | undefined {
  const problem = nodeInCluster(cluster, node);
  if (problem) return problem;
  const cfg = cluster.nodes.find((n) => n.name === node)!;
  if (cfg.role === 'control-plane' && otherControlPlanes(cluster, node).length === 0) {
    return `${node} is the last control-plane node of ${cluster.name}: removing it would leave no API server and no datastore. Nothing was queued.`;
  }
  return undefined;
}

/** Before queuing: the node is in the cluster, another control-plane node remains, and enough voters would. */
async function precheck({ node, iUnderstandQuorumLoss }: RemoveArgs, ctx: PrecheckContext): Promise<string | undefined> {
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

function titles(node: string) {
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

function removePlan(node: string, controller: string, force: boolean, reachable = true): PlanStep[] {
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
async function preflightRemove(run: RunContext, node: string, acknowledged: boolean): Promise<RemovePreflight> {
  // a control-plane node of the node's own cluster: it lists the node (a host on its own does not)
  const controller = await pickControlPlane(run, { exclude: [node], allowAlone: false });
  const m = await readMembership(controller.ops);
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
function gateTitle(pre: RemovePreflight, force: boolean): string {
  const action = force ? `remove-node ${pre.node} --force` : `Remove ${pre.node} from ${pre.kind === 'worker' ? 'the cluster (worker)' : 'the cluster'}`;
  return pre.warnings.length > 0 ? `${pre.warnings.join(' · ')} — ${action}` : action;
}

function gateWhat(pre: RemovePreflight, force: boolean): string {
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
    validate,
    precheck,
    plan: ({ node, force }, cluster) => removePlan(node, otherControlPlanes(cluster, node)[0] ?? '<control-plane node>', force === true),
  },
  async (run, { node, force: forceFlag, iUnderstandQuorumLoss }) => {
    const t = titles(node);
    const pre: RemovePreflight = await run.step(t.preflight, () => preflightRemove(run, node, iUnderstandQuorumLoss === true), {
      describe: (p) =>
        `${node}: ${p.kind}${p.role ? ` (datastore ${p.role})` : ''}, ${p.wasReady ? 'Ready' : 'NotReady'}, ${p.reachable ? 'reachable' : 'unreachable'}; commands via ${p.controller}; voters ${p.votersBefore} → ${p.votersAfter}`,
    });

    // An unreachable node cannot leave: stop, or go on with --force (its own destructive approval).
    let force = forceFlag === true;
    if (!pre.reachable && !force) {
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
      force = true;
    }
    run.setPlan(removePlan(node, pre.controller, force, pre.reachable));

    // The approval: always for --force (destructive) and for any quorum warning; else per policy.
    await run.approvePlan({
      always: force || pre.warnings.length > 0,
      title: gateTitle(pre, force),
      what: gateWhat(pre, force),
      why: force ? `--force skips \`leave\`: ${node}'s datastore membership and Node object are deleted while it may still hold state; it must never rejoin without a reinstall.` : undefined,
      nodes: [node],
      destructive: force,
      recheck: async () => {
        const m = await readMembership(run.node(pre.controller));
        if (!m.kube.some((k) => k.name === node)) throw new RunbookFailure(`${node} left the cluster meanwhile (kubectl on ${pre.controller} no longer lists it). Nothing was done.`);
        const now = voters(m).length;
        if (now !== pre.votersBefore) throw new RunbookFailure(`The datastore changed since the plan was approved: ${pre.votersBefore} voter(s) then, ${now} now. Nothing was done; request the removal again.`);
        return pre.controller;
      },
    });

    // Every cluster-wide command runs on the control-plane node the preflight chose (never ${node}, never a worker).
    const ctl = run.node(pre.controller);
    if (pre.reachable) {
      // 1. Drain, 2. leave, 3. NotReady — the graceful way.
      await drainStep(run, [node], () => pre.controller, t.drain);
      const leave = () => run.step(t.leave, () => leaveIfJoined(run, node, ctl), { describe: (r) => (r === 'left' ? `${node} left; it runs MicroK8s on its own now` : `${node} was no longer joined`) });
      // --force was asked for: a failed leave does not stop the removal
      const left = force ? (await run.attempt(leave)).ok : (await leave(), true);
      if (left) {
        await run.step(t.notReady, async () => {
          const seen = await waitForNode(ctl, node, 'not-ready', run.cluster.policy.readyTimeout);
          return seen ? 'NotReady' : 'no longer listed';
        }, { describe: (s) => s });
      }
    } else {
      await run.step(t.cordon, async () => ((await ctl.cordon(node)).changed ? 'cordoned' : 'already cordoned'), { describe: (s) => s });
    }

    // 4. remove-node on a remaining control-plane node (never the node itself, never a worker).
    await run.step(t.remove(force), async () => {
      const r = await removeNodeFrom(ctl, node, force);
      return `${r === 'removed' ? 'removed' : 'the Node object was already gone'} (on ${pre.controller})`;
    }, { describe: (s) => s });

    // 5. Gone from Kubernetes and from the datastore; a stand-by took the voter's seat.
    await run.step(t.verify, async () => {
      await waitForNode(ctl, node, 'gone', run.cluster.policy.readyTimeout);
      const m = await settleMembership(ctl, (now) => voters(now).length >= Math.min(pre.votersAfter, now.members.length), Math.min(60_000, run.cluster.policy.readyTimeout));
      const still = m.members.find((x) => x.node === node);
      if (still) throw new RunbookFailure(`${node} is no longer a Kubernetes node but the datastore still lists ${still.address} (${still.role}). Run \`remove-node ${node} --force\` to unregister it.`);
      return describeHa(m);
    }, { describe: (s) => s });
  },
  {
    describeState: async (run, { node }) => {
      try {
        const c = await pickControlPlane(run, { exclude: [node] });
        const m = await readMembership(c.ops);
        const seen = m.kube.find((k) => k.name === node);
        const member = memberOf(m.members, seen);
        return `${node}: ${seen ? `in the cluster, ${seen.ready ? 'Ready' : 'NotReady'}${seen.unschedulable ? ', cordoned' : ''}` : 'not in the cluster'}${member ? `, datastore ${member.role}` : ''}; ${describeHa(m)}`;
      } catch (err) {
        return `could not read the cluster (${errorText(err)})`;
      }
    },
  },
);
