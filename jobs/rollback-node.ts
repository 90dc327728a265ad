import * as z from 'zod';
import { NodeName, nodeInCluster } from '../src/commands/validators.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { RunbookFailure } from '../src/engine/errors.ts';
import { displayController } from '../src/ops/offers.ts';
import { pickController, requireKubeNode } from '../src/ops/controller.ts';
import { describeNodes } from '../src/ops/upgrade.ts';

/**
 * Roll a node back to its previous snap revision — the seed's "失败时回滚":
 * drain it, `snap revert microk8s`, check the old version is back.
 * Offered by a failed upgrade (which records the revision to return to).
 */
export default defineRunbook(
  {
    verb: 'rollback',
    usage: 'rollback <node>',
    example: 'rollback k8s-1',
    summary: 'Revert a node to its previous MicroK8s revision (snap revert): drain, revert, wait Ready',
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
        { title: `read ${node}`, node, commands: ['snap list microk8s'] },
        { title: `drain ${node}`, node: controller, commands: [`microk8s kubectl drain ${node} --ignore-daemonsets --delete-emptydir-data`] },
        { title: `revert ${node}`, node, commands: ['sudo snap revert microk8s'], destructive: true },
        { title: `wait for ${node} to be Ready on the old version`, node, commands: [`microk8s kubectl wait --for=condition=Ready node/${node}`] },
        { title: `uncordon ${node}`, node: controller, commands: [`microk8s kubectl uncordon ${node}`] },
      ];
    },
  },
  async (run, { node, fromJob, expectRevision, expectVersion, wasCordoned }) => {
    const before = await run.step(`read ${node}`, async () => {
      const snap = await run.node(node).snap();
      const controller = await pickController(run, node);
      const kube = requireKubeNode(controller.nodes, node);
      return { version: snap.version, revision: snap.revision, tracking: snap.tracking, controller: controller.name, cordoned: kube.unschedulable };
    }, { describe: (b) => `${node} runs ${b.version} (rev ${b.revision}, ${b.tracking})` });
    const alreadyBack = expectRevision !== undefined && before.revision === expectRevision;

    // snap revert also restores the old revision's data directory (dqlite data, args): destructive.
    await run.approval({
      title: `Roll back ${node} with snap revert`,
      what: alreadyBack
        ? `${node} already runs revision ${expectRevision}; only the wait and uncordon remain.`
        : `Drain ${node} and run \`snap revert microk8s\`${expectVersion ? `, back to ${expectVersion} (rev ${expectRevision})` : ''}${fromJob ? `, undoing job ${fromJob}` : ''}.`,
      why: 'snap revert switches MicroK8s back to the previous revision and its data directory, discarding datastore and configuration changes made since the refresh.',
      nodes: [node],
      destructive: true,
    });

    const controller = run.node(before.controller);
    await run.step(`drain ${node}`, async () => (await controller.drain(node, Math.ceil(run.cluster.policy.drainTimeout / 1000))).evicted, {
      describe: (e) => `${e.length} pod(s) evicted`,
    });

    await run.step(`revert ${node}`, async () => {
      const now = await run.node(node).snap();
      if (expectRevision !== undefined && now.revision === expectRevision) return { version: now.version, skipped: true };
      const reverted = await run.node(node).revert();
      return { version: reverted.version, skipped: false };
    }, { describe: (r) => (r.skipped ? `already on the old revision (${r.version})` : `reverted to ${r.version}`) });

    await run.step(`wait for ${node} to be Ready on the old version`, async () => {
      await run.node(node).status({ waitReadySeconds: Math.ceil(run.cluster.policy.readyTimeout / 1000) });
      await controller.waitNodeReady(node, Math.ceil(run.cluster.policy.readyTimeout / 1000));
      const snap = await run.node(node).snap();
      if (expectRevision !== undefined && snap.revision !== expectRevision) {
        throw new RunbookFailure(`${node} runs revision ${snap.revision} after the revert, not ${expectRevision} as recorded before the upgrade. It is left cordoned; check it by hand.`);
      }
      return { version: snap.version, revision: snap.revision };
    }, { describe: (s) => `${s.version} (rev ${s.revision})` });

    await run.step(`uncordon ${node}`, async () => {
      const keepCordoned = wasCordoned ?? before.cordoned;
      if (keepCordoned) return `left cordoned: it was cordoned before`;
      await controller.uncordon(node);
      return 'uncordoned';
    }, { describe: (r) => r });
  },
  { describeState: (run, { node }) => describeNodes(run, [node]) },
);
