import * as z from 'zod';
import { NodeName, SnapChannel } from '../src/commands/validators.ts';
import { nodeInCluster } from '../src/config/inventory.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { nextMinorCheck } from '../src/microk8s/channels.ts';
import { backupDatastore } from '../src/ops/backup.ts';
import { preflightStep, upgradeNodes } from '../src/ops/node-upgrade.ts';
import { displayController } from '../src/ops/controller.ts';
import { describeNodes, offerRollbackAfterRefresh, unchangedSinceUpgradePreflight, upgradeApproval, upgradePlan } from '../src/ops/upgrade.ts';
import { reportWhatTheUpgradeLeft } from '../src/ops/upgrade-report.ts';

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
      return upgradePlan(node, channel, controller, role === 'control-plane' ? node : controller, cluster.backups.keep);
    },
  },
  async (run, { node, channel }) => {
    // 0. The checks a careful operator makes first.
    const [pre] = await preflightStep(run, [node], channel);
    if (!pre) throw new Error(`preflight of ${node} returned nothing`);
    run.setPlan(upgradePlan(node, channel, pre.controller, pre.backupNode, run.cluster.backups.keep));

    // The plan is approved as shown; then re-read what it depended on.
    await run.approvePlan({ ...upgradeApproval(pre, channel), recheck: () => unchangedSinceUpgradePreflight(run, pre, channel) });

    // 1. Back up the datastore (taken, fetched and checksummed).
    await run.step('back up the datastore', () => backupDatastore(run, pre.backupNode), {
      describe: (b) => `sha256 ${b.sha256} · ${b.bytes} bytes · kept at ${b.localPath}`,
    });

    // 2.–7. Drain, check no workload pods are left, refresh, wait for the new version and
    // Ready, uncordon (unless it was cordoned before), record its state: the same steps
    // upgrade-cluster runs on every node. From the refresh on, a failure offers a rollback.
    await upgradeNodes(run, [pre], channel, offerRollbackAfterRefresh(run, pre));

    // 8. What the upgrade does not upgrade: the enabled add-ons and the CNI (the seed's IMPORTANT NOTE).
    await reportWhatTheUpgradeLeft(run, channel);
  },
  {
    describeState: (run, { node }) => describeNodes(run, [node]),
  },
);
