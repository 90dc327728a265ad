import * as z from 'zod';
import { SnapRevision, snapProxyConfigured } from '../src/commands/ops-verbs.ts';
import { Count, SnapChannel } from '../src/commands/validators.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { describeRolloutPin, pinForRollout } from '../src/ops/snap-proxy.ts';
import {
  PauseAfterArg,
  attempt,
  backupBeforeRollout,
  clusterState,
  finalReportStep,
  linuxNodes,
  planRollout,
  precheckRollout,
  readVersionsStep,
  recheckVersions,
  rolloutNodes,
  rolloutPlan,
  upgradeInTurn,
  withPin,
} from '../src/ops/upgrade-cluster.ts';
import { rolloutBatches } from '../src/ops/rollout-order.ts';
import { reportWhatTheUpgradeLeft } from '../src/ops/upgrade-report.ts';
import { runVerifyWorkload, verifyWorkloadName } from '../src/ops/verify-workload.ts';
import { offerWindowsUpgrades } from '../src/ops/windows-offers.ts';

/**
 * `upgrade-cluster <channel>` — the seed's "升级 MicroK8s 集群" walk-through (3 nodes,
 * 1.22 → 1.23) as one job, with the general notes as rules: a datastore backup first;
 * control-plane nodes first, one at a time; then workers one at a time or in small batches
 * (never two nodes of one failure domain, never two dqlite voters down at once); each node
 * runs exactly the steps of `upgrade`; a pause for an approval after the first node; the
 * verification workload ("通过部署新工作负载进行验证") at the end. A failure stops the rollout at
 * that node and asks: retry the step, roll this node back (snap revert), or stop.
 */

export default defineRunbook(
  {
    verb: 'upgrade-cluster',
    usage: 'upgrade-cluster <channel> [--batch N] [--pause-after first|each|none] [--pin <revision>]',
    example: 'upgrade-cluster 1.23/stable --batch 2',
    summary: 'Rolling upgrade of every node to the same or next minor: backup, control plane one at a time, workers in batches, verification workload',
    positional: ['channel'],
    flags: {
      batch: { key: 'batch', type: 'string', describe: 'workers upgraded at once (default 1); never two of one failure domain' },
      'pause-after': { key: 'pauseAfter', type: 'string', describe: 'wait for an approval after the first node (first, the default), after every node or batch (each), or never (none)' },
      pin: { key: 'pin', type: 'string', describe: "pin <channel> to this snap revision on the cluster's Snap Store Proxy before the first node, so unattended refreshes cannot drift mid-rollout" },
    },
    args: z.object({ channel: SnapChannel, batch: Count(1, 50).default(1), pauseAfter: PauseAfterArg.default('first'), pin: SnapRevision.optional() }),
    mutating: true,
    validate: ({ pin }, cluster) =>
      (linuxNodes(cluster).length > 0 ? undefined : `cluster ${cluster.name} has no Linux node to upgrade`) ?? (pin !== undefined ? snapProxyConfigured(cluster) : undefined),
    precheck: ({ channel }, ctx) => precheckRollout(channel, ctx),
    plan: ({ channel, batch, pauseAfter, pin }, cluster) => withPin(rolloutPlan(cluster, channel, rolloutBatches(rolloutNodes(cluster), batch), pauseAfter, verifyWorkloadName('<job>')), channel, pin),
  },
  async (run, { channel, batch, pauseAfter, pin }) => {
    const verifyName = verifyWorkloadName(run.jobId);

    // 0. Where every node stands: nodes already on the channel are skipped. The plan: the order, what is skipped and why.
    const seen = await readVersionsStep(run, channel);
    const rollout = planRollout(run.cluster, seen, { channel, batch, pauseAfter, pin }, verifyName);
    run.setPlan(rollout.plan);
    await run.step('plan the rollout', async () => rollout.orderText, { describe: (t) => t });
    if (rollout.batches.length === 0) return;

    // The plan is approved as shown; then re-read what it depended on.
    await run.approvePlan({
      title: `Upgrade cluster ${run.cluster.name} to ${channel}`,
      what: `${rollout.orderText}. Each node: drain, refresh to ${channel}, wait until Ready, uncordon. A datastore backup first; the verification workload at the end.`,
      nodes: rollout.todo,
      recheck: () => recheckVersions(run, seen),
    });

    // 0b. --pin: hold the target channel at one revision on the Snap Store Proxy before anything changes.
    if (pin !== undefined) {
      await run.step(`pin ${channel} to revision ${pin} on the Snap Store Proxy`, () => pinForRollout(run, channel, pin, rollout.todo), { describe: describeRolloutPin });
    }

    // 1. A datastore backup before the first node (taken on a control-plane node, fetched, checksummed).
    await backupBeforeRollout(run, rollout);

    // 2. Each node (or batch of workers) in turn: exactly the steps of `upgrade`.
    const progress = await upgradeInTurn(run, rollout, channel, pauseAfter);

    // 3. The verification workload: a new deployment answers on every node's NodePort.
    await attempt(run, progress, 'verify', undefined, () => runVerifyWorkload(run, verifyName));

    // 4. The final word: which node runs what, and what is cordoned.
    await finalReportStep(run, channel, progress, rollout);

    // 5. What the upgrade does not upgrade: the enabled add-ons and the CNI (the seed's IMPORTANT NOTE).
    await reportWhatTheUpgradeLeft(run, channel);
    // 6. Windows workers are no snap nodes: offer `windows-worker upgrade` for each one behind.
    await offerWindowsUpgrades(run);
  },
  { describeState: (run) => clusterState(run) },
);
