/**
 * The cluster side of a Windows worker (seed "Prepare the MicroK8s cluster"): the versions to
 * install, the preflight on the Windows node, calicoctl and strict affinity. Reads only until
 * the plan is approved; what is checkpointed holds no secret.
 */
import type { ClusterConfig } from '../config/inventory.ts';
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import { KB5040437, kubeVersionOf, minorOf, type WindowsFacts } from '../microk8s/parse-windows.ts';
import { trimChars } from '../util/text.ts';
import { pickControlPlane } from './controller.ts';

/** What the plan depends on; checkpointed. */
export interface WindowsPreflight {
  [key: string]: string | number | boolean | string[];
  node: string;
  controller: string;
  /** Exact Kubernetes version of the control plane, e.g. `1.27.5`. */
  kubeVersion: string;
  calicoVersion: string;
  /** `the calico-node DaemonSet` or `the inventory (windows.calicoVersion)` */
  calicoFrom: string;
  /** `present` (a calicoctl of some version at the path), or `fetch` (downloaded from the release URL). */
  calicoctl: 'present' | 'fetch';
  calicoctlVersion: string;
  productName: string;
  osBuild: string;
  lastBoot: string;
  inCluster: boolean;
  warnings: string[];
}

export function windowsNodes(cluster: ClusterConfig): string[] {
  return cluster.nodes.filter((n) => n.os === 'windows').map((n) => n.name);
}

/** The inventory check of every windows-worker verb. */
export function validateWindowsNode(node: string, cluster: ClusterConfig): string | undefined {
  const cfg = cluster.nodes.find((n) => n.name === node);
  const win = windowsNodes(cluster);
  if (!cfg) return `node "${node}" is not in cluster ${cluster.name} (its Windows nodes: ${win.join(', ') || 'none'})`;
  if (cfg.os !== 'windows') return `${node} is a Linux node in the inventory; windows-worker takes nodes with \`os: windows\` (${win.join(', ') || 'none in this cluster'}). For Linux nodes use add-node / remove-node / upgrade.`;
  return undefined;
}

export function calicoReleaseUrl(cluster: ClusterConfig, version: string): string {
  return `${trimChars(cluster.windows.calicoReleaseBaseUrl, '/', 'end')}/v${version}`;
}

export function calicoctlUrl(cluster: ClusterConfig, version: string): string {
  return `${calicoReleaseUrl(cluster, version)}/calicoctl-linux-amd64`;
}

/** The seed's KB5040437 note, when the node runs that build. */
export function knownBuildWarning(facts: Pick<WindowsFacts, 'build' | 'ubr' | 'osBuild'>): string | undefined {
  if (facts.build !== KB5040437.build || facts.ubr !== KB5040437.ubr) return undefined;
  return `OS build ${facts.osBuild} is the Windows Server 2022 July 2024 update (KB5040437), which breaks container networking on Kubernetes; see ${KB5040437.link} for details and the workaround.`;
}

async function readCalico(run: RunContext, controller: string): Promise<{ version: string; from: string }> {
  try {
    const c = await run.node(controller).windows.calicoVersion();
    return { version: c.version, from: `the calico-node DaemonSet (${c.image})` };
  } catch (err) {
    const configured = run.cluster.windows.calicoVersion;
    if (configured) return { version: configured.replace(/^v/, ''), from: 'the inventory (windows.calicoVersion)' };
    throw new RunbookFailure(`Cannot read the Calico version from ${controller} (${errorText(err)}). The cluster must run Calico; if it does, set windows.calicoVersion in the inventory. Nothing was changed.`);
  }
}

/**
 * Seed "Prepare the MicroK8s cluster" 1–2 plus the careful operator's checks on the Windows
 * node: reachable over SSH as an Administrator, its computer name is its inventory name, the
 * OS build (KB5040437 warning), whether it is a node of the cluster already; and calicoctl.
 */
export async function preflightWindows(run: RunContext, node: string): Promise<WindowsPreflight> {
  const controller = await pickControlPlane(run, { exclude: [node] });
  const self = controller.nodes.find((n) => n.name === controller.name);
  const kubeVersion = kubeVersionOf(self?.kubeletVersion ?? '');
  if (!kubeVersion) throw new RunbookFailure(`Cannot tell the Kubernetes version from ${controller.name}'s kubelet version "${self?.kubeletVersion ?? ''}". Nothing was changed.`);
  const calico = await readCalico(run, controller.name);
  const [major = 0, minor = 0] = calico.version.split('.').map(Number);
  if (major > 3 || (major === 3 && minor >= 31)) {
    throw new RunbookFailure(`The cluster runs Calico ${calico.version}: Calico for Windows v3.31 and later no longer ship the kubernetes\\ scripts (install-kube-services.ps1, kubelet-service.ps1) the seed's procedure uses. Set windows.calicoVersion to a v3.30 or older release. Nothing was changed.`);
  }

  let facts: WindowsFacts;
  try {
    facts = await run.windowsNode(node).facts();
  } catch (err) {
    throw new RunbookFailure(`Cannot run PowerShell on ${node}: ${errorText(err)}. Nothing was changed.`);
  }
  if (!facts.admin) throw new RunbookFailure(`The SSH account on ${node} is not an Administrator: the installers need an elevated PowerShell. Use an Administrator account (windows.user). Nothing was changed.`);
  if (facts.computerName.toLowerCase() !== node) {
    throw new RunbookFailure(`${node}'s computer name is "${facts.computerName.slice(0, 15)}": kubelet registers the node under its lowercased name, not ${node}. Rename the computer or the inventory entry. Nothing was changed.`);
  }
  const warnings: string[] = [];
  const kb = knownBuildWarning(facts);
  if (kb) warnings.push(kb);

  const path = run.cluster.windows.calicoctlPath;
  let found: string | undefined;
  try {
    found = await run.node(controller.name).windows.calicoctlVersion(path);
  } catch (err) {
    found = undefined;
    warnings.push(`calicoctl at ${path} on ${controller.name} could not be run (${errorText(err)})`);
  }
  if (!found && !run.cluster.windows.fetchCalicoctl) {
    const url = calicoctlUrl(run.cluster, calico.version);
    throw new RunbookFailure(
      `calicoctl is not on ${controller.name} at ${path}. Install calicoctl v${calico.version} there (\`sudo curl -L ${url} -o ${path} && sudo chmod +x ${path}\`), or set windows.fetchCalicoctl: true in the inventory to let the bot download it from ${url}. Nothing was changed.`,
    );
  }
  if (found && found !== calico.version) warnings.push(`calicoctl on ${controller.name} is v${found}, the cluster runs Calico v${calico.version}: it runs with --allow-version-mismatch, as the seed does.`);

  return {
    node,
    controller: controller.name,
    kubeVersion,
    calicoVersion: calico.version,
    calicoFrom: calico.from,
    calicoctl: found ? 'present' : 'fetch',
    calicoctlVersion: found ?? calico.version,
    productName: facts.productName,
    osBuild: facts.osBuild,
    lastBoot: facts.lastBoot,
    inCluster: controller.nodes.some((n) => n.name === node),
    warnings,
  };
}

/** Seed "Prepare the MicroK8s cluster" 4: calicoctl (downloaded when planned so), strict affinity. */
export async function prepareCalico(run: RunContext, pre: WindowsPreflight): Promise<string> {
  const side = run.node(pre.controller).windows;
  const path = run.cluster.windows.calicoctlPath;
  let fetched = '';
  if (pre.calicoctl === 'fetch' && !(await side.calicoctlVersion(path))) {
    await side.fetchCalicoctl(calicoctlUrl(run.cluster, pre.calicoVersion), path);
    fetched = `calicoctl v${pre.calicoVersion} downloaded to ${path}; `;
  }
  await side.setStrictAffinity(path);
  return `${fetched}StrictAffinity true (on ${pre.controller})`;
}

/** --to: not newer than the control plane (kubelet must never be ahead of the API server), at most two minors older. */
export function upgradeTarget(pre: Pick<WindowsPreflight, 'kubeVersion'>, to: string | undefined): string {
  if (!to) return pre.kubeVersion;
  const want = to.replace(/^v/, '');
  const cm = minorOf(pre.kubeVersion) ?? 0;
  const wm = minorOf(want) ?? 0;
  const newer = wm > cm || (wm === cm && want.localeCompare(pre.kubeVersion, undefined, { numeric: true }) > 0);
  if (newer) throw new RunbookFailure(`--to ${want} is newer than the control plane (${pre.kubeVersion}): a kubelet must not be ahead of the API server. Upgrade the cluster first. Nothing was changed.`);
  if (cm - wm > 2) throw new RunbookFailure(`--to ${want} is more than two minor versions behind the control plane (${pre.kubeVersion}). Nothing was changed.`);
  return want;
}

