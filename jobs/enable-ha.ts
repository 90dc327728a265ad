import * as z from 'zod';
import { defineRunbook } from '../src/engine/define.ts';
import {
  cycleNode,
  describeEnableHa,
  enableHaApproval,
  enableHaDryPlan,
  enableOnMainStep,
  enablePlan,
  preflightEnableStep,
  reportHaStateStep,
} from '../src/ops/enable-ha.ts';

const Args = z.object({});

/**
 * Enable HA on an existing cluster — the seed's 升级现有集群: every node must run 1.19+;
 * `microk8s enable ha-cluster` on the main node; then each other node in turn (its own
 * approval) is drained, leaves, gets ha-cluster, joins again through add-node, and is uncordoned.
 */
export default defineRunbook(
  {
    verb: 'enable-ha',
    usage: 'enable-ha',
    example: 'enable-ha',
    summary: 'Turn an old (pre-1.19 style) cluster into an HA one: enable ha-cluster on the main node, then re-join every other node, one at a time',
    positional: [],
    args: Args,
    mutating: true,
    plan: (_args, cluster) => enableHaDryPlan(cluster),
  },
  async (run) => {
    // 0. Every node runs 1.19 or newer; the main node; which nodes must cycle.
    const pre = await preflightEnableStep(run);
    run.setPlan(enablePlan(pre.main, pre.cycle));
    await run.approvePlan(enableHaApproval(run, pre));

    // 1. `microk8s enable ha-cluster` on the main node.
    await enableOnMainStep(run, pre);

    // 2. Each other node in turn, with its own approval: drain, leave, enable ha-cluster, join again, uncordon.
    const done: string[] = [];
    for (const c of pre.cycle) {
      await cycleNode(run, pre, c, done);
      done.push(c.node);
    }

    // 3. The HA state.
    await reportHaStateStep(run, pre);
  },
  { describeState: (run) => describeEnableHa(run) },
);
