import * as z from 'zod';
import { NodeName, SnapChannel, nodeInCluster } from '../src/commands/validators.ts';
import { errorText } from '../src/engine/context.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { RunbookFailure } from '../src/engine/errors.ts';
import { nextMinorCheck } from '../src/microk8s/channels.ts';
import { backupDatastore } from '../src/ops/backup.ts';
import { describeRecord, recordNodeState } from '../src/ops/node-records.ts';
import { displayController, rollbackOffer } from '../src/ops/offers.ts';
import { describeNodes, preflightUpgrade, upgradePlan, waitForVersion, workloadPods, type UpgradePreflight } from '../src/ops/upgrade.ts';

/**
 * Upgrade one node — the seed's "升级第一个节点" (upgrade the first node) with
 * "失败时回滚" (roll back on failure) offered once the refresh has started.
 */
export default defineRunbook(
  {
    verb: 'upgrade',
    usage: 'upgrade <node> <channel>',
    example: 'upgrade k8s-1 1.23/stable',
    summary: 'Upgrade one node to the same or next minor channel: back up, drain, refresh, wait Ready, uncordon',
    positional: ['node', 'channel'],
    args: z.object({ node: NodeName, channel: SnapChannel }),
    mutating: true,
    validate: ({ node }, cluster) => nodeInCluster(cluster, node),
    precheck: async ({ node, channel }, ctx) => {
      const check = nextMinorCheck(await ctx.snap(node), channel);
      return check.ok ? undefined : check.message;
    },
    plan: ({ node, channel }, cluster) => {
      const role = cluster.nodes.find((n) => n.name === node)?.role;
      const controller = displayController(cluster.nodes, node);
      return upgradePlan(node, channel, controller, role === 'control-plane' ? node : controller);
    },
  },
  async (run, { node, channel }) => {
    // 0. The checks a careful operator makes first.
    const pre: UpgradePreflight = await run.step(`preflight: ${node} can go to ${channel}`, () => preflightUpgrade(run, node, channel), {
      describe: (p) => `${node} runs ${p.fromVersion} (rev ${p.fromRevision}, ${p.fromChannel}); kubectl via ${p.controller}; ${p.voters} voter(s)${p.warnings.length ? `; ⚠️ ${p.warnings.join(' ')}` : ''}`,
    });
    run.setPlan(upgradePlan(node, channel, pre.controller, pre.backupNode));
    const controller = run.node(pre.controller);

    // The plan is approved as shown; then re-read what it depended on.
    if (run.cluster.policy.approvePlan) {
      await run.approval({
        title: `Upgrade ${node} from ${pre.fromChannel} to ${channel}`,
        what: `Drain ${node}, refresh MicroK8s to ${channel}, wait until it is Ready, then uncordon it.${pre.warnings.length ? `\n⚠️ ${pre.warnings.join(' ')}` : ''}`,
        nodes: [node],
        plan: run.plan(),
      });
      await run.step('re-check what the plan depended on', async () => {
        const now = await preflightUpgrade(run, node, channel);
        const changed: string[] = [];
        if (now.fromRevision !== pre.fromRevision || now.fromChannel !== pre.fromChannel) changed.push(`${node} is now on ${now.fromVersion} (rev ${now.fromRevision}, ${now.fromChannel})`);
        if (now.voters !== pre.voters) changed.push(`voters went from ${pre.voters} to ${now.voters}`);
        if (now.wasCordoned !== pre.wasCordoned) changed.push(`${node} was ${now.wasCordoned ? 'cordoned' : 'uncordoned'} meanwhile`);
        if (changed.length > 0) throw new RunbookFailure(`The cluster changed since the plan was approved: ${changed.join('; ')}. Nothing was done; request the upgrade again.`);
        return true;
      });
    }

    // 1. Back up the datastore (taken, fetched and checksummed).
    await run.step('back up the datastore', () => backupDatastore(run, pre.backupNode), {
      describe: (b) => `sha256 ${b.sha256} · ${b.bytes} bytes · kept at ${b.localPath}`,
    });

    // 2. Drain the node: cordon it and evict its pods to the other nodes.
    await run.step(`drain ${node}`, async () => (await controller.drain(node, Math.ceil(run.cluster.policy.drainTimeout / 1000))).evicted, {
      describe: (evicted) => `${evicted.length} pod(s) evicted`,
    });

    // 3. Verify no workload pod is left on it.
    await run.step(`check no workload pods are left on ${node}`, async () => {
      const left = workloadPods(await controller.pods({ node }));
      if (left.length > 0) {
        throw new RunbookFailure(`${left.length} pod(s) still on ${node} after the drain: ${left.map((p) => `${p.namespace}/${p.name}`).join(', ')}. ${node} is cordoned; nothing was refreshed.`);
      }
      return 0;
    });

    // 4. Refresh the snap. From here on a failure offers a rollback.
    await run.setRollback({ node, revision: pre.fromRevision, version: pre.fromVersion, channel: pre.fromChannel, wasCordoned: pre.wasCordoned });
    try {
      await run.step(`refresh ${node} to ${channel}`, async () => {
        const snap = await run.node(node).snap();
        if (snap.tracking === channel && snap.revision !== pre.fromRevision) return { skipped: true, version: snap.version };
        const result = await run.node(node).refresh(channel);
        return { skipped: false, version: result.version ?? snap.version };
      }, { describe: (r) => (r.skipped ? `already refreshed (${r.version})` : `now ${r.version}`) });

      // 5. Wait until it reports the new version and is Ready.
      await run.step(`wait for ${node} to be Ready on ${channel}`, () => waitForVersion(run, node, channel, pre.controller), {
        describe: (r) => `kubelet ${r.kubeletVersion}`,
      });
    } catch (err) {
      throw new RunbookFailure(
        `The upgrade of ${node} failed after the refresh started: ${errorText(err)}. ${node} is cordoned. You can roll it back to ${pre.fromVersion} (rev ${pre.fromRevision}).`,
        [rollbackOffer(run.jobId, node)],
      );
    }

    // 6. Uncordon, unless someone had cordoned it on purpose before we started.
    await run.step(`uncordon ${node}`, async () => {
      if (pre.wasCordoned) return 'left cordoned: it was cordoned before the upgrade';
      await controller.uncordon(node);
      return 'uncordoned';
    }, { describe: (r) => r });

    // 7. The bot's record of the node (status flags drift from it; rollback returns to `previous`).
    await run.step(`record ${node}'s state`, async () => describeRecord(await recordNodeState(run, node, { previous: { revision: pre.fromRevision, version: pre.fromVersion, channel: pre.fromChannel } })), { describe: (r) => r });
  },
  {
    describeState: (run, { node }) => describeNodes(run, [node]),
  },
);
