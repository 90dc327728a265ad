/**
 * The buttons a failed runbook offers with its failure (RunbookFailure.offers): the next safe
 * action as a new request. The bot turns a click into that request (src/bot/core.ts).
 */
import type { Button } from '../chat/port.ts';

/** "Roll back" after a failed refresh: starts a rollback job (with its own destructive approval). */
export function rollbackOffer(jobId: string, node: string): Button {
  return {
    label: 'Roll back',
    actionId: 'mk8s.rollback',
    value: jobId,
    style: 'danger',
    confirm: {
      title: 'Roll back with snap revert?',
      text: `Request a rollback of ${node} to the revision it ran before job ${jobId}. It still needs an approver.`,
      confirm: 'Request rollback',
      deny: 'Cancel',
    },
  };
}

export const WINDOWS_UPGRADE_ACTION = 'mk8s.windows-upgrade';

/** "Upgrade <node>" after upgrade-cluster: requests `windows-worker upgrade <node>`; the value is `<job>/<node>`, re-checked on the click. */
export function windowsUpgradeOffer(jobId: string, node: string): Button {
  return { label: `Upgrade ${node}`, actionId: WINDOWS_UPGRADE_ACTION, value: `${jobId}/${node}` };
}

export function parseWindowsUpgradeValue(value: string): { jobId: string; node: string } | undefined {
  const m = /^([0-9]{1,12})\/([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/.exec(value);
  return m?.[1] && m[2] ? { jobId: m[1], node: m[2] } : undefined;
}
