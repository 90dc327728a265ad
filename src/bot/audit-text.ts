/** The most of a user's command text kept in an audit entry. */
export const AUDIT_TEXT_MAX = 200;

/**
 * A user's command text as an audit entry keeps it (a refused command can be anything: huge,
 * binary, mrkdwn): at most AUDIT_TEXT_MAX characters, cut between code points, "…" when cut.
 *
 * The stream keeps the text as typed; it is escaped where it is shown: renderAuditEvent
 * (src/audit/events.ts) passes every untrusted field through escapeMrkdwn, on one bounded line,
 * so that `audit` never shows a live mention or link from a user's text.
 */
export function auditedText(text: string): string {
  const points = Array.from(text);
  return points.length <= AUDIT_TEXT_MAX ? text : `${points.slice(0, AUDIT_TEXT_MAX - 1).join('')}…`;
}
