/**
 * The steps of `upgrade-cluster` (jobs/upgrade-cluster.ts) — the seed's "升级 MicroK8s 集群":
 * the rollout plan and its prose, the order (control plane one at a time, then workers in
 * batches), where the rollout stands after a failure, and the choice it offers then (retry,
 * roll back, stop). Each node runs exactly the steps of `upgrade` (node-upgrade.ts).
 */
import * as z from 'zod';
import type { ClusterConfig } from '../config/inventory.ts';
import { errorText, type RunContext } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import { awaitWindow } from '../engine/start-waits.ts';
import type { ChoiceOption } from '../engine/job-data.ts';
import type { PlanStep, PrecheckContext } from '../engine/runbook.ts';
import { nextMinorCheck } from '../microk8s/channels.ts';
import { backupDatastore, backupPlanStep } from './backup.ts';
import { nodesLabel } from './batch.ts';
import { pickControlPlane } from './controller.ts';
import { capitalize } from './prose.ts';
import { preflightStep, upgradeNodes, type UpgradePhase } from './node-upgrade.ts';
import { rollbackNodes } from './rollback.ts';
import { describeOrder, rolloutBatches, type RolloutNode } from './rollout-order.ts';
import { pinPlanStep } from './snap-proxy.ts';
import { nodeUpgradeCommands, type UpgradePreflight } from './upgrade.ts';
import { reportPlanStep } from './upgrade-report.ts';
import { verifyPlan } from './verify-workload.ts';

export type PauseAfter = 'first' | 'each' | 'none';

export const PauseAfterArg = z.enum(['first', 'each', 'none'], {
  error: (iss) => `'${String(iss.input).slice(0, 40)}' is not a pause; use first (approve after the first node), each (after every node or batch) or none`,
});

/** What the first step read on each node. */
export type NodeReading = { node: string; version: string; revision: string; tracking: string; onTarget: boolean };

export function linuxNodes(cluster: ClusterConfig) {
  return cluster.nodes.filter((n) => n.os !== 'windows');
}

export function windowsNodes(cluster: ClusterConfig): string[] {
  return cluster.nodes.filter((n) => n.os === 'windows').map((n) => n.name);
}

export function rolloutNodes(cluster: ClusterConfig): RolloutNode[] {
  return linuxNodes(cluster).map((n) => ({
    name: n.name,
    role: n.role,
    ...(n.failureDomain !== undefined ? { failureDomain: n.failureDomain } : {}),
    voter: n.role === 'control-plane',
  }));
}

export function pausesAfter(pause: PauseAfter, index: number, total: number): boolean {
  if (index >= total - 1) return false;
  return pause === 'each' || (pause === 'first' && index === 0);
}

/** The commands one batch runs, as a person would type them (the same as `upgrade`'s, node by node). */
export function batchCommands(batch: readonly RolloutNode[], channel: string, controller: string): string[] {
  const many = batch.length > 1;
  const on = (node: string) => (many ? `on ${node}: ` : '');
  return batch.flatMap((n) => nodeUpgradeCommands(n.name, channel).map((c) => `${on(c.on === 'node' ? n.name : controller)}${c.command}`));
}

/** The plan (dry run and plan gate): the order, and each batch's commands. */
export function rolloutPlan(cluster: ClusterConfig, channel: string, batches: readonly (readonly RolloutNode[])[], pause: PauseAfter, verifyName: string, skipped: string[] = []): PlanStep[] {
  const cps = cluster.nodes.filter((n) => n.role === 'control-plane').map((n) => n.name);
  const backupNode = batches.flat().find((n) => n.role === 'control-plane')?.name ?? cps[0];
  const plan: PlanStep[] = [
    { title: "read every node's MicroK8s version", commands: ['snap list microk8s (on each node)'] },
    backupPlanStep(backupNode, cluster.backups.keep),
  ];
  batches.forEach((batch, i) => {
    const label = nodesLabel(batch.map((n) => n.name));
    const kind = batch[0]?.role === 'control-plane' ? 'control plane' : batch.length > 1 ? 'workers' : 'worker';
    const controller = cps.find((c) => !batch.some((n) => n.name === c)) ?? cps[0] ?? '<control-plane node>';
    plan.push({ title: `upgrade ${label} (${kind}, ${i + 1} of ${batches.length}): preflight, drain, check, refresh, wait Ready, uncordon`, node: label, commands: batchCommands(batch, channel, controller) });
    if (pausesAfter(pause, i, batches.length)) plan.push({ title: `pause: an approver decides whether to go on after ${label}`, commands: [] });
  });
  if (batches.length > 0) plan.push(...verifyPlan(cluster, verifyName), { title: 'report the final state', commands: ['snap list microk8s (on each node)', 'microk8s kubectl get nodes -o json'] }, reportPlanStep());
  if (skipped.length > 0) plan.push({ title: `skip ${skipped.join(', ')}: already on ${channel}`, commands: [] });
  const win = windowsNodes(cluster);
  if (win.length > 0) plan.push({ title: `not upgraded (Windows workers are not snap nodes): ${win.join(', ')}`, commands: [] });
  return plan;
}

/** `--pin`: the pin step goes before the backup, the first change the rollout makes. */
export function withPin(plan: PlanStep[], channel: string, pin: string | undefined): PlanStep[] {
  return pin === undefined ? plan : [...plan.slice(0, 1), pinPlanStep(channel, pin), ...plan.slice(1)];
}

/** One line per node — version, revision, channel, Ready, cordoned — then what is cordoned. */
export async function clusterState(run: RunContext): Promise<string> {
  let kube: Awaited<ReturnType<typeof pickControlPlane>>['nodes'] = [];
  let kubeNote = '';
  try {
    kube = (await pickControlPlane(run)).nodes;
  } catch (err) {
    kubeNote = ` (Kubernetes' view unavailable: ${errorText(err)})`;
  }
  const lines: string[] = [];
  for (const n of run.cluster.nodes) {
    const k = kube.find((x) => x.name === n.name);
    const kubeText = k ? `${k.ready ? 'Ready' : 'NotReady'}${k.unschedulable ? ', cordoned' : ''}` : kubeNote ? 'unknown' : 'not in the cluster';
    if (n.os === 'windows') {
      lines.push(`${n.name}: Windows worker, ${k?.kubeletVersion ?? 'version unknown'}, ${kubeText}`);
      continue;
    }
    let snapText = 'snap unreadable';
    try {
      const snap = await run.node(n.name).snap();
      snapText = `${snap.version} (rev ${snap.revision}, ${snap.tracking})`;
    } catch (err) {
      snapText = `snap unreadable (${errorText(err)})`;
    }
    lines.push(`${n.name}: ${snapText}, ${kubeText}`);
  }
  const cordoned = kube.filter((k) => k.unschedulable).map((k) => k.name);
  return `${lines.join('; ')}. Cordoned: ${cordoned.length > 0 ? cordoned.join(', ') : 'none'}${kubeNote}.`;
}

export const PHASE_TEXT: Record<UpgradePhase | 'preflight' | 'verify', string> = {
  preflight: 'the preflight',
  drain: 'the drain',
  check: 'the check for pods left behind',
  refresh: 'the refresh',
  wait: 'the wait for the new version and Ready',
  uncordon: 'the uncordon',
  record: "recording the nodes' state",
  verify: 'the verification workload',
};

export interface Progress {
  channel: string;
  /** Nodes finished (on the channel). */
  done: string[];
  /** Nodes of the current batch. */
  current: string[];
  /** Nodes not started yet. */
  pending: string[];
}

/** Where the rollout stands, in words, for a failure or a stop. */
export function where(p: Progress, phase: keyof typeof PHASE_TEXT): string {
  const label = nodesLabel(p.current);
  const many = p.current.length > 1;
  const [has, is, was, runs, it, its] = many ? ['have', 'are', 'were', 'run', 'they are', 'their'] : ['has', 'is', 'was', 'runs', 'it is', 'its'];
  const here: Record<keyof typeof PHASE_TEXT, string> = {
    preflight: `${label} ${has} not been touched.`,
    drain: `${label} ${is} cordoned; nothing was refreshed.`,
    check: `${label} ${is} cordoned; nothing was refreshed.`,
    refresh: `${label} ${is} cordoned; ${its} refresh did not complete (snapd undoes a failed refresh).`,
    wait: `${label} ${was} refreshed but ${many ? 'are not all' : 'is not'} Ready on ${p.channel}; ${it} cordoned.`,
    uncordon: `${label} ${runs} ${p.channel} but ${is} still cordoned.`,
    record: `${label} ${runs} ${p.channel}.`,
    verify: 'Every node was upgraded; the verification workload was deleted.',
  };
  return [here[phase], elsewhere(p)].filter(Boolean).join(' ');
}

/** The nodes finished and the nodes not started. */
export function elsewhere(p: Progress): string {
  const parts: string[] = [];
  if (p.done.length > 0) parts.push(`Upgraded to ${p.channel}: ${p.done.join(', ')}.`);
  if (p.pending.length > 0) parts.push(`Not started, still on the old version: ${p.pending.join(', ')}.`);
  return parts.join(' ');
}

/**
 * Runs a step; when it fails, asks what to do: retry the step (runs it again), roll the
 * nodes back (after their refresh started; an approver must choose it), or stop.
 */
export async function attempt<T>(run: RunContext, p: Progress, phase: keyof typeof PHASE_TEXT, pres: readonly UpgradePreflight[] | undefined, step: () => Promise<T>): Promise<T> {
  const label = phase === 'verify' ? 'the cluster' : nodesLabel(p.current);
  for (;;) {
    const tried = await run.attempt(step);
    if (tried.ok) return tried.value;
    const failure = tried.error;
    const refreshed = (phase === 'refresh' || phase === 'wait') && pres !== undefined && pres.length > 0;
    const options: ChoiceOption[] = [{ id: 'retry', label: 'Retry the step', style: 'primary' }];
    if (refreshed) options.push({ id: 'rollback', label: pres.length > 1 ? 'Roll back these nodes' : 'Roll back this node', style: 'danger', role: 'approver', destructive: true });
    options.push({ id: 'stop', label: 'Stop' });
    const back = refreshed ? ` Roll back: \`snap revert\` ${pres.map((x) => `${x.node} to ${x.fromVersion} (rev ${x.fromRevision})`).join(', ')} — an approver must choose it.` : '';
    const choice = await run.choice({
      title: `${capitalize(PHASE_TEXT[phase])} failed on ${label}: retry, ${refreshed ? 'roll back ' : ''}or stop?`,
      what: `${errorText(failure)}\n${where(p, phase)}${back}\nStop leaves the remaining nodes on the old version.`,
      nodes: phase === 'verify' ? [] : p.current,
      options,
      onExpiry: 'expired',
    });
    if (choice === 'retry') continue;
    const summary = `${PHASE_TEXT[phase]} failed on ${label}: ${errorText(failure)}`;
    if (choice === 'rollback' && refreshed) {
      const rolledBack = await run.attempt(() => rollbackNodes(run, pres));
      if (!rolledBack.ok) {
        throw new RunbookFailure(`The rollout stopped: ${summary}. Then the rollback of ${label} failed: ${errorText(rolledBack.error)}. ${label} is cordoned; check it by hand.`);
      }
      throw new RunbookFailure(
        `The rollout stopped: ${summary}. ${label} was rolled back to ${pres.map((x) => `${x.fromVersion} (rev ${x.fromRevision})`).join(', ')} and is left cordoned: check it, then uncordon it. ${elsewhere(p)}`.trim(),
      );
    }
    const why = choice === 'expired' ? 'Nobody decided in time, so the rollout stopped' : 'Stopped as asked';
    throw new RunbookFailure(`${why}: ${summary}. ${where(p, phase)}`);
  }
}

/** The rollout as planned once every node was read: the batches in order, and what is left out. */
export interface Rollout {
  batches: RolloutNode[][];
  /** The nodes to upgrade, in order. */
  todo: string[];
  /** Already on the channel. */
  skipped: string[];
  /** The order in words (the plan step's line and the approval's first sentence). */
  orderText: string;
  plan: PlanStep[];
}

/** Step 0: `snap list microk8s` on every Linux node; nodes already on the channel are skipped. */
export function readVersionsStep(run: RunContext, channel: string): Promise<NodeReading[]> {
  return run.step(
    "read every node's MicroK8s version",
    async () => {
      const out: NodeReading[] = [];
      for (const n of linuxNodes(run.cluster)) {
        const snap = await run.node(n.name).snap();
        out.push({ node: n.name, version: snap.version, revision: snap.revision, tracking: snap.tracking, onTarget: snap.tracking === channel });
      }
      return out;
    },
    { describe: (r) => r.map((x) => `${x.node} ${x.version} (rev ${x.revision}, ${x.tracking})`).join('; ') },
  );
}

/** The rollout from what step 0 read: order, skipped nodes, the plan and its prose. */
export function planRollout(cluster: ClusterConfig, seen: readonly NodeReading[], args: { channel: string; batch: number; pauseAfter: PauseAfter; pin?: string | undefined }, verifyName: string): Rollout {
  const { channel, pauseAfter, pin } = args;
  const skipped = seen.filter((s) => s.onTarget).map((s) => s.node);
  const todo = rolloutNodes(cluster).filter((n) => !skipped.includes(n.name));
  const batches = rolloutBatches(todo, args.batch);
  const win = windowsNodes(cluster);
  const orderText = [
    batches.length > 0 ? `Order: ${describeOrder(batches)}` : `Nothing to upgrade: every node already runs ${channel}`,
    skipped.length > 0 ? `skipped, already on ${channel}: ${skipped.join(', ')}` : '',
    win.length > 0 ? `not upgraded (Windows workers): ${win.join(', ')}` : '',
    batches.length > 1 && pauseAfter !== 'none' ? `pause for an approval after ${pauseAfter === 'first' ? 'the first node' : 'every node or batch'}` : '',
    pin !== undefined ? `pin ${channel} to revision ${pin} on the Snap Store Proxy first` : '',
  ]
    .filter(Boolean)
    .join('; ');
  const plan = withPin(rolloutPlan(cluster, channel, batches, pauseAfter, verifyName, skipped), channel, pin);
  return { batches, todo: todo.map((n) => n.name), skipped, orderText, plan };
}

/** The re-check after the approval: no node moved since step 0 read it. */
export async function recheckVersions(run: RunContext, seen: readonly NodeReading[]): Promise<true> {
  const changed: string[] = [];
  for (const s of seen) {
    const snap = await run.node(s.node).snap();
    if (snap.revision !== s.revision || snap.tracking !== s.tracking) changed.push(`${s.node} is now on ${snap.version} (rev ${snap.revision}, ${snap.tracking})`);
  }
  if (changed.length > 0) throw new RunbookFailure(`The cluster changed since the plan was approved: ${changed.join('; ')}. Nothing was done; request the upgrade again.`);
  return true;
}

/** Step 1: a datastore backup before the first node, on the first control-plane node of the rollout (else a Ready one). */
export function backupBeforeRollout(run: RunContext, rollout: Rollout) {
  return run.step(
    'back up the datastore',
    async () => backupDatastore(run, rollout.batches.flat().find((n) => n.role === 'control-plane')?.name ?? (await pickControlPlane(run)).name),
    { describe: (b) => `${b.node}: sha256 ${b.sha256} · ${b.bytes} bytes · kept at ${b.localPath}` },
  );
}

/**
 * Step 2: each node (or batch of workers) in turn, exactly the steps of `upgrade`, each step
 * guarded by `attempt`; a pause for an approval after the first (or every) batch.
 */
export async function upgradeInTurn(run: RunContext, rollout: Rollout, channel: string, pauseAfter: PauseAfter): Promise<Progress> {
  const { batches } = rollout;
  const progress: Progress = { channel, done: [], current: [], pending: [...rollout.todo] };
  for (const [i, b] of batches.entries()) {
    // A maintenance window that closed stops the rollout here, between two nodes, until the next one opens.
    if (i > 0) await awaitWindow(run, 'boundary', progress.done.join(', '));
    const names = b.map((n) => n.name);
    progress.current = names;
    progress.pending = progress.pending.filter((n) => !names.includes(n));
    const pres = await attempt(run, progress, 'preflight', undefined, () => preflightStep(run, names, channel));
    await upgradeNodes(run, pres, channel, (phase, step) => attempt(run, progress, phase, pres, step));
    progress.done.push(...names);
    progress.current = [];
    if (pausesAfter(pauseAfter, i, batches.length)) {
      const next = batches[i + 1]?.map((n) => n.name) ?? [];
      await run.approval({
        title: `Go on with the rollout after ${nodesLabel(names)}?`,
        what: `${nodesLabel(names)} now ${names.length > 1 ? 'run' : 'runs'} ${channel}, Ready and uncordoned. Check it (workloads, logs) before going on. Next: ${nodesLabel(next)}${progress.pending.length > next.length ? `; then ${progress.pending.filter((n) => !next.includes(n)).join(', ')}` : ''}.`,
        nodes: progress.pending,
      });
    }
  }
  return progress;
}

/** Step 4: which node runs what, and what is cordoned. */
export function finalReportStep(run: RunContext, channel: string, progress: Progress, rollout: Rollout): Promise<string> {
  return run.step(
    'report the final state',
    async () => {
      const state = await clusterState(run);
      await run.say({ text: `Rollout to ${channel} done. ${state}`, body: `*Rollout to ${channel} done.*\n${state.split('; ').join('\n')}` });
      return state;
    },
    { describe: () => `upgraded: ${progress.done.join(', ')}${rollout.skipped.length > 0 ? `; skipped: ${rollout.skipped.join(', ')}` : ''}` },
  );
}

/** Before queuing: every node not on the channel may go to it (the same or the next minor). */
export async function precheckRollout(channel: string, ctx: PrecheckContext): Promise<string | undefined> {
  const nodes = linuxNodes(ctx.cluster).map((n) => n.name);
  const problems = await Promise.all(
    nodes.map(async (node) => {
      const snap = await ctx.snap(node);
      if (snap.tracking === channel) return undefined;
      const check = nextMinorCheck(snap, channel);
      return check.ok ? undefined : `${node}: ${check.message}`;
    }),
  );
  const found = problems.filter((p): p is string => p !== undefined);
  return found.length > 0 ? found.join(' ') : undefined;
}
