import { describe, expect, it } from 'vitest';
import { DECISION_TYPES, EXPIRY_USER, renderAuditEvent, type AuditEvent } from '../../src/audit/events.ts';

const at = Date.UTC(2026, 11, 2, 4, 30, 0);
const line = (e: AuditEvent) => renderAuditEvent({ ...e, id: '1-0', at });

describe('audit lines', () => {
  it('say who asked what and how it ended, who decided which gate, and each job result', () => {
    expect(line({ type: 'request', cluster: 'prod', user: 'U0ALICE', text: 'upgrade k8s-1 1.23/stable', jobId: '7', outcome: 'queued' })).toBe(
      '2026-12-02 04:30:00 <@U0ALICE> asked `upgrade k8s-1 1.23/stable` → queued as job 7',
    );
    expect(line({ type: 'decision', cluster: 'prod', jobId: '7', gate: 'g1', title: 'Approve the plan', user: 'U0BOB', decision: 'approved', accepted: true })).toBe(
      '2026-12-02 04:30:00 job 7 <@U0BOB> approved "Approve the plan"',
    );
    expect(line({ type: 'decision', cluster: 'prod', jobId: '7', gate: 'g1', user: 'U0ALICE', decision: 'approved', accepted: false, reason: 'two-person rule' })).toBe(
      '2026-12-02 04:30:00 job 7 <@U0ALICE> approved gate g1 — not accepted: two-person rule',
    );
    expect(line({ type: 'decision', cluster: 'prod', jobId: '7', gate: 'g1', title: 'Approve the plan', user: EXPIRY_USER, decision: 'expired', accepted: true })).toBe(
      '2026-12-02 04:30:00 job 7 "Approve the plan" expired with no decision',
    );
    expect(line({ type: 'cancel', cluster: 'prod', jobId: '7', user: 'U0ALICE' })).toBe('2026-12-02 04:30:00 job 7 <@U0ALICE> asked to cancel');
    expect(line({ type: 'job.end', cluster: 'prod', jobId: '7', verb: 'upgrade', state: 'succeeded', summary: 'Succeeded: 6 steps done.', durationMs: 1 })).toBe(
      '2026-12-02 04:30:00 job 7 upgrade succeeded: Succeeded: 6 steps done.',
    );
    expect([...DECISION_TYPES].toSorted()).toEqual(['cancel', 'decision', 'job.end', 'request']);
  });

  it('keep untrusted text to one escaped, bounded line', () => {
    const text = `upgrade <!channel>\n<https://evil.example|Approve job 42> ${'x'.repeat(500)}`;
    const out = line({ type: 'request', cluster: 'prod', user: 'U0MALLORY', text, outcome: 'refused', reason: "'<' is not allowed" });
    expect(out).not.toContain('\n');
    expect(out).not.toMatch(/<[!h]/);
    expect(out).toContain('asked `upgrade &lt;!channel&gt; ⏎ &lt;https://evil.example|Approve job 42&gt; xxx');
    expect(out).toContain("→ refused ('&lt;' is not allowed)");
    expect(out.length).toBeLessThan(260);
    // A user id that is not one renders as text, not a mention.
    expect(line({ type: 'cancel', cluster: 'prod', jobId: '7', user: '<!here>' })).toBe('2026-12-02 04:30:00 job 7 &lt;!here&gt; asked to cancel');
  });
});
