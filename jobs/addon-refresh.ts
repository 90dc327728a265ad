import * as z from 'zod';
import { defineRunbook } from '../src/engine/define.ts';
import { RunbookFailure } from '../src/engine/errors.ts';
import { errorText } from '../src/engine/context.ts';
import { addonRisk } from '../src/microk8s/addon-facts.ts';
import { plain } from '../src/ops/addons-report.ts';
import { HOSTPATH_DATA, addonNameProblem, addonRefreshPlan, addonRefusal, bareAddon, readAddon } from '../src/ops/addon-refresh.ts';

const AddonName = z.string().check((ctx) => {
  const problem = addonNameProblem(ctx.value);
  if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
});

/**
 * Refresh one add-on after a MicroK8s upgrade — the seed's IMPORTANT NOTE: "the most effective
 * way to upgrade add-ons is to use `microk8s disable <add-on>` and then re-enable them".
 */
export default defineRunbook(
  {
    verb: 'addon-refresh',
    usage: 'addon-refresh <addon>',
    example: 'addon-refresh dns',
    summary:
      'Upgrade one add-on the MicroK8s way: `microk8s disable`, then `enable`; the approval names what the disable does, add-ons whose disable loses data or DNS/RBAC need a destructive approval, and those that would lose storage or the cluster are refused',
    positional: ['addon'],
    args: z.object({ addon: AddonName }),
    mutating: true,
    validate: ({ addon }, cluster) => addonRefusal(addon, cluster),
    plan: ({ addon }, cluster) => addonRefreshPlan(addon, cluster),
  },
  async (run, { addon }) => {
    const risk = addonRisk(bareAddon(addon));
    const timeoutMs = run.cluster.policy.readyTimeout + 60_000;

    // 0. The add-on must be enabled (refreshing a disabled one would enable it).
    const before = await run.step(`check ${addon} is enabled`, () => readAddon(run, addon), {
      describe: (a) => `${plain(`${a.repository ? `${a.repository}/` : ''}${a.name} ${a.version ?? ''}`, 100)} ${a.enabled ? 'enabled' : 'disabled'} (read on ${a.controller})`,
    });
    if (!before.enabled) throw new RunbookFailure(`${addon} is not enabled: there is nothing to refresh (\`microk8s enable ${addon}\` would install it). Nothing was changed.`);

    // The approval names what the disable does and what is lost (always asked).
    await run.approvePlan({
      title: `Refresh ${addon}: disable, then enable`,
      what: `\`microk8s disable ${addon}\` on ${before.controller} ${risk.disable}. Then \`microk8s enable ${addon}\` installs the version this MicroK8s revision ships${before.version ? ` (now ${plain(before.version, 40)})` : ''}.`,
      why: `While it is disabled: ${risk.loss}.`,
      nodes: [before.controller],
      destructive: risk.level === 'destructive',
      always: true,
      recheck: async () => {
        const now = await readAddon(run, addon);
        if (!now.enabled || now.version !== before.version) throw new RunbookFailure(`${addon} changed since the approval (now ${now.enabled ? `enabled, ${plain(now.version ?? 'no version', 40)}` : 'disabled'}). Nothing was done; request it again.`);
        return true;
      },
    });

    // 1. microk8s disable <addon> (no arguments; no terminal, so hostpath-storage keeps its data).
    const disabled = await run.step(`disable ${addon}`, async () => {
      const r = await run.node(before.controller).addons.xable('disable', addon, timeoutMs);
      if (before.dataKept && !(await run.node(before.controller).addons.exists(HOSTPATH_DATA))) {
        throw new RunbookFailure(`${HOSTPATH_DATA} is gone on ${before.controller} after \`microk8s disable ${addon}\`. Stop and check the node.`);
      }
      return r.outcome;
    }, { describe: (o) => (o === 'done-data-kept' ? `provisioner removed; PV data kept at ${HOSTPATH_DATA} (the script exits 1 without a terminal)` : o === 'unchanged' ? 'already disabled' : 'disabled') });

    // 2. microk8s enable <addon>.
    try {
      await run.step(`enable ${addon}`, async () => (await run.node(before.controller).addons.xable('enable', addon, timeoutMs)).outcome, { describe: (o) => (o === 'unchanged' ? 'already enabled' : 'enabled') });
    } catch (err) {
      throw new RunbookFailure(`${addon} was disabled (${disabled}) but enabling it again failed: ${errorText(err)}. It is disabled now: run \`microk8s enable ${addon}\` on ${before.controller}.`);
    }

    // 3. Listed as enabled again.
    const after = await run.step(`check ${addon} is enabled again`, async () => {
      const a = await readAddon(run, addon);
      if (!a.enabled) throw new RunbookFailure(`${addon} is not listed as enabled after \`microk8s enable ${addon}\`. Check it on ${a.controller}.`);
      return a;
    }, { describe: (a) => `${plain(`${a.name} ${a.version ?? ''}`, 100)} enabled` });
    await run.say(`${addon} refreshed on ${run.cluster.name}: ${plain(before.version ?? '?', 40)} → ${plain(after.version ?? '?', 40)}.${before.dataKept ? ` PV data kept at ${HOSTPATH_DATA}.` : ''}`);
  },
);
