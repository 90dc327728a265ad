import * as z from 'zod';
import { NodeName, nodeInCluster } from '../src/commands/validators.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { RunbookFailure } from '../src/engine/errors.ts';
import { pickControlPlane, requireKubeNode } from '../src/ops/controller.ts';
import { drainPlanStep, drainStep } from '../src/ops/drain.ts';
import { applyHold, holdSpecFromRecord } from '../src/ops/holds.ts';
import { describeRecord, holdInForce, readNodeRecord, readSnapFacts, recordNodeState } from '../src/ops/node-records.ts';
import { displayController } from '../src/ops/controller.ts';
import { describeNodes } from '../src/ops/upgrade.ts';

const KUBECTL = 'microk8s kubectl';

/**
 * Roll a node back to the snap revision it ran before the bot refreshed it —
 * the seed's "失败时回滚": drain it, `sudo snap revert microk8s`, check the old
 * version is back and Ready, re-apply its refresh hold, and uncordon it only
 * when someone asks.
 *
 * The revision to return to is the one recorded before the refresh: the failed
 * upgrade's rollback record (the "Roll back" button passes it) or the bot's node
 * record (src/ops/node-records.ts). If the node runs something else — neither the
 * revision the bot refreshed it to nor the recorded one — it stops and says so.
 */
export default defineRunbook(
  {
    verb: 'rollback',
    usage: 'rollback <node>',
    example: 'rollback k8s-1',
    summary: 'Revert a node to the MicroK8s revision it ran before the bot refreshed it (snap revert): drain, revert, wait Ready, uncordon on request',
    positional: ['node'],
    args: z.object({
      node: NodeName,
      // Filled from the failed upgrade job when the "Roll back" button starts this; not typed by people.
      fromJob: z.string().regex(/^[0-9]{1,12}$/).optional(),
      expectRevision: z.string().regex(/^[0-9]{1,10}$/).optional(),
      expectVersion: z.string().regex(/^v?[0-9][0-9A-Za-z.+-]{0,40}$/).optional(),
      wasCordoned: z.boolean().optional(),
    }),
    mutating: true,
    validate: ({ node }, cluster) => nodeInCluster(cluster, node),
    plan: ({ node }, cluster) => {
      const controller = displayController(cluster.nodes, node);
      return [
        { title: `read ${node}`, node, commands: ['snap list microk8s', 'snap list --all microk8s', `${KUBECTL} get nodes -o json`] },
        drainPlanStep(node, controller),
        { title: `revert ${node}`, node, commands: ['sudo snap revert microk8s'], destructive: true },
        {
          title: `wait for ${node} to be Ready on the recorded revision`,
          node,
          commands: ['microk8s status --wait-ready --timeout <readyTimeout>', `${KUBECTL} wait --for=condition=Ready node/${node} --timeout=<readyTimeout>`, 'snap list microk8s'],
        },
        { title: `re-apply ${node}'s refresh hold (if it had one)`, node, commands: ['sudo snap refresh --hold[=<time left>] microk8s'] },
        { title: `record ${node}'s state`, node, commands: ['snap list microk8s'] },
        { title: `uncordon ${node} (only if asked)`, node: controller, commands: [`${KUBECTL} uncordon ${node}`] },
      ];
    },
  },
  async (run, { node, fromJob, expectRevision, expectVersion, wasCordoned }) => {
    // 0. What the node runs, what to return to, and whether snapd can.
    const before = await run.step(`read ${node}`, async () => {
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
    const { target } = before;

    // snap revert also restores the old revision's data directory (dqlite data, args): destructive.
    await run.approval({
      title: `Roll back ${node} with snap revert`,
      what: before.alreadyBack
        ? `${node} already runs revision ${target.revision}; only the wait, the hold and the uncordon question remain.`
        : `Drain ${node} and run \`snap revert microk8s\`, from ${before.version} (rev ${before.revision}) back to ${target.version} (rev ${target.revision})${fromJob ? `, undoing job ${fromJob}` : ''}.`,
      why: 'snap revert switches MicroK8s back to the previous revision and its data directory, discarding datastore and configuration changes made since the refresh.',
      nodes: [node],
      destructive: true,
    });

    const controller = run.node(before.controller);
    await drainStep(run, [node], () => before.controller);

    await run.step(`revert ${node}`, async () => {
      const now = await run.node(node).snap();
      if (now.revision === target.revision) return { version: now.version, skipped: true };
      if (now.revision !== before.revision) {
        throw new RunbookFailure(`${node} changed since it was read: it now runs revision ${now.revision} (${now.version}), not ${before.revision}. Nothing was reverted; ${node} is cordoned.`);
      }
      const reverted = await run.node(node).revert();
      return { version: reverted.version, skipped: false };
    }, { describe: (r) => (r.skipped ? `already on the recorded revision (${r.version})` : `reverted to ${r.version}`) });

    await run.step(`wait for ${node} to be Ready on the recorded revision`, async () => {
      const wait = Math.ceil(run.cluster.policy.readyTimeout / 1000);
      await run.node(node).status({ waitReadySeconds: wait });
      await controller.waitNodeReady(node, wait);
      const snap = await run.node(node).snap();
      if (snap.revision !== target.revision) {
        throw new RunbookFailure(
          `${node} runs revision ${snap.revision} (${snap.version}) after the revert, not revision ${target.revision} (${target.version}) ${target.source}. It is left cordoned; check it by hand.`,
        );
      }
      return { version: snap.version, revision: snap.revision };
    }, { describe: (s) => `${s.version} (rev ${s.revision}), Ready` });

    if (before.hold !== undefined) {
      const hold = before.hold;
      await run.step(`re-apply ${node}'s refresh hold`, async () => {
        const facts = await readSnapFacts(run.node(node));
        if (facts.held) return `still held ${facts.holdUntil === undefined || facts.holdUntil === 'forever' ? 'forever' : `until ${facts.holdUntil}`}`;
        const spec = holdSpecFromRecord(hold);
        if (!spec) return `not re-applied: the hold ran until ${hold}, which has passed`;
        const result = await applyHold(run, node, spec);
        return `the hold was gone: held again ${result.until === undefined || result.until === 'forever' ? 'forever' : `until ${result.until}`}`;
      }, { describe: (r) => r });
    }

    // Nothing to return to from here: a later `rollback` of this node needs a new refresh first.
    await run.step(`record ${node}'s state`, async () => {
      const record = await recordNodeState(run, node, { previous: null });
      // snap revert keeps the tracking channel: unheld, snapd's next auto-refresh would undo the rollback.
      const warning = record.held ? '' : ` · ⚠️ it still tracks ${record.channel} (snap revert keeps the channel), so snapd's next auto-refresh can bring the newer revision back: \`hold ${node}\` to stop that`;
      return `${describeRecord(record)}${warning}`;
    }, { describe: (r) => r });

    // Uncordon only when someone asks, and never a node that was cordoned on purpose before.
    if (before.wasCordoned) {
      await run.step(`leave ${node} cordoned`, async () => `it was cordoned before${fromJob ? ` job ${fromJob}` : ' this rollback'} drained it; \`uncordon ${node}\` when it should take pods again`, {
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
      await run.step(`uncordon ${node}`, async () => ((await controller.uncordon(node)).changed ? 'uncordoned' : 'was already schedulable'), { describe: (r) => r });
    } else {
      await run.step(`leave ${node} cordoned`, async () => (choice === 'leave' ? 'as asked' : `nobody answered; \`uncordon ${node}\` when it should take pods again`), {
        describe: (r) => r,
      });
    }
  },
  { describeState: (run, { node }) => describeNodes(run, [node]) },
);
