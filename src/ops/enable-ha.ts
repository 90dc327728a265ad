/**
 * The steps of `enable-ha` (jobs/enable-ha.ts) — the seed's 升级现有集群: the preflight (every
 * node 1.19+, the main node, who must cycle), the plan, `enable ha-cluster`, and one node's cycle
 * (drain, leave, enable ha-cluster, join again, Ready, uncordon).
 */
import type { PlanApproval, RunContext } from '../engine/context.ts';
import type { ClusterConfig } from '../config/inventory.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { checkClocks } from './clock.ts';
import { drainPlanStep, drainStep } from './drain.ts';
import { pickControlPlane, type Controller } from './controller.ts';
import {
  AGENT_PORT,
  JOIN_TOKEN_TTL_SECONDS,
  describeHa,
  haEnabledIn,
  joinWithRetry,
  leaveIfJoined,
  memberOf,
  minorOfVersion,
  readMembership,
  settleMembership,
  voters,
  waitForNode,
} from './membership.ts';

export type Cycle = {
  node: string;
  worker: boolean;
};

/** What the preflight found; checkpointed. */
export type EnablePreflight = {
  main: string;
  mainIp: string;
  haEnabled: boolean;
  versions: string[];
  /** Nodes to take out and join again, in order (control-plane nodes first). */
  cycle: Cycle[];
  /** Nodes already in the HA datastore (or HA workers): left alone. */
  skip: string[];
};

export function titles(node = '') {
  return {
    preflight: 'preflight: every node is 1.19 or newer; find the main node',
    enable: 'enable ha-cluster on the main node',
    drain: `drain ${node}`,
    leave: `leave the old cluster on ${node}`,
    enableOn: `enable ha-cluster on ${node}`,
    join: `join ${node} to the HA cluster`,
    ready: `wait for ${node} to be Ready`,
    uncordon: `uncordon ${node}`,
    report: 'report the HA state',
  };
}

export function enablePlan(main: string, cycle: Cycle[]): PlanStep[] {
  const t = titles();
  const steps: PlanStep[] = [
    { title: t.preflight, commands: ['snap list microk8s (every node)', 'microk8s kubectl get nodes -o json', 'microk8s status --format yaml', 'date +%s (every node)'] },
    { title: t.enable, node: main, commands: ['microk8s enable ha-cluster', 'microk8s status --wait-ready --timeout <readyTimeout>'] },
  ];
  for (const { node, worker } of cycle) {
    const n = titles(node);
    steps.push(
      { title: `approve: cycle ${node} into the HA cluster`, node, commands: [] },
      drainPlanStep(node, main, n.drain),
      { title: n.leave, node, commands: ['microk8s leave'] },
      { title: n.enableOn, node, commands: ['microk8s status --format yaml', 'microk8s enable ha-cluster'] },
      { title: n.join, node, commands: [`(${main}) microk8s add-node --token-ttl ${JOIN_TOKEN_TTL_SECONDS}`, `microk8s join <main-ip>:${AGENT_PORT}/<token>/<fingerprint>${worker ? ' --worker' : ''}`] },
      { title: n.ready, node: main, commands: ['microk8s kubectl get nodes -o json (until Ready)'] },
      { title: n.uncordon, node: main, commands: [`microk8s kubectl uncordon ${node}`] },
    );
  }
  steps.push({ title: t.report, node: main, commands: ['microk8s status --format yaml'] });
  return steps;
}

/**
 * The main node: an inventory control-plane node that answers kubectl for the cluster (the old
 * nodes answer "acting as a node"; a node alone in a cluster of its own is not it).
 */
export function findMain(run: RunContext): Promise<Controller> {
  return pickControlPlane(run, { allowAlone: false }, (problems) => `No main node found: no control-plane node answers kubectl for the cluster (${problems}). Nothing was changed.`);
}

export async function preflightEnable(run: RunContext): Promise<EnablePreflight> {
  const versions: string[] = [];
  const old: string[] = [];
  for (const n of run.cluster.nodes) {
    const snap = await run.node(n.name).snap();
    versions.push(`${n.name} ${snap.version}`);
    const minor = minorOfVersion(snap.version);
    if (minor === undefined || minor < 19) old.push(`${n.name} (${snap.version})`);
  }
  if (old.length > 0) {
    throw new RunbookFailure(`HA needs MicroK8s 1.19 or newer on every node; refresh these first (\`sudo snap refresh microk8s --channel=1.19/stable\` or newer): ${old.join(', ')}. Nothing was changed.`);
  }
  const main = await findMain(run);
  const mainIp = main.nodes.find((n) => n.name === main.name)?.internalIp;
  if (!mainIp) throw new RunbookFailure(`kubectl shows no InternalIP for ${main.name}. Nothing was changed.`);
  const status = await main.ops.status();
  const haEnabled = haEnabledIn(status);
  const mainMinor = minorOfVersion((await main.ops.snap()).version) ?? 0;
  const workers = run.cluster.nodes.filter((n) => n.role === 'worker' && n.name !== main.name);
  if (workers.length > 0 && mainMinor < 23) {
    throw new RunbookFailure(`${workers.map((w) => w.name).join(', ')} ${workers.length > 1 ? 'are workers' : 'is a worker'} in the inventory, but worker nodes need MicroK8s 1.23 or newer. Make them control-plane nodes in the inventory or upgrade first. Nothing was changed.`);
  }
  await checkClocks(run, run.cluster.nodes.map((n) => n.name));

  const cycle: Cycle[] = [];
  const skip: string[] = [];
  const others = run.cluster.nodes.filter((n) => n.name !== main.name);
  for (const n of [...others.filter((o) => o.role === 'control-plane'), ...others.filter((o) => o.role === 'worker')]) {
    const kube = main.nodes.find((k) => k.name === n.name);
    const inDatastore = haEnabled && memberOf(status.members, kube) !== undefined;
    // an HA worker carries the worker label (join --worker, 1.23+); an old node joined pre-HA does not
    const haWorker = haEnabled && n.role === 'worker' && kube?.role === 'worker' && kube.ready;
    if (inDatastore || haWorker) skip.push(n.name);
    else cycle.push({ node: n.name, worker: n.role === 'worker' });
  }
  return { main: main.name, mainIp, haEnabled, versions, cycle, skip };
}

/** ha-cluster on a node; already enabled → nothing to do. */
export async function enableHaCluster(run: RunContext, node: string): Promise<'enabled' | 'already'> {
  const ops = run.node(node);
  const status = await ops.status();
  if (status.running && haEnabledIn(status)) return 'already';
  const r = await ops.membership.enableHaCluster(run.cluster.policy.readyTimeout + 300_000);
  if (!r.ok) throw new RunbookFailure(`\`microk8s enable ha-cluster\` failed on ${node}: ${r.message}`);
  await ops.status({ waitReadySeconds: Math.ceil(run.cluster.policy.readyTimeout / 1000) });
  return 'enabled';
}

/** The plan before the job reads the cluster (dry run): the first control-plane node as the main one. */
export function enableHaDryPlan(cluster: ClusterConfig): PlanStep[] {
  const main = cluster.nodes.find((n) => n.role === 'control-plane')?.name ?? '<main node>';
  return enablePlan(main, cluster.nodes.filter((n) => n.name !== main).map((n) => ({ node: n.name, worker: n.role === 'worker' })));
}

/** Step 0: the preflight, as a step. */
export function preflightEnableStep(run: RunContext): Promise<EnablePreflight> {
  return run.step(titles().preflight, () => preflightEnable(run), {
    describe: (p) =>
      `main node ${p.main} (${p.mainIp}), ha-cluster ${p.haEnabled ? 'already enabled' : 'disabled'}; ${p.versions.join(', ')}; to re-join: ${p.cycle.map((c) => c.node).join(', ') || 'none'}${p.skip.length ? `; already in HA: ${p.skip.join(', ')}` : ''}`,
  });
}

/** The plan approval (always asked: the main node restarts on dqlite). */
export function enableHaApproval(run: RunContext, pre: EnablePreflight): PlanApproval {
  return {
    always: true,
    title: `Enable HA on ${run.cluster.name}`,
    what: `${pre.haEnabled ? `ha-cluster is already enabled on ${pre.main}.` : `\`microk8s enable ha-cluster\` on ${pre.main} (it restarts with the dqlite datastore).`} Then, one at a time, each with its own approval: ${pre.cycle.map((c) => `${c.node}${c.worker ? ' (worker)' : ''}`).join(', ') || 'no node'} — drain, leave, enable ha-cluster, join again, uncordon.`,
    why: `Enabling ha-cluster migrates the datastore on ${pre.main} and restarts it; every re-joined node is out of the cluster while it cycles.`,
    nodes: [pre.main, ...pre.cycle.map((c) => c.node)],
  };
}

/** Step 1: ha-cluster on the main node. */
export function enableOnMainStep(run: RunContext, pre: EnablePreflight): Promise<'enabled' | 'already'> {
  return run.step(titles().enable, () => enableHaCluster(run, pre.main), { describe: (r) => (r === 'already' ? 'already enabled' : `enabled; ${pre.main} is Ready on dqlite`) });
}

/**
 * Step 2, for one node: its own approval, then drain, `microk8s leave`, `microk8s enable
 * ha-cluster`, join again through the main node, Ready, uncordon. `done`: the nodes cycled so far.
 */
export async function cycleNode(run: RunContext, pre: EnablePreflight, { node, worker }: Cycle, done: readonly string[]): Promise<void> {
  const n = titles(node);
  const main = run.node(pre.main);
  await run.approval({
    title: `Cycle ${node} into the HA cluster`,
    what: `Drain ${node}, \`microk8s leave\` on it, \`microk8s enable ha-cluster\` on it, join it again ${worker ? 'as a worker' : 'as a control-plane node'} through ${pre.main}, uncordon it.${done.length ? ` Done so far: ${done.join(', ')}.` : ''}`,
    why: `${node} is out of the cluster until it has joined again; its pods move to the other nodes.`,
    nodes: [node],
  });
  await drainStep(run, [node], () => pre.main, n.drain);
  await run.step(n.leave, () => leaveIfJoined(run, node, pre.main), { describe: (r) => (r === 'left' ? `${node} left` : `${node} was not joined any more`) });
  await run.step(n.enableOn, () => enableHaCluster(run, node), { describe: (r) => (r === 'already' ? 'already enabled' : 'enabled') });
  await joinWithRetry(run, { node, worker, controller: pre.main, controllerIp: pre.mainIp }, n.join);
  await run.step(n.ready, async () => {
    const seen = await waitForNode(run, pre.main, node, 'ready', run.cluster.policy.readyTimeout);
    return `${node} is Ready (${seen?.role === 'worker' ? 'worker' : 'control plane'})`;
  }, { describe: (s) => s });
  await run.step(n.uncordon, async () => ((await main.uncordon(node)).changed ? 'uncordoned' : 'was not cordoned'), { describe: (s) => s });
}

/** Step 3: the HA state once dqlite has filled the voter seats. */
export function reportHaStateStep(run: RunContext, pre: EnablePreflight): Promise<string> {
  return run.step(titles().report, async () => {
    const m = await settleMembership(run, pre.main, (now) => voters(now).length >= Math.min(3, now.members.length), Math.min(60_000, run.cluster.policy.readyTimeout));
    return describeHa(m);
  }, { describe: (s) => s });
}

/** What the job left when it did not succeed: the HA state and each node. */
export async function describeEnableHa(run: RunContext): Promise<string> {
  try {
    const main = await findMain(run);
    const m = await readMembership(run, main.name);
    const rows = m.kube.map((k) => `${k.name} ${k.ready ? 'Ready' : 'NotReady'}${k.unschedulable ? ' (cordoned)' : ''}`);
    return `${m.haEnabled ? describeHa(m) : 'ha-cluster not enabled'}; ${rows.join(', ')}`;
  } catch (err) {
    return `could not read the cluster (${errorText(err)})`;
  }
}
