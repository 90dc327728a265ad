import * as z from 'zod';
import { defineRunbook } from '../src/engine/define.ts';
import { describeNodes } from '../src/ops/upgrade.ts';
import { runVerifyWorkload, verifyPlan, verifyWorkloadName, VERIFY_IMAGE } from '../src/ops/verify-workload.ts';

/**
 * `verify` — the seed's "通过部署新工作负载进行验证" on its own: deploy microbot with one
 * more replica than nodes, expose it as a NodePort service, curl it on every node, require
 * answers from more than one pod, delete it. Read-only in spirit, but it creates a workload,
 * so it takes the cluster hold and shows its plan for approval like any mutating verb.
 */
export default defineRunbook(
  {
    verb: 'verify',
    usage: 'verify',
    example: 'verify',
    summary: `Check the cluster serves traffic: deploy ${VERIFY_IMAGE} (one more replica than nodes), curl its NodePort on every node, require answers from more than one pod, delete it`,
    positional: [],
    args: z.object({}),
    mutating: true,
    validate: (_args, cluster) => (cluster.nodes.some((n) => n.os !== 'windows') ? undefined : `cluster ${cluster.name} has no Linux node to curl from`),
    plan: (_args, cluster) => verifyPlan(cluster, verifyWorkloadName('<job>')),
  },
  async (run) => {
    const name = verifyWorkloadName(run.jobId);
    run.setPlan(verifyPlan(run.cluster, name));
    await run.approvePlan({
      title: `Run the verification workload ${name}`,
      what: `Create deployment ${name} (${VERIFY_IMAGE}) with one more replica than nodes, expose it as a NodePort service, curl it from every node, then delete it.`,
    });
    await runVerifyWorkload(run, name);
  },
  { describeState: (run) => describeNodes(run, run.cluster.nodes.filter((n) => n.os !== 'windows').map((n) => n.name)) },
);
