import * as z from 'zod';
import { HoldValue, NodeOrAll } from '../src/commands/validators.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { applyHold, describeHoldSpec, holdCommand, holdSpecOf, holdTargets, validateHoldTarget } from '../src/ops/holds.ts';
import { describeRecord, describeSnapStates, recordNodeState } from '../src/ops/node-records.ts';

/**
 * Hold snap refreshes of MicroK8s — the seed's "Holding upgrades": for a
 * duration, until a time, or forever (the default), on one node or all of them.
 */
export default defineRunbook(
  {
    verb: 'hold',
    usage: 'hold <node|all> [24h|<RFC 3339 time>|forever]',
    example: 'hold all 24h',
    summary: 'Hold snap refreshes of MicroK8s on a node (or all): for a duration, until a time, or forever (default)',
    positional: ['node', 'until'],
    args: z.object({ node: NodeOrAll, until: HoldValue.default('forever') }),
    mutating: true,
    validate: ({ node }, cluster) => validateHoldTarget(cluster, node),
    plan: ({ node, until }, cluster) => {
      const spec = holdSpecOf(until);
      return holdTargets(cluster, node).map((n) => ({ title: `hold refreshes on ${n}`, node: n, commands: [holdCommand(spec), 'snap list microk8s'] }));
    },
  },
  async (run, { node, until }) => {
    const spec = holdSpecOf(until);
    const nodes = holdTargets(run.cluster, node);
    await run.approvePlan({
      title: `Hold refreshes of MicroK8s on ${node === 'all' ? `all ${nodes.length} nodes` : node} ${describeHoldSpec(spec)}`,
      what: `Run \`snap refresh --hold\` on ${nodes.join(', ')}: snapd will not refresh MicroK8s there ${describeHoldSpec(spec)} (an explicit \`snap refresh microk8s\` still can).`,
      nodes,
    });
    for (const n of nodes) {
      await run.step(`hold refreshes on ${n}`, async () => {
        const result = await applyHold(run, n, spec);
        const record = await recordNodeState(run, n, { scope: 'hold' });
        return { until: result.until ?? 'forever', record: describeRecord(record), drift: record.drift.join('; ') };
      }, { describe: (r) => `held ${r.until === 'forever' ? 'indefinitely' : `until ${r.until}`} · recorded ${r.record}${r.drift ? ` · ⚠️ changed outside the bot: ${r.drift}` : ''}` });
    }
  },
  { describeState: (run, { node }) => describeSnapStates(run, holdTargets(run.cluster, node)) },
);
