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

/** The control-plane node shown in a plan before the job picks one for real. */
export function displayController(nodes: { name: string; role: string }[], avoid: string): string {
  return nodes.find((n) => n.role === 'control-plane' && n.name !== avoid)?.name ?? avoid;
}
