import * as z from 'zod';
import { NODE_NAME, type ClusterConfig } from '../src/config/inventory.ts';
import { RECHECK_TITLE } from '../src/engine/context.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { StopRunbook } from '../src/engine/errors.ts';
import { describeSurvey, surveyCluster, surveyDrift, type Survey } from '../src/ops/recover-quorum.ts';
import {
  attempt,
  backUpSurvivor,
  markLostMembers,
  packTemplate,
  reconfigureTemplate,
  recoveryPlan,
  removeLost,
  reportHa,
  startSurvivor,
  stopSurvivor,
  updateSurvivor,
  waitForNewVoters,
  writeClusterYaml,
  type Pack,
  type SurvivorBackup,
} from '../src/ops/recover-quorum-steps.ts';

const Args = z.object({ survivors: z.string().max(2000).optional() });
type RecoverArgs = z.infer<typeof Args>;

function survivorList(text: string | undefined): string[] | undefined {
  return text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** --survivors: control-plane nodes of the inventory, each once. */
function validate({ survivors }: RecoverArgs, cluster: ClusterConfig): string | undefined {
  const list = survivorList(survivors);
  if (list === undefined) return undefined;
  if (list.length === 0) return '--survivors needs at least one node, e.g. --survivors k8s-2,k8s-3';
  for (const name of list) {
    if (!NODE_NAME.test(name)) return `--survivors: '${name.slice(0, 63)}' is not a node name (lowercase letters, digits and '-')`;
    const node = cluster.nodes.find((n) => n.name === name);
    if (!node) return `--survivors: unknown node '${name}' in cluster ${cluster.name}; its nodes are ${cluster.nodes.map((n) => n.name).join(', ')}`;
    if (node.role !== 'control-plane') return `--survivors: ${name} is a worker; only control-plane nodes hold the datastore`;
  }
  if (new Set(list).size !== list.length) return '--survivors names a node twice';
  return undefined;
}

/**
 * Recover from lost quorum — the seed's 从丢失的仲裁中恢复: stop dqlite on every survivor, back up
 * the database, set the new cluster.yaml, `.reconfigure` once on the template, update the other
 * survivors, start them, remove the lost nodes, report how to regain HA. Reviewed as a plan and
 * approved by two people before the first `microk8s stop`.
 */
export default defineRunbook(
  {
    verb: 'recover-quorum',
    usage: 'recover-quorum [--survivors <node>,<node>…]',
    example: 'recover-quorum --survivors k8s-1',
    summary: 'Recover a cluster that lost its datastore majority: back up and stop the survivors, reconfigure dqlite on the template, update the others, start, remove the lost nodes (two approvers)',
    positional: [],
    flags: { survivors: { key: 'survivors', type: 'string', describe: 'the surviving control-plane nodes, comma-separated (default: every control-plane node that answers with a datastore)' } },
    args: Args,
    mutating: true,
    validate,
    plan: () => recoveryPlan(undefined),
    dryRun: async ({ survivors }, ctx) => {
      const s = await surveyCluster(ctx, survivorList(survivors));
      return { summary: describeSurvey(s), plan: recoveryPlan(s) };
    },
  },
  async (run, { survivors: named }) => {
    // Read every survivor; refuse (nothing run) unless quorum is really lost and the lost stay silent.
    const survey: Survey = await run.step('read every survivor and check quorum is really lost', () => surveyCluster(run, survivorList(named)), {
      describe: (s) => `survivors ${s.survivors.map((x) => x.node).join(', ')}; lost ${s.lost.join(', ')}; template ${s.template}: ${s.templateWhy}`,
    });
    run.setPlan(recoveryPlan(survey));
    const what = describeSurvey(survey);
    const survivors = survey.survivors.map((x) => x.node);
    const others = survivors.filter((n) => n !== survey.template);

    await run.approvePlan({ title: `Recover quorum with ${survivors.join(', ')}`, what, nodes: survivors });
    await run.approval({
      title: `Stop every survivor and reconfigure dqlite on ${survey.template}`,
      what,
      why: `It stops MicroK8s on ${survivors.join(', ')} and rewrites the datastore membership: ${survey.lost.join(', ')} are dropped for good and must never start again with their old data.`,
      nodes: survivors,
      destructive: true,
      approvals: 2,
      binding: survey.binding,
    });
    // Bound to the proposed cluster.yaml: anything it depended on that moved stops the job here.
    await run.step(RECHECK_TITLE, async () => {
      const now = await surveyCluster(run, survivorList(named));
      const drift = surveyDrift(survey, now);
      if (drift.length > 0) throw new StopRunbook('failed', `The plan no longer holds: ${drift.join('; ')}. Nothing was run; request recover-quorum again.`);
      return now.binding;
    });

    // 1. Back up the whole backend of every survivor (nothing below runs without all of them).
    const backups: SurvivorBackup[] = [];
    for (const node of survivors) {
      backups.push(await run.step(`1. back up ${node}'s whole backend`, () => backUpSurvivor(run, node), { describe: (b) => `sha256 ${b.sha256} · ${b.bytes} bytes · ${b.localPath}` }));
    }
    // 2. Stop MicroK8s on every survivor (never `leave`) and confirm each is stopped.
    for (const node of survivors) {
      await attempt(run, survey, backups, `Stopping ${node}`, () => run.step(`2. stop MicroK8s on ${node}`, () => stopSurvivor(run, node), { describe: (s) => s }));
    }
    // 3. The new cluster.yaml on the template.
    await attempt(run, survey, backups, 'Writing cluster.yaml', () => run.step(`3. write the new cluster.yaml on ${survey.template}`, () => writeClusterYaml(run, survey), { describe: (s) => s }));
    // 4. `.reconfigure` once, on the template only.
    await attempt(run, survey, backups, 'The reconfigure', () => run.step(`4. reconfigure dqlite on ${survey.template}`, () => reconfigureTemplate(run, survey), { describe: (s) => s }));
    // 5. Every other survivor: leftovers deleted, the template's files copied, checksums compared.
    let pack: Pack | undefined;
    if (others.length > 0) {
      const packed = await attempt(run, survey, backups, 'Packing the template files', () => run.step(`5. pack the new configuration on ${survey.template}`, () => packTemplate(run, survey), { describe: (p) => `${Object.keys(p.files).length} files · sha256 ${p.sha256}` }));
      for (const node of others) {
        await attempt(run, survey, backups, `Updating ${node}`, () => run.step(`5. update ${node} from ${survey.template}`, () => updateSurvivor(run, survey, node, packed), { describe: (s) => s }));
      }
      pack = packed;
    }
    // 6. Start every survivor (an updated one compared with the template's files again first); wait for the API and the new voters.
    for (const node of survivors) {
      const updated = pack && node !== survey.template ? { survey, pack } : undefined;
      await attempt(run, survey, backups, `Starting ${node}`, () => run.step(`6. start MicroK8s on ${node}`, () => startSurvivor(run, node, updated), { describe: (s) => s }));
    }
    await attempt(run, survey, backups, 'Waiting for the new voters', () => run.step('6. wait for the API and the new voters', () => waitForNewVoters(run, survey), { describe: (s) => s }));
    // 7. Remove the lost nodes from Kubernetes.
    for (const lost of survey.lost) {
      await attempt(run, survey, backups, `Removing ${lost}`, () => run.step(`7. remove the lost node ${lost}`, () => removeLost(run, survey, lost), { describe: (s) => s }));
    }
    // 8. Report; the lost nodes are marked so status shows them and add-node refuses them until reinstalled.
    const ha = await run.step('8. report the HA state', async () => {
      await markLostMembers(run, survey);
      return reportHa(run, survey);
    }, { describe: (s) => s });
    const voters = survivors.slice(0, 3);
    await run.say(
      `Recovered: ${ha}. Survivors ${survivors.join(', ')} (template ${survey.template}); lost ${survey.lost.join(', ')} — reinstall them before reuse. Backups: ${backups.map((b) => b.localPath).join(', ')}.${
        voters.length < 3 ? ` Next: \`add-node <node>\` until there are three voters (now ${voters.length}) to regain HA.` : ''
      }`,
    );
  },
);
