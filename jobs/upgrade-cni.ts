import * as z from 'zod';
import { defineRunbook } from '../src/engine/define.ts';
import { RunbookFailure, StopRunbook } from '../src/engine/errors.ts';
import { errorText, type RunContext } from '../src/engine/context.ts';
import { DEPLOYED_CNI, imageTag } from '../src/microk8s/calico-manifest.ts';
import { backupStamp } from '../src/microk8s/node.ts';
import { plain } from '../src/ops/addons-report.ts';
import { awaitCalicoRollout } from '../src/ops/cni-rollout.ts';
import { buildCniPlan, cniPlanSteps, diffBlock, loadCniBackup, rebuildManifest, saveCniBackup, type CniPlan } from '../src/ops/upgrade-cni.ts';

/** The carried-over customisations (values read from the nodes: escaped). */
const keptText = (plan: CniPlan) => (plan.kept.length > 0 ? plan.kept.map((k) => plain(k, 160)).join('; ') : 'no customisations');
const readySeconds = (run: RunContext) => Math.max(1, Math.round(run.cluster.policy.readyTimeout / 1000));

/**
 * Upgrade the Calico CNI after a MicroK8s upgrade — the seed's IMPORTANT NOTE in "Upgrading
 * MicroK8s": the newest manifest of the installed revision, patched with the cluster's own
 * customisations, applied; or (`--restore`) the cni.yaml it replaced put back.
 */
export default defineRunbook(
  {
    verb: 'upgrade-cni',
    usage: 'upgrade-cni [--dry-run] | upgrade-cni --restore',
    example: 'upgrade-cni --dry-run',
    summary:
      "Move Calico to the version the nodes' MicroK8s revision ships, carrying over cni.yaml's customisations (pod CIDR, IP autodetection, MTU, backend, env); backed up, approved, rollout awaited; `--restore` puts the previous cni.yaml back",
    positional: [],
    flags: { restore: { key: 'restore', type: 'boolean', describe: 'put back the cni.yaml files the last upgrade-cni replaced, apply them and wait for the rollout' } },
    args: z.object({ restore: z.boolean().optional() }),
    mutating: true,
    plan: ({ restore }) => cniPlanSteps(restore === true),
  },
  async (run, { restore }) => {
    if (restore === true) return restoreCni(run);

    // 0. What runs, what each node's revision ships, what is deployed and customised.
    const plan: CniPlan = await run.step('read the CNI on every node', async () => (await buildCniPlan(run)).plan, {
      describe: (p) => (p.refusal ? 'refused' : `running ${p.running}; the revision ships ${p.to}; ${p.kept.length} customisation(s) to carry over`),
    });
    if (plan.refusal) throw new RunbookFailure(`${plan.refusal} Nothing was changed.`);

    // The new manifest, as a diff against the deployed one, is approved (always: it restarts calico-node everywhere).
    await run.approvePlan({
      title: `Upgrade Calico from ${plan.running} to ${plan.to}`,
      what: `${diffBlock(plan)}\nKept: ${keptText(plan)}.\nBack up cni.yaml on ${plan.nodes.map((n) => n.node).join(', ')}, write the new one there, apply it from ${plan.controller} and wait for calico-node to roll out on every node.`,
      why: 'Every calico-node pod restarts, one node at a time: pod networking on a node blips while its pod is replaced. The old cni.yaml is kept for `upgrade-cni --restore`.',
      nodes: plan.nodes.map((n) => n.node),
      always: true,
      recheck: async () => {
        const now = (await buildCniPlan(run)).plan;
        const changed: string[] = [];
        if (now.refusal) changed.push(now.refusal);
        else {
          if (now.newSha !== plan.newSha) changed.push('the new manifest would differ');
          if (now.running !== plan.running) changed.push(`calico-node now runs ${now.running}`);
          for (const n of plan.nodes) if (now.nodes.find((x) => x.node === n.node)?.deployedSha !== n.deployedSha) changed.push(`${n.node}'s cni.yaml changed`);
        }
        if (changed.length > 0) throw new RunbookFailure(`The cluster changed since the plan was approved: ${changed.join('; ')}. Nothing was done; request it again.`);
        return true;
      },
    });

    // 1. Back up the deployed cni.yaml on every node, and record where (for --restore).
    const stamp = backupStamp(new Date());
    const backups = await run.step('back up cni.yaml on every node', async () => {
      const out: Record<string, string> = {};
      for (const { node } of plan.nodes) out[node] = await run.node(node).backupFile(DEPLOYED_CNI, stamp);
      await saveCniBackup(run, { job: run.jobId, at: Date.now(), from: plan.from, to: plan.to, backups: out });
      return out;
    }, { describe: (b) => Object.values(b).join(', ') });

    // 2. The bundled manifest with the customisations, on every node (uploaded over SFTP, moved into place).
    await run.step('write the new cni.yaml on every node', async () => {
      const text = await rebuildManifest(run, plan);
      for (const { node } of plan.nodes) await run.node(node).writeFile(DEPLOYED_CNI, text, run.jobId, true);
      return plan.newSha;
    }, { describe: (sha) => `sha256 ${sha}` });

    // 3. Apply it, and 4. wait for the rollout on every node (bounded by the ready timeout).
    await applyAndWait(run, plan.controller, plan.newImage, plan.nodes.map((n) => n.node), `\`upgrade-cni --restore\` puts back ${Object.values(backups).join(', ')}`);
    await run.say(`Calico moved from ${plan.running} to ${plan.to} on ${plan.nodes.map((n) => n.node).join(', ')}. Kept: ${keptText(plan)}. The previous cni.yaml is kept on each node (${Object.values(backups).join(', ')}): \`upgrade-cni --restore\` puts it back.`);
  },
  {
    describeState: async (run) => {
      const p = (await buildCniPlan(run)).plan;
      return p.runningImage ? `calico-node runs ${plain(p.runningImage, 120)}` : (p.refusal ?? 'unknown');
    },
  },
);

async function applyAndWait(run: RunContext, controller: string, image: string, nodes: string[], undo: string): Promise<void> {
  await run.step(`apply cni.yaml from ${controller}`, async () => (await run.node(controller).addons.apply(DEPLOYED_CNI)).map((l) => `${l.object} ${l.action}`), {
    describe: (lines) => lines.filter((l) => !l.endsWith('unchanged')).join(', ') || 'unchanged',
  });
  try {
    await run.step('wait for calico-node to roll out on every node', () => awaitCalicoRollout(run, controller, image, nodes, readySeconds(run)), { describe: (r) => r });
  } catch (err) {
    if (err instanceof StopRunbook) throw err;
    throw new RunbookFailure(`The new cni.yaml is applied but calico-node did not finish rolling out within ${readySeconds(run)} s: ${errorText(err)}. ${undo}.`);
  }
}

/** `upgrade-cni --restore`: the recorded backups back into place, applied, rollout awaited. */
async function restoreCni(run: RunContext): Promise<void> {
  const record = await run.step('read the recorded cni.yaml backups', async () => {
    const r = await loadCniBackup(run);
    if (!r) throw new RunbookFailure(`No upgrade-cni backup is recorded for ${run.cluster.name}: there is nothing to restore. Nothing was changed.`);
    const missing: string[] = [];
    for (const [node, path] of Object.entries(r.backups)) if (!(await run.node(node).addons.exists(path))) missing.push(`${node} (${path})`);
    if (missing.length > 0) throw new RunbookFailure(`The backups of job ${r.job} are gone from ${missing.join(', ')}. Nothing was changed.`);
    return r;
  }, { describe: (r) => `job ${r.job}: Calico ${plain(r.from, 40)}, on ${Object.keys(r.backups).join(', ')}` });
  const controller = run.cluster.nodes.find((n) => n.role === 'control-plane' && Object.hasOwn(record.backups, n.name))?.name;
  if (!controller) throw new RunbookFailure('No control-plane node has a recorded backup. Nothing was changed.');
  await run.approvePlan({
    always: true,
    title: `Restore the cni.yaml replaced by job ${record.job} (Calico ${plain(record.from, 40)})`,
    what: `Put ${Object.values(record.backups).join(', ')} back as cni.yaml, apply it from ${controller} and wait for calico-node to roll out (back to ${plain(record.from, 40)}).`,
    why: 'Every calico-node pod restarts, one node at a time.',
    nodes: Object.keys(record.backups),
  });
  await run.step('put the backups back as cni.yaml', async () => {
    for (const [node, path] of Object.entries(record.backups)) await run.node(node).restoreFile(path, DEPLOYED_CNI);
    return Object.keys(record.backups);
  }, { describe: (n) => n.join(', ') });
  const files = await run.step('read the restored manifest', async () => {
    const f = await run.node(controller).addons.calicoFiles();
    if (!f.deployed) throw new RunbookFailure(`${controller} has no cni.yaml after the restore`);
    return f.deployed.manifest.image;
  }, { describe: (image) => plain(image, 120) });
  await applyAndWait(run, controller, files, Object.keys(record.backups), 'The backups are still on the nodes; request `upgrade-cni --restore` again');
  await saveCniBackup(run, { ...record, restoredBy: run.jobId });
  await run.say(`cni.yaml restored from job ${record.job}'s backups; calico-node runs ${plain(imageTag(files), 60)} again.`);
}
