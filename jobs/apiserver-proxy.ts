import * as z from 'zod';
import { NodeName } from '../src/commands/validators.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { parseLbAddress } from '../src/microk8s/args-files.ts';
import { backupStamp } from '../src/microk8s/node.ts';
import {
  backupProxyFilesStep,
  describeProxy,
  preflightProxyStep,
  proxyApproval,
  proxyDoneText,
  proxyPlan,
  restartAndCheckStep,
  validateProxyNode,
  writeProxyFilesStep,
  type ProxyMode,
} from '../src/ops/apiserver-proxy.ts';
import { excerpt } from '../src/util/excerpt.ts';

/** `host:port` of a load balancer, normalised; re-parses its own output. */
const LbAddress = z.string().transform((value, ctx) => {
  const parsed = parseLbAddress(value);
  if (typeof parsed === 'string') {
    ctx.issues.push({ code: 'custom', message: parsed, input: excerpt(value) });
    return z.NEVER;
  }
  return parsed.address;
});

const Args = z
  .object({ node: NodeName, lb: LbAddress.optional(), auto: z.boolean().optional() })
  .superRefine((a, ctx) => {
    if (a.lb !== undefined && a.auto === true) ctx.addIssue({ code: 'custom', path: ['lb'], message: 'give --lb host:port or --auto, not both' });
    else if (a.lb === undefined && a.auto !== true) ctx.addIssue({ code: 'custom', path: ['lb'], message: 'say where the proxy should send API traffic: --lb host:port (your load balancer) or --auto (discover the control-plane nodes)' });
  });

function modeOf(args: { lb?: string | undefined; auto?: boolean | undefined }): ProxyMode {
  return args.lb !== undefined ? { kind: 'lb', address: args.lb } : { kind: 'auto' };
}

/**
 * The worker's API-server proxy — the seed's Worker 节点 paragraph: with a load balancer in front
 * of the API servers, put its address in `args/traefik/provider.yaml` and set
 * `--refresh-interval 0` in `args/apiserver-proxy` (or, with `--auto`, go back to the control-plane
 * endpoints and the automatic refresh), restart the proxy, and check the worker stays Ready.
 */
export default defineRunbook(
  {
    verb: 'apiserver-proxy',
    usage: 'apiserver-proxy <worker> --lb <host:port> | apiserver-proxy <worker> --auto',
    example: 'apiserver-proxy w1 --lb 10.0.0.100:16443',
    summary: "Point a worker's API-server proxy at a load balancer (refresh off), or back to automatic discovery",
    positional: ['node'],
    flags: {
      lb: { key: 'lb', type: 'string', describe: 'the load balancer in front of the API servers, host:port' },
      auto: { key: 'auto', type: 'boolean', describe: 'use the control-plane nodes and refresh the list automatically (30s)' },
    },
    args: Args,
    mutating: true,
    validate: ({ node }, cluster) => validateProxyNode(cluster, node),
    plan: (args, cluster) => proxyPlan(args.node, modeOf(args), cluster),
  },
  async (run, args) => {
    const { node } = args;
    const mode = modeOf(args);

    // 0. Read the worker and its proxy files; work out the new ones.
    const pre = await preflightProxyStep(run, node, mode, backupStamp(new Date()));
    if (!pre.argsChanged && !pre.providerChanged) {
      await run.say(`Nothing to do: ${node}'s proxy already uses ${pre.serversAfter.join(', ')} with --refresh-interval ${pre.refreshAfter}.`);
      return;
    }
    await run.approvePlan(proxyApproval(run, node, mode, pre));

    // 1. Keep a copy of each file (cp -p: content, owner, mode).
    const backups = await backupProxyFilesStep(run, node, pre);

    // 2. Write the new files (only what differs), each by an atomic rename.
    await writeProxyFilesStep(run, node, pre);

    // 3. Restart the proxy and check the worker still reaches the API through it (else offer to restore).
    await restartAndCheckStep(run, node, backups);

    await run.say(proxyDoneText(node, mode, pre, backups));
  },
  { describeState: (run, { node }) => describeProxy(run, node) },
);
