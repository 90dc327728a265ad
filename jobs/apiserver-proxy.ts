import * as z from 'zod';
import { excerpt } from '../src/util/excerpt.ts';
import { NodeName } from '../src/commands/validators.ts';
import { errorText } from '../src/engine/context.ts';
import type { RunContext } from '../src/engine/context.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { RunbookFailure } from '../src/engine/errors.ts';
import { APISERVER_PROXY_ARGS, PROVIDER_YAML, parseLbAddress, providerServers } from '../src/microk8s/args-files.ts';
import { backupStamp } from '../src/microk8s/node.ts';
import {
  PROXY_SERVICE,
  checkWorkerReady,
  describeChange,
  desiredFiles,
  preflightProxy,
  proxyPlan,
  readProxyFiles,
  titles,
  unchangedSince,
  validateProxyNode,
  type ProxyMode,
  type ProxyPreflight,
} from '../src/ops/apiserver-proxy.ts';
import { pickControlPlane } from '../src/ops/controller.ts';

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
    const pre: ProxyPreflight = await run.step(titles.preflight(node), () => preflightProxy(run, node, mode, backupStamp(new Date())), {
      describe: (p) => `${describeChange(p).join('; ')}${p.warnings.length ? `; ⚠️ ${p.warnings.join(' ')}` : ''}`,
    });
    if (!pre.argsChanged && !pre.providerChanged) {
      await run.say(`Nothing to do: ${node}'s proxy already uses ${pre.serversAfter.join(', ')} with --refresh-interval ${pre.refreshAfter}.`);
      return;
    }

    await run.approvePlan({
      title: mode.kind === 'lb' ? `Point ${node}'s API-server proxy at ${mode.address}` : `Restore automatic API-server discovery on ${node}`,
      what: `${pre.warnings.length ? `⚠️ ${pre.warnings.join(' ')}\n` : ''}${describeChange(pre).join('\n')}\nThen restart ${PROXY_SERVICE} and check ${node}'s kubelet still reaches the API.`,
      why: `kubelet and kube-proxy on ${node} reach the API servers only through this proxy: a wrong address makes ${node} NotReady. The old files are kept as backups, and a failed check offers to restore them.`,
      nodes: [node],
      recheck: async () => {
        const changed = await unchangedSince(run, node, pre);
        if (changed) throw new RunbookFailure(`${changed}. Nothing was done; request the change again.`);
        return true;
      },
    });

    // 1. Keep a copy of each file (cp -p: content, owner, mode).
    const backups = await run.step(titles.backup(node), async () => {
      const ops = run.node(node);
      const out: { file: string; backup: string }[] = [];
      for (const [file, exists] of [[APISERVER_PROXY_ARGS, pre.argsExists], [PROVIDER_YAML, pre.providerExists]] as const) {
        if (exists) out.push({ file, backup: await ops.backupFile(file, pre.stamp) });
      }
      return out;
    }, { describe: (b) => b.map((x) => x.backup).join(', ') || 'no file to back up' });

    // 2. Write the new files (only what differs), each by an atomic rename.
    await run.step(titles.write(node), async () => {
      const ops = run.node(node);
      const now = await readProxyFiles(ops);
      const want = desiredFiles(now, pre.serversAfter, pre.refreshAfter);
      const written: string[] = [];
      if (now.provider === undefined || !sameList(providerServers(now.provider), pre.serversAfter)) {
        await ops.writeFile(PROVIDER_YAML, want.provider, run.jobId, now.provider !== undefined);
        written.push('provider.yaml');
      }
      if (want.args !== now.args && pre.argsChanged) {
        await ops.writeFile(APISERVER_PROXY_ARGS, want.args, run.jobId, now.args !== undefined);
        written.push('apiserver-proxy');
      }
      return written;
    }, { describe: (w) => (w.length > 0 ? `wrote ${w.join(' and ')}` : 'already written') });

    // 3. Restart the proxy and check the worker still reaches the API through it.
    const restarted = await run.attempt(async () => {
      await run.step(titles.restart(node), async () => {
        await run.node(node).restartService(PROXY_SERVICE);
        return 'restarted';
      }, { describe: (r) => r });
      await run.step(titles.check(node), () => checkWorkerReady(run, node), {
        describe: (r) => `proxy active; kubelet heartbeat at ${r.heartbeat} (seen from ${r.controller}); Ready`,
      });
    });
    if (!restarted.ok) await offerRestore(run, node, backups, errorText(restarted.error));

    await run.say(
      mode.kind === 'lb'
        ? `${node} reaches the API through ${mode.address}; automatic discovery of control-plane nodes is off (--refresh-interval 0). Backups: ${backups.map((b) => b.backup).join(', ')}.`
        : `${node} uses the control-plane nodes ${pre.serversAfter.join(', ')} and refreshes the list every ${pre.refreshAfter}. Backups: ${backups.map((b) => b.backup).join(', ')}.`,
    );
  },
  {
    describeState: async (run, { node }) => {
      const files = await readProxyFiles(run.node(node));
      const servers = files.provider === undefined ? 'no provider.yaml' : (providerServers(files.provider)?.join(', ') ?? 'unreadable provider.yaml');
      const interval = /^--refresh-interval(?:=|\s+)(\S+)/m.exec(files.args ?? '')?.[1] ?? 'unset';
      const controller = await pickControlPlane(run, { avoid: node }).catch(() => undefined);
      const kube = controller?.nodes.find((n) => n.name === node);
      return `${node}: proxy → ${servers}, --refresh-interval ${interval}, ${kube ? (kube.ready ? 'Ready' : 'NotReady') : 'not seen by kubectl'}`;
    },
  },
);

function sameList(a: string[] | undefined, b: string[]): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The worker did not come back with the new settings: offer to put the backups back (and restart
 * the proxy, and check again), or to leave it as it is. Always ends the job as failed.
 */
async function offerRestore(run: RunContext, node: string, backups: { file: string; backup: string }[], problem: string): Promise<never> {
  const pick = await run.choice({
    title: `${node} did not stay healthy with the new proxy settings`,
    what: `${sentence(problem)}\n*Restore* copies ${backups.map((b) => b.backup).join(' and ')} back, restarts the proxy and checks ${node} again; *Leave as is* stops here.`,
    nodes: [node],
    options: [
      { id: 'restore', label: 'Restore the previous settings', style: 'primary' },
      { id: 'leave', label: 'Leave as is' },
    ],
    onExpiry: 'leave',
  });
  if (pick !== 'restore') {
    throw new RunbookFailure(
      `${node}'s proxy settings were changed but ${node} did not pass the check: ${sentence(problem)} The previous files are kept as ${backups.map((b) => b.backup).join(' and ')}; copy them back (sudo cp -p <backup> <file>) and run \`sudo snap restart ${PROXY_SERVICE}\` on ${node}, or request \`apiserver-proxy ${node} --auto\`.`,
    );
  }
  await run.step(titles.restore(node), async () => {
    const ops = run.node(node);
    for (const { file, backup } of backups) await ops.restoreFile(backup, file);
    await ops.restartService(PROXY_SERVICE);
    return backups.map((b) => b.file);
  }, { describe: (files) => `restored ${files.join(', ')}; proxy restarted` });
  const healthy = await run.attempt(() => run.step(titles.recheckRestored(node), () => checkWorkerReady(run, node), { describe: (r) => `Ready; kubelet heartbeat at ${r.heartbeat}` }));
  if (!healthy.ok) {
    throw new RunbookFailure(`The new proxy settings failed (${problem}) and ${node} is still not healthy after restoring the previous ones: ${sentence(errorText(healthy.error))} Check ${node} by hand (sudo snap services ${PROXY_SERVICE}; journalctl -u snap.${PROXY_SERVICE}).`);
  }
  throw new RunbookFailure(`The new proxy settings failed on ${node}: ${sentence(problem)} The previous settings were restored and ${node} is healthy again; nothing else changed.`);
}

/** The text as a sentence: ends with a full stop (error messages often do not). */
function sentence(text: string): string {
  const t = text.trim();
  return /[.!?)]$/.test(t) ? t : `${t}.`;
}
