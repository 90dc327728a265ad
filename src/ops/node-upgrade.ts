/**
 * The steps that upgrade a node — the seed's "升级第一个节点", the same for every node of
 * "升级 MicroK8s 集群": preflight, drain, check no workload pods are left, refresh (skipped
 * when the node is already there), wait for the new version and Ready, uncordon (unless it
 * was cordoned before). `upgrade` runs them on one node, `upgrade-cluster` on each node or
 * small batch of workers in turn.
 *
 * A batch runs each step on all of its nodes at once, as one durable step ("drain w1, w3"):
 * the engine replays steps in call order, so steps must not interleave. With one node the
 * titles are exactly the single-node ones ("drain k8s-1").
 *
 * Every step is safe to repeat: drain and uncordon are idempotent, the refresh reads the
 * node's channel and revision first, the waits only read.
 */
import type { RunContext } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import { nodesLabel, onEach, perNode } from './batch.ts';
import { drainStep } from './drain.ts';
import { describeRecord, recordNodeState } from './node-records.ts';
import { preflightUpgrade, upgradeTitles, waitForVersion, workloadPods, type UpgradePreflight } from './upgrade.ts';

/** The phases of a node's upgrade after its preflight, in order. */
export type UpgradePhase = 'drain' | 'check' | 'refresh' | 'wait' | 'uncordon' | 'record';

/**
 * Runs one phase's step. The default just runs it; `upgrade` wraps the refresh and the wait
 * to offer a rollback, `upgrade-cluster` offers retry / roll back / stop on any failure.
 */
export type StepGuard = <T>(phase: UpgradePhase, step: () => Promise<T>) => Promise<T>;

export type RefreshOutcome = {
  skipped: boolean;
  version: string;
};

const nodesOf = (pres: readonly UpgradePreflight[]) => pres.map((p) => p.node);

/** onEach over the preflights of a batch. */
function each<T>(pres: readonly UpgradePreflight[], fn: (pre: UpgradePreflight) => Promise<T>): Promise<Record<string, T>> {
  return onEach(nodesOf(pres), (node) => fn(pres.find((p) => p.node === node)!));
}

function describePreflight(p: UpgradePreflight): string {
  return `${p.node} runs ${p.fromVersion} (rev ${p.fromRevision}, ${p.fromChannel}); kubectl via ${p.controller}; ${p.voters} voter(s)${p.warnings.length ? `; ⚠️ ${p.warnings.join(' ')}` : ''}`;
}

/**
 * Preflight of the nodes about to go down together: reachable, the channel is the same or
 * the next minor, Ready, every other control-plane node Ready (dqlite keeps quorum while a
 * voter restarts), clocks in sync. Run right before the nodes go down, so a rollout re-checks
 * the cluster before each node.
 */
export async function preflightStep(run: RunContext, nodes: readonly string[], channel: string): Promise<UpgradePreflight[]> {
  return run.step(
    upgradeTitles(nodesLabel(nodes), channel).preflight,
    async () => {
      const out: UpgradePreflight[] = [];
      for (const node of nodes) out.push(await preflightUpgrade(run, node, channel));
      return out;
    },
    { describe: (pres) => pres.map(describePreflight).join(' · ') },
  );
}

/** Cordon the nodes and evict their pods to the others (each from the control-plane node its preflight chose). */
export async function drainNodesStep(run: RunContext, pres: readonly UpgradePreflight[]): Promise<Record<string, string[]>> {
  const controllers = new Map(pres.map((p) => [p.node, p.controller]));
  return drainStep(run, nodesOf(pres), (node) => controllers.get(node) ?? '', upgradeTitles(nodesLabel(nodesOf(pres)), '').drain);
}

/** No workload pod is left on the nodes (DaemonSet and static pods stay, as drain leaves them). */
export async function checkDrainedStep(run: RunContext, pres: readonly UpgradePreflight[]): Promise<number> {
  return run.step(upgradeTitles(nodesLabel(nodesOf(pres)), '').check, async () => {
    await each(pres, async (p) => {
      const left = workloadPods(await run.node(p.controller).pods({ node: p.node }));
      if (left.length > 0) {
        throw new RunbookFailure(
          `${left.length} pod(s) still on ${p.node} after the drain: ${left.map((x) => `${x.namespace}/${x.name}`).join(', ')}. ${p.node} is cordoned; nothing was refreshed.`,
        );
      }
      return 0;
    });
    return 0;
  });
}

/** `snap refresh microk8s --channel …`, skipped on a node that already moved to the channel. */
export async function refreshStep(run: RunContext, pres: readonly UpgradePreflight[], channel: string): Promise<Record<string, RefreshOutcome>> {
  return run.step(
    upgradeTitles(nodesLabel(nodesOf(pres)), channel).refresh,
    () =>
      each(pres, async (p): Promise<RefreshOutcome> => {
        const snap = await run.node(p.node).snap();
        if (snap.tracking === channel && snap.revision !== p.fromRevision) return { skipped: true, version: snap.version };
        const result = await run.node(p.node).refresh(channel);
        return { skipped: false, version: result.version ?? snap.version };
      }),
    { describe: (r) => perNode(nodesOf(pres), r, (x) => (x.skipped ? `already refreshed (${x.version})` : `now ${x.version}`)) },
  );
}

/** The nodes report the new version and Ready (`status --wait-ready`, `kubectl wait`; no fixed sleeps). */
export async function waitReadyStep(run: RunContext, pres: readonly UpgradePreflight[], channel: string): Promise<Record<string, { kubeletVersion: string }>> {
  return run.step(
    upgradeTitles(nodesLabel(nodesOf(pres)), channel).wait,
    () => each(pres, (p) => waitForVersion(run, p.node, channel, p.controller)),
    { describe: (r) => perNode(nodesOf(pres), r, (x) => `kubelet ${x.kubeletVersion}`) },
  );
}

/** Uncordon, unless someone had cordoned the node on purpose before the upgrade. */
export async function uncordonStep(run: RunContext, pres: readonly UpgradePreflight[]): Promise<Record<string, string>> {
  return run.step(
    upgradeTitles(nodesLabel(nodesOf(pres)), '').uncordon,
    () =>
      each(pres, async (p) => {
        if (p.wasCordoned) return 'left cordoned: it was cordoned before the upgrade';
        await run.node(p.controller).uncordon(p.node);
        return 'uncordoned';
      }),
    { describe: (r) => perNode(nodesOf(pres), r, (x) => x) },
  );
}

/**
 * The bot's record of each node as it left it (status flags drift from it; `rollback`
 * returns to `previous`, the state the preflight read).
 */
export async function recordStep(run: RunContext, pres: readonly UpgradePreflight[]): Promise<Record<string, string>> {
  return run.step(
    upgradeTitles(nodesLabel(nodesOf(pres)), '').record,
    () =>
      each(pres, async (p) =>
        describeRecord(await recordNodeState(run, p.node, { previous: { revision: p.fromRevision, version: p.fromVersion, channel: p.fromChannel } })),
      ),
    { describe: (r) => perNode(nodesOf(pres), r, (x) => x) },
  );
}

/**
 * Everything after the preflight (and, for `upgrade`, the approval and backup): drain,
 * check, refresh, wait, uncordon, record — each through `guard`.
 */
export async function upgradeNodes(
  run: RunContext,
  pres: readonly UpgradePreflight[],
  channel: string,
  guard: StepGuard = (_phase, step) => step(),
): Promise<Record<string, { kubeletVersion: string }>> {
  await guard('drain', () => drainNodesStep(run, pres));
  await guard('check', () => checkDrainedStep(run, pres));
  await guard('refresh', () => refreshStep(run, pres, channel));
  const ready = await guard('wait', () => waitReadyStep(run, pres, channel));
  await guard('uncordon', () => uncordonStep(run, pres));
  await guard('record', () => recordStep(run, pres));
  return ready;
}
