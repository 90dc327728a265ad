/**
 * The last message of a successful `upgrade` / `upgrade-cluster`: what the upgrade did not
 * upgrade (the seed's IMPORTANT NOTE) — "Calico v3.23.5 is running; 1.27 ships v3.25.0 —
 * `upgrade-cni` to move", "add-ons not upgraded: core/dns 1.10.1, …". Never fails the job.
 */
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { plain, readAddonsReport, renderAddonsReport } from './addons-report.ts';

const TITLE = 'report add-ons and the CNI';

/** The step as a plan line (one source with the step's title). */
export function reportPlanStep(): PlanStep {
  return { title: TITLE, commands: ['microk8s status --format yaml', 'microk8s kubectl get ds calico-node -n kube-system -o json', '(the add-ons and the CNI the upgrade did not upgrade)'] };
}

export async function reportWhatTheUpgradeLeft(run: RunContext, channel: string): Promise<void> {
  const track = channel.split('/')[0];
  await run.step(
    TITLE,
    async () => {
      let headline: string;
      let lines: string[];
      try {
        const rendered = renderAddonsReport(await readAddonsReport(run), track === undefined || track === 'latest' ? undefined : track);
        headline = rendered.headline;
        lines = rendered.lines;
      } catch (err) {
        headline = `could not read the add-ons and the CNI (${plain(errorText(err), 200)}); run \`addons\``;
        lines = [];
      }
      await run.say({ text: `After the upgrade to ${channel}: ${headline}`, body: [`*What the upgrade to ${channel} did not upgrade:* ${headline}`, ...lines].join('\n') });
      return headline;
    },
    { describe: (h) => h },
  );
}
