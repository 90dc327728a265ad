/**
 * `addon-refresh <addon>`: the seed's way to upgrade an add-on after a MicroK8s upgrade —
 * `microk8s disable <add-on>`, then `microk8s enable <add-on>` — one add-on per command, as
 * MicroK8s asks, never with arguments (so never `hostpath-storage:destroy-storage`).
 */
import type { ClusterConfig } from '../config/inventory.ts';
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { BUILT_IN_ADDONS, addonRisk } from '../microk8s/addon-facts.ts';
import { ADDON_NAME, type AddonInfo } from '../microk8s/addons.ts';
import { plain } from './addons-report.ts';

/** Where hostpath-storage keeps PV data ($SNAP_COMMON/default-storage). */
export const HOSTPATH_DATA = '/var/snap/microk8s/common/default-storage';

/** `core/dns` → `dns`. */
export function bareAddon(name: string): string {
  const slash = name.indexOf('/');
  return slash < 0 ? name : name.slice(slash + 1);
}

/** Why `text` is not an add-on `addon-refresh` takes, or undefined. */
export function addonNameProblem(text: string): string | undefined {
  const shown = `'${plain(text, 60)}'`;
  if (text.includes(':')) return `${shown}: addon-refresh passes no add-on arguments (such as hostpath-storage:destroy-storage); give the add-on's name only`;
  if (text.includes(',')) return `${shown}: one add-on per command, as MicroK8s asks ("Do not enable or disable multiple addons in one command")`;
  if (!ADDON_NAME.test(text)) return `${shown} is not an add-on name: lowercase letters, digits and "-", optionally with its repository (core/dns)`;
  return undefined;
}

/** Refused before anything is queued: add-ons whose disable loses data or the cluster, and no-ops. */
export function addonRefusal(name: string, cluster: ClusterConfig): string | undefined {
  const bare = bareAddon(name);
  if (BUILT_IN_ADDONS.has(bare)) return `${bare} comes pre-installed with MicroK8s; disabling and enabling it does nothing. Nothing was queued.`;
  const risk = addonRisk(bare);
  if (risk.level === 'refuse') {
    return `addon-refresh refuses ${bare} on ${cluster.name}: \`microk8s disable ${bare}\` ${risk.disable}, losing ${risk.loss}. Upgrade it by its own procedure (its release notes). Nothing was queued.`;
  }
  return undefined;
}

export function addonRefreshPlan(name: string, cluster: ClusterConfig): PlanStep[] {
  const controller = cluster.nodes.find((n) => n.role === 'control-plane' && n.os !== 'windows')?.name;
  const risk = addonRisk(bareAddon(name));
  return [
    { title: `check ${name} is enabled`, ...(controller ? { node: controller } : {}), commands: ['microk8s status --format yaml'] },
    { title: `disable ${name}: ${risk.disable}`, ...(controller ? { node: controller } : {}), commands: [`microk8s disable ${name}`], destructive: risk.level === 'destructive' },
    { title: `enable ${name}`, ...(controller ? { node: controller } : {}), commands: [`microk8s enable ${name}`] },
    { title: `check ${name} is enabled again`, ...(controller ? { node: controller } : {}), commands: ['microk8s status --format yaml'] },
  ];
}

export type AddonSeen = { controller: string; name: string; repository?: string; version?: string; enabled: boolean; dataKept?: boolean };

function matches(a: AddonInfo, name: string): boolean {
  const slash = name.indexOf('/');
  return slash < 0 ? a.name === name : a.name === name.slice(slash + 1) && (a.repository === undefined || a.repository === name.slice(0, slash));
}

/** `microk8s status --format yaml` on the first control-plane node that runs: the add-on as listed. */
export async function readAddon(run: RunContext, name: string): Promise<AddonSeen> {
  const problems: string[] = [];
  for (const cp of run.cluster.nodes.filter((n) => n.role === 'control-plane' && n.os !== 'windows')) {
    try {
      const status = await run.node(cp.name).addons.status();
      if (!status.running) {
        problems.push(`${cp.name}: ${status.message ?? 'not running'}`);
        continue;
      }
      const a = status.addons.find((x) => matches(x, name));
      if (!a) throw new RunbookFailure(`${cp.name}'s MicroK8s has no add-on ${name} (microk8s status lists ${status.addons.length}). Nothing was changed.`);
      const seen: AddonSeen = { controller: cp.name, name: a.name, enabled: a.enabled };
      if (a.repository) seen.repository = a.repository;
      if (a.version) seen.version = a.version;
      if (bareAddon(name) === 'hostpath-storage' || bareAddon(name) === 'storage') seen.dataKept = await run.node(cp.name).addons.exists(HOSTPATH_DATA);
      return seen;
    } catch (err) {
      if (err instanceof RunbookFailure) throw err;
      problems.push(`${cp.name}: ${errorText(err).slice(0, 160)}`);
    }
  }
  throw new RunbookFailure(`no control-plane node answered microk8s status (${problems.join('; ')})`);
}
