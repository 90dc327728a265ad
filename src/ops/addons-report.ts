/**
 * What an upgrade leaves behind (the seed's IMPORTANT NOTE in "Upgrading MicroK8s"): enabled
 * add-ons are not upgraded, nor is the CNI. Reads, per cluster, the enabled add-ons and the
 * Calico CNI — the running calico-node image, what each node's revision ships, the deployed
 * cni.yaml and its customisations, the no-manage-calico lock, and a cni.yaml.backup that a
 * refresh left behind when MicroK8s replaced the manifest itself — and says what is behind and
 * what to do. Read-only: `addons`, and the last message of a successful upgrade.
 */
import { errorText, type RunContext } from '../engine/context.ts';
import { calicoShippedBy } from '../microk8s/addon-facts.ts';
import type { AddonInfo, DaemonSetState, NodeCalicoFiles } from '../microk8s/addons.ts';
import { customisations, describeCustomisation, lostCustomisations, type Customisation, type LostCustomisation } from '../microk8s/calico-customisations.ts';
import { DEPLOYED_CNI, compareCalicoVersions, imageTag } from '../microk8s/calico-manifest.ts';
import { readCalicoFiles } from './calico-files.ts';

/**
 * What a helper that only reads needs of the run context: the cluster and its nodes. The bot's
 * read-only verbs (`addons`, `upgrade-cni --dry-run`) pass the same shape over their own bounded
 * connections; a runbook passes its `run`.
 */
export type ClusterReads = Pick<RunContext, 'cluster' | 'node'>;

export interface NodeCni {
  node: string;
  /** calico/node tag of the bundled manifest of the node's revision. */
  bundled?: string;
  /** calico/node tag of the deployed cni.yaml. */
  deployed?: string;
  noManage: boolean;
  customisations: Customisation[];
  /** What cni.yaml.backup set that cni.yaml lost (MicroK8s replaced it on a refresh). */
  lost: LostCustomisation[];
  backupVersion?: string;
  problem?: string;
}

export interface AddonsReport {
  cluster: string;
  controller?: string;
  /** Enabled add-ons. */
  addons: AddonInfo[];
  addonsProblem?: string;
  daemonSet?: DaemonSetState;
  /** The running calico-node tag; undefined without a calico-node DaemonSet. */
  running?: string;
  cniProblem?: string;
  nodes: NodeCni[];
}

function nodeCni(node: string, f: NodeCalicoFiles): NodeCni {
  const out: NodeCni = { node, noManage: f.noManage, customisations: [], lost: [] };
  if (f.bundled) out.bundled = f.bundled.manifest.version;
  if (f.deployed) out.deployed = f.deployed.manifest.version;
  if (f.bundled && f.deployed) out.customisations = customisations(f.deployed.manifest, f.bundled.manifest);
  if (f.backup && f.deployed && f.backup.manifest.version !== f.deployed.manifest.version) {
    out.backupVersion = f.backup.manifest.version;
    out.lost = lostCustomisations(f.backup.manifest, f.deployed.manifest);
  }
  return out;
}

/** Reads the report over `reads` (the job's connections, or the bot's bounded ones). */
export async function readAddonsReport(reads: ClusterReads): Promise<AddonsReport> {
  const { cluster } = reads;
  const report: AddonsReport = { cluster: cluster.name, addons: [], nodes: [] };
  const linux = cluster.nodes.filter((n) => n.os !== 'windows');
  // The cluster's side (add-ons, then the DaemonSet) and every node's files, read at once.
  const clusterSide = async (): Promise<void> => {
    for (const cp of linux.filter((n) => n.role === 'control-plane')) {
      try {
        const status = await reads.node(cp.name).addons.status();
        if (!status.running) {
          report.addonsProblem = `${cp.name}: ${status.message ?? 'microk8s is not running'}`;
          continue;
        }
        report.controller = cp.name;
        report.addons = status.addons.filter((a) => a.enabled);
        delete report.addonsProblem;
        break;
      } catch (err) {
        report.addonsProblem = `${cp.name}: ${errorText(err)}`;
      }
    }
    if (report.controller) {
      try {
        const ds = await reads.node(report.controller).addons.calicoDaemonSet();
        if (ds) {
          report.daemonSet = ds;
          report.running = imageTag(ds.image);
        } else report.cniProblem = 'no calico-node DaemonSet in kube-system (another CNI?)';
      } catch (err) {
        report.cniProblem = errorText(err);
      }
    }
  };
  const nodeSide = async (): Promise<NodeCni[]> => {
    // Each distinct manifest read once (calico-files.ts): nodes on one revision ship the same calico.yaml.
    const files = await readCalicoFiles(reads, linux.map((n) => n.name));
    return linux.map((n): NodeCni => {
      const f = files.get(n.name);
      if (f === undefined || f instanceof Error) return { node: n.name, noManage: false, customisations: [], lost: [], problem: errorText(f ?? 'not read') };
      return nodeCni(n.name, f);
    });
  };
  const [, nodes] = await Promise.all([clusterSide(), nodeSide()]);
  report.nodes = nodes;
  return report;
}

/** Node text (add-on names, versions, file contents) reaches chat only through this: no mrkdwn, no control characters, bounded. */
export function plain(text: string, max = 200): string {
  let out = '';
  for (const ch of text.slice(0, max)) {
    const c = ch.charCodeAt(0);
    out += c < 32 || c === 127 ? ' ' : ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '`' ? "'" : ch;
  }
  return text.length > max ? `${out}…` : out;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) m.set(key(i), [...(m.get(key(i)) ?? []), i]);
  return m;
}

/** The newest Calico the nodes' revisions ship, and which nodes ship it. */
function shipped(report: AddonsReport): { version: string; nodes: string[] } | undefined {
  let best: string | undefined;
  for (const n of report.nodes) if (n.bundled && (!best || (compareCalicoVersions(n.bundled, best) ?? 0) > 0)) best = n.bundled;
  return best ? { version: best, nodes: report.nodes.filter((n) => n.bundled === best).map((n) => n.node) } : undefined;
}

export interface RenderedReport {
  /** One line for the notification text. */
  headline: string;
  lines: string[];
}

/**
 * The report in words. `track` (e.g. `1.27`) names the release in the headline, as the upgrade
 * jobs do: "Calico v3.23.5 is running; 1.27 ships v3.25.0 — `upgrade-cni` to move".
 */
export function renderAddonsReport(report: AddonsReport, track?: string): RenderedReport {
  const lines: string[] = [];
  const heads: string[] = [];
  const ship = shipped(report);
  if (report.running && ship) {
    const cmp = compareCalicoVersions(report.running, ship.version);
    const who = track ?? (ship.nodes.length === report.nodes.length ? 'this release ships' : `${ship.nodes.join(', ')} ${ship.nodes.length > 1 ? 'ship' : 'ships'}`);
    const ships = track ? `${who} ships` : who;
    if (cmp !== undefined && cmp < 0) {
      heads.push(`Calico ${plain(report.running, 40)} is running; ${ships} ${plain(ship.version, 40)} — \`upgrade-cni\` to move`);
    } else heads.push(`Calico ${plain(report.running, 40)} is running (${ships} ${plain(ship.version, 40)}): up to date`);
  } else if (report.running) heads.push(`Calico ${plain(report.running, 40)} is running; no node's shipped manifest could be read`);
  else heads.push(`CNI: ${plain(report.cniProblem ?? 'not read', 160)}`);
  for (const n of report.nodes.filter((x) => x.lost.length > 0)) {
    heads.push(`⚠️ ${n.node}: a refresh replaced cni.yaml (${plain(n.backupVersion ?? '?', 40)} → ${plain(n.deployed ?? '?', 40)}) and dropped ${n.lost.map((l) => plain(l.key, 60)).join(', ')}`);
  }
  const addonText = report.addons.map((a) => `${plain(a.repository ? `${a.repository}/${a.name}` : a.name, 60)}${a.version ? ` ${plain(a.version, 30)}` : ''}`);
  if (report.addons.length > 0) heads.push(`add-ons not upgraded: ${addonText.join(', ')}`);

  lines.push(report.controller ? `*Add-ons* (enabled, as ${report.controller} reports them):` : `*Add-ons*: ${plain(report.addonsProblem ?? 'no control-plane node answered', 200)}`);
  for (const a of report.addons) lines.push(`• ${plain(a.repository ? `${a.repository}/${a.name}` : a.name, 60)} ${a.version ? plain(a.version, 30) : '(version not listed)'}`);
  if (report.addons.length > 0) lines.push('A MicroK8s upgrade does not upgrade them: `addon-refresh <addon>` disables and re-enables one (read its release notes first).');
  lines.push('*Calico CNI*');
  if (report.daemonSet) {
    const d = report.daemonSet;
    lines.push(`• running: ${plain(d.image, 100)} (DaemonSet calico-node: ${d.updated}/${d.desired} updated, ${d.available} available)`);
  } else lines.push(`• running: ${plain(report.cniProblem ?? 'unknown', 200)}`);
  for (const [key, nodes] of groupBy(report.nodes, (n) => `${n.bundled ?? '?'}|${n.deployed ?? '?'}|${n.noManage}`)) {
    const [bundled, deployed, lock] = key.split('|');
    const names = nodes.map((n) => n.node).join(', ');
    if (nodes.every((n) => n.problem)) {
      lines.push(`• ${names}: could not read the manifests (${plain(nodes[0]?.problem ?? '', 160)})`);
      continue;
    }
    const managed =
      lock === 'true'
        ? 'MicroK8s does not manage Calico here (var/lock/no-manage-calico): a refresh never touches cni.yaml'
        : (deployed ?? '').includes('3.21')
          ? 'MicroK8s manages Calico here: a refresh to 1.25+ replaces this 3.21 cni.yaml with the shipped one, keeping only a can-reach IP autodetection (other customisations are lost) — create var/lock/no-manage-calico to prevent it'
          : 'MicroK8s manages Calico here, but a refresh only replaces 3.21 manifests: this one stays as it is';
    lines.push(`• ${names}: revision ships ${plain(bundled ?? '?', 40)}; cni.yaml has ${plain(deployed ?? '?', 40)}; ${managed}`);
    if (report.running && deployed && (compareCalicoVersions(deployed, report.running) ?? 0) < 0) {
      lines.push(`  ⚠️ ${names}: cni.yaml (${plain(deployed, 40)}) is older than the running Calico (${plain(report.running, 40)}); if MicroK8s re-applies it there (its reconcile hook does when var/lock/cni-loaded is gone), Calico goes back to ${plain(deployed, 40)}`);
    }
  }
  const custom = report.nodes.find((n) => n.customisations.length > 0);
  if (custom) {
    lines.push(`Customisations of cni.yaml against the shipped manifest (${custom.node}): ${custom.customisations.map((c) => plain(describeCustomisation(c), 160)).join('; ')}`);
    const stuck = custom.customisations.filter((c) => c.problem);
    if (stuck.length > 0) lines.push(`⚠️ not carried over by \`upgrade-cni\`: ${stuck.map((c) => plain(c.problem ?? c.key, 200)).join('; ')}`);
  } else if (report.nodes.some((n) => n.deployed)) lines.push('cni.yaml has no customisations against the shipped manifest.');
  for (const n of report.nodes.filter((x) => x.lost.length > 0)) {
    lines.push(
      `⚠️ ${n.node}: MicroK8s upgraded Calico on a refresh and replaced cni.yaml (kept as cni.yaml.backup, ${plain(n.backupVersion ?? '?', 40)}); lost: ${n.lost.map((l) => `${plain(l.key, 60)} was ${plain(l.before, 80)}, now ${plain(l.now, 80)}`).join('; ')}. Put them back in ${DEPLOYED_CNI} and re-apply it; create var/lock/no-manage-calico so the next refresh leaves it alone.`,
    );
  }
  if (report.running && ship && (compareCalicoVersions(report.running, ship.version) ?? 0) < 0) {
    lines.push(`*To do:* \`upgrade-cni --dry-run\` shows the new manifest (${plain(ship.version, 40)} with the customisations above carried over) as a diff; \`upgrade-cni\` applies it after an approval, with a backup for \`upgrade-cni --restore\`.`);
  }
  const minorLabel = track ? calicoShippedBy(Number(track.split('.')[1] ?? 'x')) : undefined;
  if (minorLabel && ship && minorLabel !== ship.version) lines.push(`(MicroK8s ${track} ships ${minorLabel} at its branch tip; this revision ships ${plain(ship.version, 40)}.)`);
  return { headline: heads.join('. '), lines };
}
