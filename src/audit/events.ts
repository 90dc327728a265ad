/** Audit events: one per request, decision, step start/end, SSH command and job end. */
export type AuditEvent =
  | { type: 'request'; cluster?: string; user: string; text: string; jobId?: string; outcome: 'queued' | 'refused' | 'answered'; reason?: string }
  | { type: 'decision'; cluster: string; jobId: string; gate: string; user: string; decision: string; accepted: boolean; reason?: string }
  | { type: 'step.start'; cluster: string; jobId: string; step: string; title: string }
  | { type: 'step.end'; cluster: string; jobId: string; step: string; title: string; ok: boolean; durationMs: number; error?: string }
  | { type: 'command'; cluster: string; jobId: string; node: string; command: string; code: number | null; durationMs: number; error?: string }
  | { type: 'cancel'; cluster: string; jobId: string; user: string }
  | { type: 'job.end'; cluster: string; jobId: string; verb: string; state: string; summary: string; durationMs: number }
  | { type: 'alert'; cluster: string; key: string; state: 'open' | 'resolved'; text: string }
  | { type: 'watch.check'; cluster: string; iteration: string; problems: number; durationMs: number; skipped?: string };

export type StoredAuditEvent = AuditEvent & { id: string; at: number };

/** One line for `audit [n]` and the audit channel. */
export function renderAuditEvent(e: StoredAuditEvent): string {
  const when = new Date(e.at).toISOString().replace('T', ' ').slice(0, 19);
  const who = 'user' in e ? ` <@${e.user}>` : '';
  const job = 'jobId' in e && e.jobId ? ` job ${e.jobId}` : '';
  switch (e.type) {
    case 'request':
      return `${when}${job}${who} \`${e.text}\` → ${e.outcome}${e.reason ? ` (${e.reason})` : ''}`;
    case 'decision':
      return `${when}${job}${who} ${e.decision} gate ${e.gate}${e.accepted ? '' : ` — not accepted: ${e.reason ?? ''}`}`;
    case 'step.start':
      return `${when}${job} step started: ${e.title}`;
    case 'step.end':
      return `${when}${job} step ${e.ok ? 'done' : 'failed'}: ${e.title} (${(e.durationMs / 1000).toFixed(1)} s)${e.error ? ` — ${e.error}` : ''}`;
    case 'command':
      return `${when}${job} ${e.node}$ ${e.command} → ${e.code ?? e.error ?? '?'} (${e.durationMs} ms)`;
    case 'cancel':
      return `${when}${job}${who} asked to cancel`;
    case 'job.end':
      return `${when}${job} ${e.verb} ${e.state}: ${e.summary}`;
    case 'alert':
      return `${when} watch alert ${e.state === 'open' ? 'opened' : 'resolved'}: ${e.text}`;
    case 'watch.check':
      return `${when} watch check ${e.iteration}: ${e.skipped ? `skipped (${e.skipped})` : `${e.problems} problem(s), ${(e.durationMs / 1000).toFixed(1)} s`}`;
    default:
      return `${when}${job} ${JSON.stringify(e)}`;
  }
}
