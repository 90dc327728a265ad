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
