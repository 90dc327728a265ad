import * as z from 'zod';
import { FailureDomain, FailurePlan, NodeName } from '../src/commands/validators.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { backupStamp } from '../src/microk8s/node.ts';
import { describeDomains, notesText, preflightStep, restartApproval, setDomainOn } from '../src/ops/failure-domain.ts';
import { assignments, failureDomainPlan, preflightFailureDomains, validateAssignments } from '../src/ops/failure-domains.ts';

const Args = z
  .object({ node: NodeName.optional(), domain: FailureDomain.optional(), plan: FailurePlan.optional() })
  .superRefine((a, ctx) => {
    if (a.plan !== undefined && (a.node !== undefined || a.domain !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['plan'], message: 'give either <node> <n> or --plan node=n,…, not both' });
    } else if (a.plan === undefined) {
      if (a.node === undefined) ctx.addIssue({ code: 'custom', path: ['node'], message: 'missing' });
      if (a.domain === undefined) ctx.addIssue({ code: 'custom', path: ['domain'], message: 'missing' });
    }
  });

/**
 * Set failure domains — the seed's 设置故障域: write `failure-domain=<n>` to
 * `/var/snap/microk8s/current/args/ha-conf`, then `microk8s stop; microk8s start` on that node so
 * dqlite picks it up. Several nodes (`--plan`) go one at a time: each must be Ready again, with
 * the quorum intact, before the next one stops.
 */
export default defineRunbook(
  {
    verb: 'failure-domain',
    usage: 'failure-domain <node> <n> | failure-domain --plan <node>=<n>,…',
    example: 'failure-domain k8s-1 2',
    summary: 'Set the dqlite failure domain of control-plane nodes (args/ha-conf) and restart them one at a time',
    positional: ['node', 'domain'],
    flags: { plan: { key: 'plan', type: 'string', describe: 'several nodes, one at a time: k8s-1=1,k8s-2=2,k8s-3=3' } },
    args: Args,
    mutating: true,
    validate: (args, cluster) => validateAssignments(cluster, assignments(args)),
    plan: (args, cluster) => failureDomainPlan(assignments(args), cluster),
  },
  async (run, args) => {
    const wanted = assignments(args);

    // 0. Read every node of the plan: Ready, dqlite role, what ha-conf says and what dqlite uses.
    const pre = await preflightStep(run, () => preflightFailureDomains(run, wanted, backupStamp(new Date())));
    const todo = pre.nodes.filter((n) => n.action !== 'skip');
    if (todo.length === 0) {
      await run.say(`Nothing to do: ${pre.nodes.map((n) => `${n.node} is already in failure domain ${n.domain}`).join(', ')}.${notesText(run, pre)}`);
      return;
    }
    await run.approvePlan(restartApproval(run, pre, todo));

    // 1. One node at a time: quorum check, ha-conf, stop/start, Ready in the new domain.
    const done: string[] = [];
    for (const target of todo) {
      await setDomainOn(run, pre, target, done);
      done.push(`${target.node} → ${target.domain}`);
    }

    await run.say(`Failure domains set: ${pre.nodes.map((n) => `${n.node} → ${n.domain}`).join(', ')}.${notesText(run, pre)}`);
  },
  { describeState: (run, args) => describeDomains(run, assignments(args).map((a) => a.node)) },
);
