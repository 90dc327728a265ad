/** Audit events: one per request, decision, step start/end, SSH command and job end. */
import { escapeMrkdwn } from '../util/mrkdwn.ts';

export type AuditEvent =
  | { type: 'request'; cluster?: string; user: string; text: string; jobId?: string; outcome: 'queued' | 'refused' | 'answered'; reason?: string }
  | {
      type: 'decision'; cluster: string; jobId: string; gate: string; user: string; decision: string; accepted: boolean; reason?: string;
      /** The gate's title ("Approve the plan"), when known. */
      title?: string;
    }
  | { type: 'step.start'; cluster: string; jobId: string; step: string; title: string }
  | { type: 'step.end'; cluster: string; jobId: string; step: string; title: string; ok: boolean; durationMs: number; error?: string }
  | { type: 'command'; cluster: string; jobId: string; node: string; command: string; code: number | null; durationMs: number; error?: string }
  | { type: 'cancel'; cluster: string; jobId: string; user: string }
  | { type: 'job.end'; cluster: string; jobId: string; verb: string; state: string; summary: string; durationMs: number }
  | { type: 'alert'; cluster: string; key: string; state: 'open' | 'resolved'; text: string }
  | { type: 'watch.check'; cluster: string; iteration: string; problems: number; durationMs: number; skipped?: string };

export type StoredAuditEvent = AuditEvent & { id: string; at: number };

/** Who decided what: requests, decisions (approve, reject, choose, expiry), cancels and job results. */
export const DECISION_TYPES: ReadonlySet<AuditEvent['type']> = new Set(['request', 'decision', 'cancel', 'job.end']);

/** The user id written for a gate that expired with no decision. */
export const EXPIRY_USER = 'expiry';

/**
 * Untrusted text (a refused command, node output in an error) as one escaped line of at most
 * `max` characters: it can neither mention, link nor break the listing into more lines.
 */
function oneLine(text: string, max: number): string {
  const flat = text.replaceAll('\r', '').split('\n').filter((l) => l.trim() !== '').join(' ⏎ ');
  const chars = Array.from(flat.length > max * 2 ? flat.slice(0, max * 2) : flat);
  const cut = chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : chars.join('');
  return escapeMrkdwn(cut);
}

function who(user: string): string {
  return /^[UW][A-Z0-9]{2,30}$/.test(user) ? `<@${user}>` : oneLine(user, 40);
}

function gateName(e: Extract<AuditEvent, { type: 'decision' }>): string {
  return e.title ? `"${oneLine(e.title, 80)}"` : `gate ${oneLine(e.gate, 20)}`;
}

/** One line for `audit [n]` and `audit job <id>`. */
export function renderAuditEvent(e: StoredAuditEvent): string {
  const when = new Date(e.at).toISOString().replace('T', ' ').slice(0, 19);
  const job = 'jobId' in e && e.jobId ? ` job ${oneLine(e.jobId, 20)}` : '';
  switch (e.type) {
    case 'request': {
      const outcome = e.outcome === 'queued' ? `queued${job ? ` as${job}` : ''}` : e.outcome;
      return `${when} ${who(e.user)} asked \`${oneLine(e.text, 120)}\` → ${outcome}${e.reason ? ` (${oneLine(e.reason, 200)})` : ''}`;
    }
    case 'decision': {
      if (e.decision === 'expired' && e.user === EXPIRY_USER) return `${when}${job} ${gateName(e)} expired with no decision`;
      const verb = e.decision === 'approved' || e.decision === 'rejected' ? e.decision : oneLine(e.decision, 40);
      return `${when}${job} ${who(e.user)} ${verb} ${gateName(e)}${e.accepted ? '' : ` — not accepted: ${oneLine(e.reason ?? '', 200)}`}`;
    }
    case 'cancel':
      return `${when}${job} ${who(e.user)} asked to cancel`;
    case 'job.end':
      return `${when}${job} ${oneLine(e.verb, 40)} ${oneLine(e.state, 20)}: ${oneLine(e.summary, 300)}`;
    case 'step.start':
      return `${when}${job} step started: ${oneLine(e.title, 120)}`;
    case 'step.end':
      return `${when}${job} step ${e.ok ? 'done' : 'failed'}: ${oneLine(e.title, 120)} (${(e.durationMs / 1000).toFixed(1)} s)${e.error ? ` — ${oneLine(e.error, 300)}` : ''}`;
    case 'command':
      return `${when}${job} ${oneLine(e.node, 40)}$ \`${oneLine(e.command, 200)}\` → ${e.code ?? (e.error ? oneLine(e.error, 200) : '?')} (${e.durationMs} ms)`;
    case 'alert':
      return `${when} watch alert ${e.state === 'open' ? 'opened' : 'resolved'}: ${oneLine(e.text, 300)}`;
    case 'watch.check':
      return `${when} watch check ${oneLine(e.iteration, 40)}: ${e.skipped ? `skipped (${oneLine(e.skipped, 200)})` : `${e.problems} problem(s), ${(e.durationMs / 1000).toFixed(1)} s`}`;
    default:
      return `${when}${job} ${oneLine(JSON.stringify(e), 300)}`;
  }
}
