/**
 * The one way back — the seed's "失败时回滚": `sudo snap revert microk8s` to the revision a node
 * ran before the bot refreshed it. `rollback <node>` (jobs/rollback-node.ts) reads what to return
 * to from the failed upgrade or the node record, reverts, waits, re-applies the node's refresh
 * hold and asks before it uncordons; upgrade-cluster's "Roll back" (rollbackNodes) reverts the
 * nodes of a failed batch to what their preflight read. Both revert through revertNode.
 */
import type { RunContext } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { readSnapFacts } from '../microk8s/snap-facts.ts';
import { holdInForce, readNodeRecord } from '../store/node-records.ts';
import { nodesLabel, onEach, perNode } from './batch.ts';
import { displayController, pickControlPlane, requireKubeNode } from './controller.ts';
import { drainPlanStep, drainStep } from './drain.ts';
import { applyHold, holdSpecFromRecord } from './holds.ts';
import { describeRecord, recordNodeState } from './node-records.ts';
import { waitForVersion, type UpgradePreflight } from './upgrade.ts';

const KUBECTL = 'microk8s kubectl';

export type RevertOutcome = { skipped: boolean; version: string; revision: string };

/**
 * `snap revert microk8s` on `node`, back to `to` — skipped when it runs that revision already.
 * `from`: the revision it must run now (else it changed since it was read: nothing is reverted).
 * After the revert it must run `to` (`why` says where that revision comes from).
 */
export async function revertNode(run: RunContext, node: string, to: { revision: string; version: string }, why: string, from?: string): Promise<RevertOutcome> {
  const now = await run.node(node).snap();
  if (now.revision === to.revision) return { skipped: true, version: now.version, revision: now.revision };
  if (from !== undefined && now.revision !== from) {
    throw new RunbookFailure(`${node} changed since it was read: it now runs revision ${now.revision} (${now.version}), not ${from}. Nothing was reverted; ${node} is cordoned.`);
  }
  await run.node(node).revert();
  const after = await run.node(node).snap();
  if (after.revision !== to.revision) {
    throw new RunbookFailure(`${node} runs revision ${after.revision} (${after.version}) after \`snap revert\`, not revision ${to.revision} (${to.version}) ${why}. It is left cordoned; check it by hand.`);
  }
  return { skipped: false, version: after.version, revision: after.revision };
}

// ---- upgrade-cluster's "Roll back these nodes" ----------------------------------------------

/**
 * Rolls the nodes back to the revision their preflight recorded: drain (a no-op on a node still
 * cordoned by the upgrade), revert, then wait until the old revision runs and the node is Ready.
 * The nodes are left cordoned: uncordon them once checked. Destructive (revert restores the old
 * revision's data directory): the caller must have an approver's decision.
 */
export async function rollbackNodes(run: RunContext, pres: readonly UpgradePreflight[]): Promise<Record<string, RevertOutcome>> {
  const nodes = pres.map((p) => p.node);
  const label = nodesLabel(nodes);
  const pre = (node: string) => pres.find((p) => p.node === node)!;
  let controller: Promise<string> | undefined;
  const pick = () => (controller ??= pickControlPlane(run, { avoid: pres.length === 1 ? pres[0]?.node : undefined }).then((c) => c.name));
  await drainStep(run, nodes, pick, `drain ${label} for the rollback`);

  const reverted = await run.step(
    `revert ${label}`,
    () => onEach(nodes, (node) => revertNode(run, node, { revision: pre(node).fromRevision, version: pre(node).fromVersion }, 'as recorded before the upgrade')),
    { describe: (r) => perNode(nodes, r, (x) => (x.skipped ? `already on rev ${x.revision} (${x.version})` : `reverted to ${x.version} (rev ${x.revision})`)) },
  );

  await run.step(
    `wait for ${label} to be Ready on the old version`,
    () =>
      onEach(nodes, async (node) => {
        await waitForVersion(run, node, pre(node).fromChannel, (await pickControlPlane(run, { avoid: node })).name);
        await recordNodeState(run, node, { previous: null });
        return 'Ready, left cordoned';
      }),
    { describe: (r) => perNode(nodes, r, (x) => x) },
  );
  return reverted;
}

// ---- rollback <node> --------------------------------------------------------------------------

/** What `rollback` is given: the node, and from the "Roll back" button, what the failed upgrade recorded. */
export type RollbackArgs = { node: string; fromJob?: string | undefined; expectRevision?: string | undefined; expectVersion?: string | undefined; wasCordoned?: boolean | undefined };

export type RollbackReading = {
  revision: string;
  version: string;
  channel: string;
  target: { revision: string; version: string; source: string };
  alreadyBack: boolean;
  controller: string;
  wasCordoned: boolean;
  hold?: string;
};

export function rollbackTitles(node: string) {
  return {
    read: `read ${node}`,
    drain: `drain ${node}`,
    revert: `revert ${node}`,
    wait: `wait for ${node} to be Ready on the recorded revision`,
    hold: `re-apply ${node}'s refresh hold`,
    record: `record ${node}'s state`,
    leave: `leave ${node} cordoned`,
    uncordon: `uncordon ${node}`,
  };
}

/** The plan of `rollback <node>`. */
export function rollbackPlan(node: string, nodes: { name: string; role: string }[]): PlanStep[] {
  const controller = displayController(nodes, node);
  const t = rollbackTitles(node);
  return [
    { title: t.read, node, commands: ['snap list microk8s', 'snap list --all microk8s', `${KUBECTL} get nodes -o json`] },
    drainPlanStep(node, controller, t.drain),
    { title: t.revert, node, commands: ['sudo snap revert microk8s'], destructive: true },
    {
      title: t.wait,
      node,
      commands: ['microk8s status --wait-ready --timeout <readyTimeout>', `${KUBECTL} wait --for=condition=Ready node/${node} --timeout=<readyTimeout>`, 'snap list microk8s'],
    },
    { title: `${t.hold} (if it had one)`, node, commands: ['sudo snap refresh --hold[=<time left>] microk8s'] },
    { title: t.record, node, commands: ['snap list microk8s'] },
    { title: `${t.uncordon} (only if asked)`, node: controller, commands: [`${KUBECTL} uncordon ${node}`] },
  ];
}

/**
 * Step 0: what the node runs, what to return to (given by the button, else the node record), and
 * whether snapd can: the revision is still kept, and `snap revert` goes to it.
 */
export function readRollbackStep(run: RunContext, args: RollbackArgs): Promise<RollbackReading> {
  const { node, fromJob, expectRevision, expectVersion, wasCordoned } = args;
  return run.step(rollbackTitles(node).read, async (): Promise<RollbackReading> => {
    const ops = run.node(node);
    const facts = await readSnapFacts(ops);
    const record = await readNodeRecord(run.redis, run.cluster.name, node);
    let target: { revision: string; version: string; source: string };
    if (expectRevision !== undefined) {
      target = { revision: expectRevision, version: expectVersion ?? `rev ${expectRevision}`, source: fromJob ? `recorded by job ${fromJob} before its refresh` : 'given' };
    } else if (record?.previous) {
      target = { ...record.previous, source: `recorded by job ${record.byJob} (${record.verb}) before its refresh` };
    } else {
      throw new RunbookFailure(
        `There is no recorded revision to return ${node} to: the bot rolls back only a refresh it made itself (the "Roll back" button of a failed upgrade, or a node it upgraded). ${node} runs ${describeRecord(facts)}. Nothing was done.`,
      );
    }
    // The revision the bot refreshed the node to, when its record says so.
    const refreshed = record && record.previous?.revision === target.revision ? record.revision : undefined;
    const alreadyBack = facts.revision === target.revision;
    if (!alreadyBack) {
      if (refreshed !== undefined && facts.revision !== refreshed) {
        throw new RunbookFailure(
          `${node} runs revision ${facts.revision} (${facts.version}, ${facts.channel}): neither revision ${refreshed}, which job ${record?.byJob ?? '?'} refreshed it to, nor revision ${target.revision} (${target.version}), ${target.source}. Something else changed it since; nothing was done. Check it by hand (\`snap list --all microk8s\`, \`snap changes\`).`,
        );
      }
      const kept = await ops.keptRevisions();
      if (!kept.some((k) => k.revision === target.revision)) {
        throw new RunbookFailure(
          `Revision ${target.revision} (${target.version}) is no longer on ${node} (snap keeps ${kept.map((k) => k.revision).join(', ')}): \`snap revert\` cannot return to it. ${node} runs ${describeRecord(facts)}. Nothing was done.`,
        );
      }
      const disabled = kept.filter((k) => !k.active);
      if (disabled.length === 1 && disabled[0]?.revision !== target.revision) {
        throw new RunbookFailure(
          `\`snap revert\` would take ${node} to revision ${disabled[0]?.revision ?? '?'}, not revision ${target.revision} (${target.version}) ${target.source}. Nothing was done.`,
        );
      }
    }
    const controller = await pickControlPlane(run, { avoid: node });
    const kube = requireKubeNode(controller.nodes, node);
    const recordHold = record?.held && holdInForce(record.holdUntil, Date.now()) ? (record.holdUntil ?? 'forever') : undefined;
    const hold = facts.held ? (facts.holdUntil ?? 'forever') : recordHold;
    return {
      revision: facts.revision,
      version: facts.version,
      channel: facts.channel,
      target,
      alreadyBack,
      controller: controller.name,
      // Cordoned before the bot drained it (the upgrade recorded it), else as it is now.
      wasCordoned: wasCordoned ?? kube.unschedulable,
      ...(hold ? { hold } : {}),
    };
  }, {
    describe: (b) => `${node} runs ${b.version} (rev ${b.revision}, ${b.channel}); back to rev ${b.target.revision} (${b.target.version}), ${b.target.source}${b.alreadyBack ? ' — already there' : ''}${b.hold ? `; its refresh hold (${b.hold === 'forever' ? 'forever' : `until ${b.hold}`}) will be kept` : ''}`,
  });
}

/** Step 2: `snap revert microk8s`, unless the node runs the recorded revision already. */
export function revertStep(run: RunContext, node: string, before: RollbackReading): Promise<RevertOutcome> {
  const { target } = before;
  return run.step(rollbackTitles(node).revert, () => revertNode(run, node, target, target.source, before.revision), {
    describe: (r) => (r.skipped ? `already on the recorded revision (${r.version})` : `reverted to ${r.version}`),
  });
}

/** Step 3: MicroK8s Ready on the node, the node Ready in Kubernetes, on the recorded revision. */
export function waitBackStep(run: RunContext, node: string, before: RollbackReading): Promise<{ version: string; revision: string }> {
  const { target } = before;
  return run.step(rollbackTitles(node).wait, async () => {
    const wait = Math.ceil(run.cluster.policy.readyTimeout / 1000);
    await run.node(node).status({ waitReadySeconds: wait });
    await run.node(before.controller).waitNodeReady(node, wait);
    const snap = await run.node(node).snap();
    if (snap.revision !== target.revision) {
      throw new RunbookFailure(
        `${node} runs revision ${snap.revision} (${snap.version}) after the revert, not revision ${target.revision} (${target.version}) ${target.source}. It is left cordoned; check it by hand.`,
      );
    }
    return { version: snap.version, revision: snap.revision };
  }, { describe: (s) => `${s.version} (rev ${s.revision}), Ready` });
}

/** Step 4: the node's refresh hold again, when it had one (snap revert may drop it). */
export function reapplyHoldStep(run: RunContext, node: string, hold: string): Promise<string> {
  return run.step(rollbackTitles(node).hold, async () => {
    const facts = await readSnapFacts(run.node(node));
    if (facts.held) return `still held ${facts.holdUntil === undefined || facts.holdUntil === 'forever' ? 'forever' : `until ${facts.holdUntil}`}`;
    const spec = holdSpecFromRecord(hold);
    if (!spec) return `not re-applied: the hold ran until ${hold}, which has passed`;
    const result = await applyHold(run, node, spec);
    return `the hold was gone: held again ${result.until === undefined || result.until === 'forever' ? 'forever' : `until ${result.until}`}`;
  }, { describe: (r) => r });
}

/** Step 5: the node record, with nothing to return to (a later rollback needs a new refresh first). */
export function recordRolledBackStep(run: RunContext, node: string): Promise<string> {
  return run.step(rollbackTitles(node).record, async () => {
    const record = await recordNodeState(run, node, { previous: null });
    // snap revert keeps the tracking channel: unheld, snapd's next auto-refresh would undo the rollback.
    const warning = record.held ? '' : ` · ⚠️ it still tracks ${record.channel} (snap revert keeps the channel), so snapd's next auto-refresh can bring the newer revision back: \`hold ${node}\` to stop that`;
    return `${describeRecord(record)}${warning}`;
  }, { describe: (r) => r });
}

/** Step 6: uncordon only when someone asks, and never a node that was cordoned on purpose before. */
export async function uncordonIfAsked(run: RunContext, node: string, before: RollbackReading, fromJob: string | undefined): Promise<void> {
  const t = rollbackTitles(node);
  const { target } = before;
  if (before.wasCordoned) {
    await run.step(t.leave, async () => `it was cordoned before${fromJob ? ` job ${fromJob}` : ' this rollback'} drained it; \`uncordon ${node}\` when it should take pods again`, {
      describe: (r) => r,
    });
    return;
  }
  const choice = await run.choice({
    title: `Uncordon ${node}?`,
    what: `${node} is back on ${target.version} (rev ${target.revision}) and Ready, and still cordoned. Uncordon it so pods are scheduled on it again, or leave it cordoned to look at it first (\`uncordon ${node}\` later).`,
    nodes: [node],
    options: [
      { id: 'uncordon', label: 'Uncordon', style: 'primary' },
      { id: 'leave', label: 'Leave cordoned' },
    ],
    onExpiry: 'expired',
  });
  if (choice === 'uncordon') {
    await run.step(t.uncordon, async () => ((await run.node(before.controller).uncordon(node)).changed ? 'uncordoned' : 'was already schedulable'), { describe: (r) => r });
  } else {
    await run.step(t.leave, async () => (choice === 'leave' ? 'as asked' : `nobody answered; \`uncordon ${node}\` when it should take pods again`), {
      describe: (r) => r,
    });
  }
}
