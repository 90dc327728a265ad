/**
 * `upgrade-cni`: the seed's "the latest manifest of the default CNI (calico) is always under
 * /snap/microk8s/current/upgrade-scripts/000-switch-to-calico/resources/calico.yaml. Before
 * applying it, please make sure you patch it with any customizations needed in your current setup."
 *
 * The new manifest is the bundled one with the deployed cni.yaml's customisations set in it
 * (src/microk8s/calico-customisations.ts), written to every Linux node's cni.yaml (so no node's
 * reconcile hook re-applies an old one), applied once, and the calico-node rollout awaited.
 * The deployed files are backed up first; the backups are recorded per cluster in Redis
 * (src/store/cni-backups.ts) for `upgrade-cni --restore`.
 */
import { sha256 } from '../util/sha256.ts';
import { errorText, type RunContext } from '../engine/context.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { CheckFailedError } from '../errors/user-facing.ts';
import type { DaemonSetState, NodeCalicoFiles } from '../microk8s/addons.ts';
import { customisations, describeCustomisation, manifestDiff } from '../microk8s/calico-customisations.ts';
import { BUNDLED_CALICO, DEPLOYED_CNI, applyManifestEdits, compareCalicoVersions, imageTag, parseCalicoManifest, type ManifestEdit } from '../microk8s/calico-manifest.ts';
import { readCniBackup, writeCniBackup, type CniBackupRecord } from '../store/cni-backups.ts';
import { plain, type ClusterReads } from './addons-report.ts';

export { sha256 };

export type CniPlan = {
  /** The control-plane node `kubectl apply` and the rollout wait run on. */
  controller: string;
  /** The running calico-node tag and image. */
  running: string;
  runningImage: string;
  /** The deployed cni.yaml's tag (on the controller) and the bundled one's. */
  from: string;
  to: string;
  /** Linux nodes and the sha256 of their deployed cni.yaml (re-checked after the approval). */
  nodes: Array<{ node: string; deployedSha: string }>;
  edits: ManifestEdit[];
  kept: string[];
  newSha: string;
  newImage: string;
  diff: string[];
  /** Why it must not run; undefined when it may. */
  refusal?: string;
};

async function controllerWithCalico(reads: ClusterReads): Promise<{ node: string; ds: DaemonSetState | undefined } | string> {
  const problems: string[] = [];
  for (const cp of reads.cluster.nodes.filter((n) => n.role === 'control-plane' && n.os !== 'windows')) {
    try {
      return { node: cp.name, ds: await reads.node(cp.name).addons.calicoDaemonSet() };
    } catch (err) {
      problems.push(`${cp.name}: ${errorText(err).slice(0, 160)}`);
    }
  }
  return `no control-plane node answered kubectl (${problems.join('; ')})`;
}

function refused(base: Omit<CniPlan, 'refusal'>, refusal: string): CniPlan {
  return { ...base, refusal };
}

/** Reads every Linux node and works out the new manifest; `text` is it (undefined when refused). */
export async function buildCniPlan(reads: ClusterReads): Promise<{ plan: CniPlan; text: string | undefined }> {
  const { cluster } = reads;
  const empty: Omit<CniPlan, 'refusal'> = { controller: '', running: '', runningImage: '', from: '', to: '', nodes: [], edits: [], kept: [], newSha: '', newImage: '', diff: [] };
  const ctl = await controllerWithCalico(reads);
  if (typeof ctl === 'string') return { plan: refused(empty, `Cannot read the cluster: ${ctl}.`), text: undefined };
  const base = { ...empty, controller: ctl.node };
  if (!ctl.ds) return { plan: refused(base, 'The cluster has no calico-node DaemonSet in kube-system: it does not run the Calico CNI MicroK8s ships, so there is nothing to upgrade.'), text: undefined };
  base.runningImage = ctl.ds.image;
  base.running = imageTag(ctl.ds.image);
  // Every Linux node of the cluster (as kubectl lists it) must be Ready: a rollout stalls on a NotReady one.
  let kube;
  try {
    kube = await reads.node(ctl.node).nodes();
  } catch (err) {
    return { plan: refused(base, `Cannot list the nodes on ${ctl.node}: ${errorText(err)}.`), text: undefined };
  }
  const linux = cluster.nodes.filter((n) => n.os !== 'windows' && kube.some((k) => k.name === n.name)).map((n) => n.name);
  const notReady = linux.filter((n) => !kube.find((k) => k.name === n)?.ready);
  if (notReady.length > 0) return { plan: refused(base, `${notReady.join(', ')} ${notReady.length > 1 ? 'are' : 'is'} NotReady: the calico-node rollout would stall there. Bring ${notReady.length > 1 ? 'them' : 'it'} back first.`), text: undefined };
  const files = new Map<string, NodeCalicoFiles>();
  // Every node's manifests at once; the first node (in inventory order) that could not be read is the one named.
  const read = await Promise.all(linux.map((node) => reads.node(node).addons.calicoFiles().then((f) => ({ node, f }), (err: unknown) => ({ node, err }))));
  for (const r of read) {
    if ('err' in r) return { plan: refused(base, `Cannot read the Calico manifests on ${r.node}: ${errorText(r.err)}.`), text: undefined };
    files.set(r.node, r.f);
  }
  const missing = linux.filter((n) => !files.get(n)?.bundled || !files.get(n)?.deployed);
  if (missing.length > 0) return { plan: refused(base, `${missing.join(', ')}: no ${BUNDLED_CALICO} or no ${DEPLOYED_CNI}; not a Calico node of MicroK8s.`), text: undefined };
  base.nodes = linux.map((n) => ({ node: n, deployedSha: sha256(files.get(n)?.deployed?.text ?? '') }));
  const ref = files.get(ctl.node);
  if (!ref?.bundled || !ref.deployed) return { plan: refused(base, `${ctl.node} has no Calico manifests.`), text: undefined };
  base.from = ref.deployed.manifest.version;
  base.to = ref.bundled.manifest.version;
  const versions = new Set(linux.map((n) => files.get(n)?.bundled?.manifest.version));
  if (versions.size > 1) {
    const each = linux.map((n) => `${n} ${files.get(n)?.bundled?.manifest.version ?? '?'}`).join(', ');
    return { plan: refused(base, `The nodes' revisions ship different Calico versions (${plain(each, 300)}): finish upgrading MicroK8s on every node first.`), text: undefined };
  }
  const cmp = compareCalicoVersions(base.to, base.running);
  if (cmp === undefined || cmp <= 0) {
    return { plan: refused(base, `The Calico this MicroK8s revision ships (${plain(base.to, 40)}) is not newer than the running one (${plain(base.running, 40)}): nothing to upgrade.`), text: undefined };
  }
  const custom = customisations(ref.deployed.manifest, ref.bundled.manifest);
  const stuck = custom.filter((c) => !c.edit);
  if (stuck.length > 0) {
    return { plan: refused(base, `A customisation of ${ctl.node}'s cni.yaml cannot be carried over: ${stuck.map((c) => plain(c.problem ?? c.key, 200)).join('; ')}. Patch the new manifest by hand (the seed's note).`), text: undefined };
  }
  const key = (n: string) =>
    JSON.stringify(customisations(files.get(n)!.deployed!.manifest, files.get(n)!.bundled!.manifest).map((c) => [c.key, c.deployed]));
  const differing = linux.filter((n) => key(n) !== key(ctl.node));
  if (differing.length > 0) {
    return { plan: refused(base, `The deployed cni.yaml of ${differing.join(', ')} has other customisations than ${ctl.node}'s: make them agree first (one manifest is applied to the whole cluster).`), text: undefined };
  }
  base.edits = custom.flatMap((c) => (c.edit ? [c.edit] : []));
  base.kept = custom.map(describeCustomisation);
  let text: string;
  try {
    text = applyManifestEdits(ref.bundled.text, base.edits);
  } catch (err) {
    return { plan: refused(base, `Cannot carry the customisations into the new manifest: ${errorText(err)}.`), text: undefined };
  }
  const next = parseCalicoManifest(text, 'the new Calico manifest');
  base.newSha = sha256(text);
  base.newImage = next.image;
  base.diff = manifestDiff(ref.deployed.manifest, next, { deployed: ref.deployed.text, next: text }, custom);
  return { plan: base, text };
}

/** The new manifest again (from the controller's bundled one), checked against the approved sha256. */
export async function rebuildManifest(run: RunContext, plan: CniPlan): Promise<string> {
  const node = plan.controller;
  const files = await run.node(node).addons.calicoFiles();
  if (!files.bundled) throw new CheckFailedError(`${node} has no ${BUNDLED_CALICO} any more`);
  const text = applyManifestEdits(files.bundled.text, plan.edits);
  if (sha256(text) !== plan.newSha) throw new CheckFailedError(`the manifest built on ${node} now differs from the approved one (sha256 ${sha256(text).slice(0, 12)}, approved ${plan.newSha.slice(0, 12)})`);
  return text;
}

/** The diff, for chat (a code block, capped). */
export function diffBlock(plan: CniPlan, max = 40): string {
  const shown = plan.diff.slice(0, max).map((l) => plain(l, 200));
  if (plan.diff.length > max) shown.push(`… ${plan.diff.length - max} more line(s)`);
  return `\`\`\`\n${shown.join('\n')}\n\`\`\``;
}

export function cniPlanSteps(restore: boolean): PlanStep[] {
  if (restore) {
    return [
      { title: 'read the recorded backups of cni.yaml and check they are on the nodes', commands: ['test -e <backup>'] },
      { title: 'put each backup back as cni.yaml', commands: [`cp -p <backup> ${DEPLOYED_CNI}.mk8s-next`, `mv -f ${DEPLOYED_CNI}.mk8s-next ${DEPLOYED_CNI}`] },
      { title: 'apply it', commands: [`microk8s kubectl apply -f ${DEPLOYED_CNI}`] },
      { title: 'wait for the calico-node rollout on every node', commands: ['microk8s kubectl rollout status ds/calico-node -n kube-system --timeout=<ready timeout>'] },
    ];
  }
  return [
    { title: 'read the running calico-node, the bundled and the deployed manifest on every node', commands: ['microk8s kubectl get ds calico-node -n kube-system -o json', `cat ${BUNDLED_CALICO}`, `cat ${DEPLOYED_CNI}`] },
    { title: 'build the new manifest: the bundled one with the deployed customisations; refuse if it is not newer or a customisation cannot be carried over', commands: [] },
    { title: 'back up cni.yaml on every node', commands: [`cp -p ${DEPLOYED_CNI} ${DEPLOYED_CNI}.mk8s-<stamp>`] },
    { title: 'write the new cni.yaml on every node (SFTP upload, then cp and mv into place)', commands: [`cp <upload> ${DEPLOYED_CNI}.mk8s-next`, `mv -f ${DEPLOYED_CNI}.mk8s-next ${DEPLOYED_CNI}`] },
    { title: 'apply it from one control-plane node', commands: [`microk8s kubectl apply -f ${DEPLOYED_CNI}`] },
    { title: 'wait for the calico-node rollout on every node', commands: ['microk8s kubectl rollout status ds/calico-node -n kube-system --timeout=<ready timeout>', 'microk8s kubectl get pods -n kube-system -l k8s-app=calico-node -o json'] },
  ];
}

// ---------------------------------------------------------------- the backup record

/** The backups this cluster's last `upgrade-cni` recorded (src/store/cni-backups.ts), for `--restore`. */
export function loadCniBackup(run: Pick<RunContext, 'redis' | 'cluster'>): Promise<CniBackupRecord | undefined> {
  return readCniBackup(run.redis, run.cluster.name);
}

export function saveCniBackup(run: Pick<RunContext, 'redis' | 'cluster'>, record: CniBackupRecord): Promise<void> {
  return writeCniBackup(run.redis, run.cluster.name, record);
}
