import { errorText, type RunContext } from '../engine/context.ts';
import { rollbackOffer } from '../engine/offers.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { kubeMinor, nextMinorCheck, parseChannel } from '../microk8s/channels.ts';
import type { KubeNode, KubePod } from '../microk8s/types.ts';
import { backupPlanStep } from './backup.ts';
import { checkClocks } from './clock.ts';
import { pickControlPlane, requireKubeNode } from './controller.ts';
import { drainCommand, drainPlanStep } from './drain.ts';
import type { StepGuard } from './node-upgrade.ts';
import { reportPlanStep } from './upgrade-report.ts';
import { unwrap } from '../util/in-order.ts';

/** What preflight found; checkpointed, so later steps and a rollback can rely on it. */
export type UpgradePreflight = {
  node: string;
  role: 'control-plane' | 'worker';
  fromVersion: string;
  fromRevision: string;
  fromChannel: string;
  wasCordoned: boolean;
  controller: string;
  /** Where the datastore backup is taken (a control-plane node). */
  backupNode: string;
  voters: number;
  warnings: string[];
};

/**
 * The checks a careful operator makes before touching a node: it answers over
 * SSH, the target channel is the same or the next minor (never a downgrade),
 * the node is Ready in Kubernetes, every other control-plane node is Ready so
 * dqlite keeps quorum while this one restarts, and the clocks agree.
 */
export async function preflightUpgrade(run: RunContext, node: string, channel: string, options: { allAtOnce?: boolean } = {}): Promise<UpgradePreflight> {
  const config = run.nodeConfig(node);
  const otherControlPlanes = run.cluster.nodes.filter((n) => n.role === 'control-plane' && n.name !== node);
  // The node's own snap first: a channel it cannot take is refused before any other node is
  // asked. Then the other reads go out at once (they are independent); the checks below read
  // their answers in the order an operator would make them, so the first problem named is the
  // same whatever the timing. A recheck (`allAtOnce`: the same preflight passed a moment ago)
  // sends the snap read with the others: one round trip less before its first step.
  const snapChecked = run.node(node).snap().then((s) => {
    const check = nextMinorCheck(s, channel);
    if (!check.ok) throw new RunbookFailure(check.message);
    return s;
  });
  if (!options.allAtOnce) await snapChecked;
  const controllerRead = pickControlPlane(run, { avoid: node });
  const [snapRead, controllerPicked, statusRead, clocksRead] = await Promise.allSettled([
    snapChecked,
    controllerRead,
    controllerRead.then((c) => c.ops.status()),
    checkClocks(run, [node, ...otherControlPlanes.map((n) => n.name)]),
  ]);
  const snap = unwrap(snapRead);
  const controller = unwrap(controllerPicked);
  const target = requireKubeNode(controller.nodes, node);
  if (!target.ready) throw new RunbookFailure(`${node} is NotReady; fix it before upgrading it.`);

  const notReady = otherControlPlanes.filter((n) => !controller.nodes.find((k) => k.name === n.name)?.ready);
  if (config.role === 'control-plane' && notReady.length > 0) {
    throw new RunbookFailure(
      `Control-plane node(s) ${notReady.map((n) => n.name).join(', ')} are NotReady: taking ${node} down too could lose the dqlite quorum. Bring them back first.`,
    );
  }

  const status = unwrap(statusRead);
  const voters = status.members.filter((m) => m.role === 'voter').length;
  const warnings: string[] = [];
  if (config.role === 'control-plane' && voters > 0 && voters < 3 && otherControlPlanes.length > 0) {
    warnings.push(`The datastore has ${voters} voter(s) (no HA): the cluster API is unavailable while ${node} restarts.`);
  }

  unwrap(clocksRead);

  return {
    node,
    role: config.role,
    fromVersion: snap.version,
    fromRevision: snap.revision,
    fromChannel: snap.tracking,
    wasCordoned: target.unschedulable,
    controller: controller.name,
    backupNode: config.role === 'control-plane' ? node : controller.name,
    voters,
    warnings,
  };
}

/** Pods that drain must have moved: not DaemonSet-managed, not static, not finished. */
export function workloadPods(pods: KubePod[]): KubePod[] {
  return pods.filter((p) => !p.daemonSet && !p.mirror && p.phase !== 'Succeeded' && p.phase !== 'Failed');
}

function runsChannel(node: KubeNode, channel: string): boolean {
  const target = parseChannel(channel);
  if (target.minor === undefined) return true; // latest/…: no minor to compare
  const got = kubeMinor(node.kubeletVersion);
  return got.major === target.major && got.minor === target.minor;
}

/**
 * Waits until the node reports the target minor and Ready: `status --wait-ready`
 * on the node, then `kubectl wait` from the controller, re-reading the node
 * until the kubelet version has moved (it can still be Ready on the old one
 * for a moment after the refresh returns).
 */
export async function waitForVersion(run: RunContext, node: string, channel: string, controllerName: string): Promise<{ kubeletVersion: string }> {
  const timeoutMs = run.cluster.policy.readyTimeout;
  const deadline = Date.now() + timeoutMs;
  const remaining = () => Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
  const controller = run.node(controllerName);
  await run.node(node).status({ waitReadySeconds: remaining() });
  let pause = 100;
  for (;;) {
    // kubectl wait, then the node as read back (Ready): one read, not a second `get nodes`.
    const seen = await controller.waitNodeReady(node, remaining());
    if (runsChannel(seen, channel)) return { kubeletVersion: seen.kubeletVersion };
    if (Date.now() >= deadline) {
      throw new RunbookFailure(
        `${node} did not come back Ready on ${channel} within ${Math.round(timeoutMs / 1000)} s (it reports ${seen.kubeletVersion}, Ready).`,
      );
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 2_000);
  }
}

export type NodeUpgradeStep = 'drain' | 'check' | 'refresh' | 'wait' | 'uncordon';

/** One node's upgrade commands in order, each with its step and where it runs (the node, or the kubectl controller). */
export function nodeUpgradeCommands(node: string, channel: string): { step: NodeUpgradeStep; on: 'node' | 'controller'; command: string }[] {
  const kubectl = 'microk8s kubectl';
  return [
    { step: 'drain', on: 'controller', command: drainCommand(node) },
    { step: 'check', on: 'controller', command: `${kubectl} get pods -A -o json --field-selector spec.nodeName=${node}` },
    { step: 'refresh', on: 'node', command: `sudo snap refresh microk8s --channel ${channel}` },
    { step: 'wait', on: 'node', command: 'microk8s status --wait-ready --timeout <readyTimeout>' },
    { step: 'wait', on: 'controller', command: `${kubectl} wait --for=condition=Ready node/${node} --timeout=<readyTimeout>` },
    { step: 'uncordon', on: 'controller', command: `${kubectl} uncordon ${node}` },
  ];
}

/** The titles of a node's (or a batch's: `label` = `w1, w3`) upgrade steps: its plan lines and its thread lines. */
export function upgradeTitles(label: string, channel: string) {
  return {
    preflight: `preflight: ${label} can go to ${channel}`,
    drain: `drain ${label}`,
    check: `check no workload pods are left on ${label}`,
    refresh: `refresh ${label} to ${channel}`,
    wait: `wait for ${label} to be Ready on ${channel}`,
    uncordon: `uncordon ${label}`,
    record: `record ${label}'s state`,
  };
}

/** The plan of a single-node upgrade, as commands a person would type. */
export function upgradePlan(node: string, channel: string, controller: string, backupNode: string, keepBackups: number): PlanStep[] {
  const commands = nodeUpgradeCommands(node, channel);
  const of = (step: NodeUpgradeStep) => commands.filter((c) => c.step === step).map((c) => c.command);
  const t = upgradeTitles(node, channel);
  return [
    { title: t.preflight, node, commands: ['snap list microk8s', 'microk8s kubectl get nodes -o json', 'microk8s status --format yaml', 'date +%s'] },
    backupPlanStep(backupNode, keepBackups),
    drainPlanStep(node, controller, t.drain),
    { title: t.check, node: controller, commands: of('check') },
    { title: t.refresh, node, commands: of('refresh') },
    { title: t.wait, node, commands: of('wait') },
    { title: t.uncordon, node: controller, commands: of('uncordon') },
    { title: t.record, node, commands: ['snap list microk8s', '(the bot\'s record of the node: what `rollback` returns to)'] },
    reportPlanStep(),
  ];
}

/** One line per node for the end of a thread: version, channel, Ready, cordoned. */
export async function describeNodes(run: RunContext, names: string[]): Promise<string> {
  const controller = await pickControlPlane(run);
  const lines: string[] = [];
  for (const name of names) {
    const kube = controller.nodes.find((n) => n.name === name);
    let snapText = 'snap unreadable';
    try {
      const snap = await run.node(name).snap();
      snapText = `${snap.version} (rev ${snap.revision}, ${snap.tracking})`;
    } catch {
      // keep the placeholder: the node may be down
    }
    const kubeText = kube ? `${kube.ready ? 'Ready' : 'NotReady'}${kube.unschedulable ? ', cordoned' : ''}` : 'not in the cluster';
    lines.push(`${name}: ${snapText}, ${kubeText}`);
  }
  return lines.join('; ');
}

/** The approval of a single-node upgrade. */
export function upgradeApproval(pre: UpgradePreflight, channel: string): { title: string; what: string; nodes: string[] } {
  const { node } = pre;
  return {
    title: `Upgrade ${node} from ${pre.fromChannel} to ${channel}`,
    what: `Drain ${node}, refresh MicroK8s to ${channel}, wait until it is Ready, then uncordon it.${pre.warnings.length ? `\n⚠️ ${pre.warnings.join(' ')}` : ''}`,
    nodes: [node],
  };
}

/** The re-check after the approval: the node's revision, the voters and its cordon are as the preflight read them. */
export async function unchangedSinceUpgradePreflight(run: RunContext, pre: UpgradePreflight, channel: string): Promise<true> {
  const { node } = pre;
  const now = await preflightUpgrade(run, node, channel, { allAtOnce: true });
  const changed: string[] = [];
  if (now.fromRevision !== pre.fromRevision || now.fromChannel !== pre.fromChannel) changed.push(`${node} is now on ${now.fromVersion} (rev ${now.fromRevision}, ${now.fromChannel})`);
  if (now.voters !== pre.voters) changed.push(`voters went from ${pre.voters} to ${now.voters}`);
  if (now.wasCordoned !== pre.wasCordoned) changed.push(`${node} was ${now.wasCordoned ? 'cordoned' : 'uncordoned'} meanwhile`);
  if (changed.length > 0) throw new RunbookFailure(`The cluster changed since the plan was approved: ${changed.join('; ')}. Nothing was done; request the upgrade again.`);
  return true;
}

/**
 * `upgrade`'s guard of its steps: from the refresh on, the job records what to roll back to, and a
 * failure offers the "Roll back" button (a rollback job with its own destructive approval).
 */
export function offerRollbackAfterRefresh(run: RunContext, pre: UpgradePreflight): StepGuard {
  const { node } = pre;
  return async (phase, step) => {
    if (phase !== 'refresh' && phase !== 'wait') return step();
    if (phase === 'refresh') {
      run.setRollback({ node, revision: pre.fromRevision, version: pre.fromVersion, channel: pre.fromChannel, wasCordoned: pre.wasCordoned });
    }
    const tried = await run.attempt(step);
    if (tried.ok) return tried.value;
    throw new RunbookFailure(
      `The upgrade of ${node} failed after the refresh started: ${errorText(tried.error)}. ${node} is cordoned. You can roll it back to ${pre.fromVersion} (rev ${pre.fromRevision}).`,
      [rollbackOffer(run.jobId, node)],
    );
  };
}
