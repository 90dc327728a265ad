/**
 * The worker's API-server proxy (the seed's Worker 节点 paragraph): the control-plane endpoints
 * in `args/traefik/provider.yaml`, and `--refresh-interval` in `args/apiserver-proxy` (`0` when a
 * load balancer is configured by hand, so the proxy does not overwrite it; `30s` by default).
 */
import { sha256 } from '../util/sha256.ts';
import type { ClusterConfig } from '../config/inventory.ts';
import { errorText, type PlanApproval, type RunContext } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import {
  APISERVER_PROXY_ARGS,
  DEFAULT_REFRESH_INTERVAL,
  PROVIDER_YAML,
  argValue,
  providerServers,
  refreshDisabled,
  setArg,
  setProviderServers,
} from '../microk8s/args-files.ts';
import type { KubeNode } from '../microk8s/types.ts';
import { pickControlPlane, requireKubeNode } from './controller.ts';
import { waitForLeaseRenewal } from './heartbeat.ts';
import { sentence } from './prose.ts';

export const PROXY_SERVICE = 'microk8s.daemon-apiserver-proxy';

export type ProxyMode = { kind: 'lb'; address: string } | { kind: 'auto' };

export const titles = {
  preflight: (node: string) => `preflight: read ${node}'s API-server proxy settings`,
  backup: (node: string) => `back up ${node}'s proxy settings`,
  write: (node: string) => `write the new proxy settings on ${node}`,
  restart: (node: string) => `restart the API-server proxy on ${node}`,
  check: (node: string) => `check ${node} stays Ready`,
  restore: (node: string) => `restore ${node}'s previous proxy settings`,
  recheckRestored: (node: string) => `check ${node} is Ready with the previous settings`,
};

/** Inventory checks: a known, Linux worker node. */
export function validateProxyNode(cluster: ClusterConfig, node: string): string | undefined {
  const cfg = cluster.nodes.find((n) => n.name === node);
  if (!cfg) return `unknown node '${node}' in cluster ${cluster.name}; its nodes are ${cluster.nodes.map((n) => n.name).join(', ')}`;
  if (cfg.role !== 'worker') {
    return `${node} is a control-plane node: the API-server proxy runs only on worker nodes (a control-plane node talks to its own API server). Pick a worker: ${cluster.nodes.filter((n) => n.role === 'worker').map((n) => n.name).join(', ') || 'this cluster has none'}.`;
  }
  if (cfg.os === 'windows') return `${node} is a Windows worker: it does not run the MicroK8s API-server proxy.`;
  return undefined;
}

export function proxyPlan(node: string, mode: ProxyMode, cluster: ClusterConfig): PlanStep[] {
  const controller = cluster.nodes.find((n) => n.role === 'control-plane')?.name;
  const files = [APISERVER_PROXY_ARGS, PROVIDER_YAML];
  const servers = mode.kind === 'lb' ? mode.address : '<InternalIP of each Ready control-plane node>:16443';
  const interval = mode.kind === 'lb' ? '0' : DEFAULT_REFRESH_INTERVAL;
  return [
    {
      title: titles.preflight(node),
      node,
      commands: [`(${controller ?? 'control plane'}) microk8s kubectl get nodes -o json`, 'sudo microk8s status --format yaml', ...files.map((f) => `sudo cat ${f}`)],
    },
    { title: titles.backup(node), node, commands: files.map((f) => `sudo cp -p ${f} ${f}.mk8s-<time>`) },
    {
      title: titles.write(node),
      node,
      commands: [
        `provider.yaml: tcp.services.kube-apiserver.loadBalancer.servers = [${servers}]`,
        `apiserver-proxy: --refresh-interval ${interval}`,
        ...files.flatMap((f) => ['(SFTP) put ~/.mk8s-ops-<job>-<random>', `sudo cp -p ${f} ${f}.mk8s-next`, `sudo cp ~/.mk8s-ops-<job>-<random> ${f}.mk8s-next`, `sudo mv -f ${f}.mk8s-next ${f}`]),
      ],
    },
    { title: titles.restart(node), node, commands: [`sudo snap restart ${PROXY_SERVICE}`] },
    {
      title: titles.check(node),
      node,
      commands: [
        `snap services ${PROXY_SERVICE}`,
        `(${controller ?? 'control plane'}) microk8s kubectl get lease ${node} -n kube-node-lease -o json (until renewed)`,
        `(${controller ?? 'control plane'}) microk8s kubectl wait --for=condition=Ready node/${node} --timeout=<readyTimeout>`,
      ],
    },
  ];
}

function sha(text: string | undefined): string | null {
  return text === undefined ? null : sha256(text);
}

export type ProxyPreflight = {
  controller: string;
  stamp: string;
  wasReady: boolean;
  refreshBefore: string | null;
  serversBefore: string[] | null;
  refreshAfter: string;
  serversAfter: string[];
  argsExists: boolean;
  providerExists: boolean;
  argsSha: string | null;
  providerSha: string | null;
  argsChanged: boolean;
  providerChanged: boolean;
  warnings: string[];
};

/** The endpoints `--auto` writes: what the proxy itself discovers, every Ready control-plane node's InternalIP:16443. */
export function controlPlaneEndpoints(cluster: ClusterConfig, nodes: KubeNode[]): string[] {
  const cps = new Set(cluster.nodes.filter((n) => n.role === 'control-plane').map((n) => n.name));
  return nodes
    .filter((n) => (n.role === 'control-plane' || cps.has(n.name)) && n.ready && n.internalIp)
    .map((n) => `${n.internalIp}:16443`)
    .toSorted();
}

export interface ProxyFiles {
  args: string | undefined;
  provider: string | undefined;
}

/** The worker's args/apiserver-proxy and provider.yaml (undefined: the file does not exist). */
export async function readProxyFiles(run: RunContext, node: string): Promise<ProxyFiles> {
  const ops = run.node(node);
  return { args: await ops.readFile(APISERVER_PROXY_ARGS), provider: await ops.readFile(PROVIDER_YAML) };
}

/** The files as they should be, from what they are now. */
export function desiredFiles(now: ProxyFiles, servers: string[], refresh: string): { args: string; provider: string } {
  return { args: setArg(now.args ?? '', '--refresh-interval', refresh), provider: setProviderServers(now.provider, servers) };
}

function sameServers(a: readonly string[] | null | undefined, b: readonly string[]): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Reads the worker: in the cluster, answering as a worker, its current proxy files; and what the
 * files should become. Never touches anything.
 */
export async function preflightProxy(run: RunContext, node: string, mode: ProxyMode, stamp: string): Promise<ProxyPreflight> {
  const controller = await pickControlPlane(run, { avoid: node });
  const kube = requireKubeNode(controller.nodes, node);
  const ops = run.node(node);
  const status = await ops.status();
  if (!status.worker) {
    throw new RunbookFailure(`${node} is a worker in the inventory, but MicroK8s on it answers as a control-plane node (microk8s status runs there). Nothing was changed; check the inventory.`);
  }
  const files = await readProxyFiles(run, node);
  if (files.args === undefined) {
    throw new RunbookFailure(`${node} has no ${APISERVER_PROXY_ARGS}: is it a MicroK8s worker joined with --worker? Nothing was changed.`);
  }
  const serversAfter = mode.kind === 'lb' ? [mode.address] : controlPlaneEndpoints(run.cluster, controller.nodes);
  if (serversAfter.length === 0) throw new RunbookFailure(`No Ready control-plane node with an InternalIP is in \`kubectl get nodes\`: there is nothing to point ${node}'s proxy at. Nothing was changed.`);
  const refreshAfter = mode.kind === 'lb' ? '0' : DEFAULT_REFRESH_INTERVAL;
  const refreshBefore = argValue(files.args, '--refresh-interval') ?? null;
  const serversBefore = files.provider === undefined ? null : (providerServers(files.provider) ?? null);
  const warnings: string[] = [];
  if (!kube.ready) warnings.push(`${node} is NotReady now; the new settings must bring it back, or the job fails and offers to restore the old ones.`);
  if (mode.kind === 'lb' && serversBefore && !serversBefore.includes(mode.address) && !refreshDisabled(refreshBefore ?? undefined)) {
    warnings.push(`${node} stops discovering control-plane nodes by itself: if ${mode.address} goes away, so does its API access.`);
  }
  return {
    controller: controller.name,
    stamp,
    wasReady: kube.ready,
    refreshBefore,
    serversBefore,
    refreshAfter,
    serversAfter,
    argsExists: true,
    providerExists: files.provider !== undefined,
    argsSha: sha(files.args),
    providerSha: sha(files.provider),
    argsChanged: refreshBefore !== refreshAfter,
    providerChanged: !sameServers(serversBefore, serversAfter),
    warnings,
  };
}

/** True when the files are as they were at preflight (for the re-check after the approval). */
export async function unchangedSince(run: RunContext, node: string, pre: ProxyPreflight): Promise<string | undefined> {
  const files = await readProxyFiles(run, node);
  const changed: string[] = [];
  if (sha(files.args) !== pre.argsSha) changed.push(APISERVER_PROXY_ARGS);
  if (sha(files.provider) !== pre.providerSha) changed.push(PROVIDER_YAML);
  return changed.length > 0 ? `${changed.join(' and ')} on ${node} changed since the plan was approved` : undefined;
}

/** The proxy runs, the worker's kubelet renews its lease through it, and the node is Ready. */
export async function checkWorkerReady(run: RunContext, node: string): Promise<{ controller: string; heartbeat: string }> {
  const timeoutMs = run.cluster.policy.readyTimeout;
  const current = await run.node(node).serviceState(PROXY_SERVICE);
  if (current !== 'active') {
    throw new RunbookFailure(`The API-server proxy on ${node} is not running after the restart (snap services says ${current ?? 'nothing about it'}): it could not start with these settings.`);
  }
  const controller = await pickControlPlane(run, { avoid: node });
  const lease = await waitForLeaseRenewal(run, controller.name, node, timeoutMs);
  await controller.ops.waitNodeReady(node, Math.max(1, Math.ceil(timeoutMs / 1000)));
  return { controller: controller.name, heartbeat: new Date(lease.renewed).toISOString() };
}

export function describeChange(pre: ProxyPreflight): string[] {
  const servers = (s: string[] | null) => (s === null ? 'unreadable' : s.join(', ') || 'none');
  return [
    `provider.yaml API servers: ${servers(pre.serversBefore)} → ${pre.serversAfter.join(', ')}${pre.providerChanged ? '' : ' (unchanged)'}`,
    `apiserver-proxy --refresh-interval: ${pre.refreshBefore ?? 'unset (30s)'} → ${pre.refreshAfter}${pre.argsChanged ? '' : ' (unchanged)'}`,
  ];
}

/** Step 0: the preflight, as a step. */
export function preflightProxyStep(run: RunContext, node: string, mode: ProxyMode, stamp: string): Promise<ProxyPreflight> {
  return run.step(titles.preflight(node), () => preflightProxy(run, node, mode, stamp), {
    describe: (p) => `${describeChange(p).join('; ')}${p.warnings.length ? `; ⚠️ ${p.warnings.join(' ')}` : ''}`,
  });
}

/** The approval of the change, with its re-check (the files are as the preflight read them). */
export function proxyApproval(run: RunContext, node: string, mode: ProxyMode, pre: ProxyPreflight): PlanApproval {
  return {
    title: mode.kind === 'lb' ? `Point ${node}'s API-server proxy at ${mode.address}` : `Restore automatic API-server discovery on ${node}`,
    what: `${pre.warnings.length ? `⚠️ ${pre.warnings.join(' ')}\n` : ''}${describeChange(pre).join('\n')}\nThen restart ${PROXY_SERVICE} and check ${node}'s kubelet still reaches the API.`,
    why: `kubelet and kube-proxy on ${node} reach the API servers only through this proxy: a wrong address makes ${node} NotReady. The old files are kept as backups, and a failed check offers to restore them.`,
    nodes: [node],
    recheck: async () => {
      const changed = await unchangedSince(run, node, pre);
      if (changed) throw new RunbookFailure(`${changed}. Nothing was done; request the change again.`);
      return true;
    },
  };
}

export type ProxyBackup = { file: string; backup: string };

/** Step 1: keep a copy of each file (cp -p: content, owner, mode). */
export function backupProxyFilesStep(run: RunContext, node: string, pre: ProxyPreflight): Promise<ProxyBackup[]> {
  return run.step(titles.backup(node), async () => {
    const ops = run.node(node);
    const out: ProxyBackup[] = [];
    for (const [file, exists] of [[APISERVER_PROXY_ARGS, pre.argsExists], [PROVIDER_YAML, pre.providerExists]] as const) {
      if (exists) out.push({ file, backup: await ops.backupFile(file, pre.stamp) });
    }
    return out;
  }, { describe: (b) => b.map((x) => x.backup).join(', ') || 'no file to back up' });
}

/** Step 2: write the new files (only what differs), each by an atomic rename. */
export function writeProxyFilesStep(run: RunContext, node: string, pre: ProxyPreflight): Promise<string[]> {
  return run.step(titles.write(node), async () => {
    const ops = run.node(node);
    const now = await readProxyFiles(run, node);
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
}

/**
 * Step 3: restart the proxy and check the worker still reaches the API through it. A failure
 * offers to restore the backups (offerRestore), and ends the job as failed either way.
 */
export async function restartAndCheckStep(run: RunContext, node: string, backups: ProxyBackup[]): Promise<void> {
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
}

/** The last word: where the worker's API traffic goes now. */
export function proxyDoneText(node: string, mode: ProxyMode, pre: ProxyPreflight, backups: readonly ProxyBackup[]): string {
  return mode.kind === 'lb'
    ? `${node} reaches the API through ${mode.address}; automatic discovery of control-plane nodes is off (--refresh-interval 0). Backups: ${backups.map((b) => b.backup).join(', ')}.`
    : `${node} uses the control-plane nodes ${pre.serversAfter.join(', ')} and refreshes the list every ${pre.refreshAfter}. Backups: ${backups.map((b) => b.backup).join(', ')}.`;
}

/** What the job left when it did not succeed: where the proxy points, its refresh, Ready. */
export async function describeProxy(run: RunContext, node: string): Promise<string> {
  const files = await readProxyFiles(run, node);
  const servers = files.provider === undefined ? 'no provider.yaml' : (providerServers(files.provider)?.join(', ') ?? 'unreadable provider.yaml');
  const interval = argValue(files.args ?? '', '--refresh-interval') ?? 'unset';
  const controller = await pickControlPlane(run, { avoid: node }).catch(() => undefined);
  const kube = controller?.nodes.find((n) => n.name === node);
  return `${node}: proxy → ${servers}, --refresh-interval ${interval}, ${kube ? (kube.ready ? 'Ready' : 'NotReady') : 'not seen by kubectl'}`;
}

export function sameList(a: string[] | undefined, b: string[]): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The worker did not come back with the new settings: offer to put the backups back (and restart
 * the proxy, and check again), or to leave it as it is. Always ends the job as failed.
 */
export async function offerRestore(run: RunContext, node: string, backups: { file: string; backup: string }[], problem: string): Promise<never> {
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
