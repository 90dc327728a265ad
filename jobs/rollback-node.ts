import * as z from 'zod';
import { NodeName } from '../src/commands/validators.ts';
import { nodeInCluster } from '../src/config/inventory.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { drainStep } from '../src/ops/drain.ts';
import { readRollbackStep, reapplyHoldStep, recordRolledBackStep, revertStep, rollbackPlan, uncordonIfAsked, waitBackStep } from '../src/ops/rollback.ts';
import { describeNodes } from '../src/ops/upgrade.ts';

/**
 * Roll a node back to the snap revision it ran before the bot refreshed it —
 * the seed's "失败时回滚": drain it, `sudo snap revert microk8s`, check the old
 * version is back and Ready, re-apply its refresh hold, and uncordon it only
 * when someone asks.
 *
 * The revision to return to is the one recorded before the refresh: the failed
 * upgrade's rollback record (the "Roll back" button passes it) or the bot's node
 * record (src/store/node-records.ts). If the node runs something else — neither the
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
    plan: ({ node }, cluster) => rollbackPlan(node, cluster.nodes),
  },
  async (run, args) => {
    const { node, fromJob } = args;
    // 0. What the node runs, what to return to, and whether snapd can.
    const before = await readRollbackStep(run, args);

    // snap revert also restores the old revision's data directory (dqlite data, args): destructive.
    await run.approval({
      title: `Roll back ${node} with snap revert`,
      what: before.alreadyBack
        ? `${node} already runs revision ${before.target.revision}; only the wait, the hold and the uncordon question remain.`
        : `Drain ${node} and run \`snap revert microk8s\`, from ${before.version} (rev ${before.revision}) back to ${before.target.version} (rev ${before.target.revision})${fromJob ? `, undoing job ${fromJob}` : ''}.`,
      why: 'snap revert switches MicroK8s back to the previous revision and its data directory, discarding datastore and configuration changes made since the refresh.',
      nodes: [node],
      destructive: true,
    });

    // 1. Drain, 2. revert, 3. wait until it is Ready on the recorded revision.
    await drainStep(run, [node], () => before.controller);
    await revertStep(run, node, before);
    await waitBackStep(run, node, before);

    // 4. Its refresh hold again, 5. the record (nothing to return to from here), 6. uncordon when asked.
    if (before.hold !== undefined) await reapplyHoldStep(run, node, before.hold);
    await recordRolledBackStep(run, node);
    await uncordonIfAsked(run, node, before, fromJob);
  },
  { describeState: (run, { node }) => describeNodes(run, [node]) },
);
