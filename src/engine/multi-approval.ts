import type { GateRecord } from './job-data.ts';
import type { GateSpec } from './run-types.ts';

/**
 * The extra fields of a gate that needs more than one approver (none for an ordinary gate): the
 * count, the binding, the approvals so far, and what it shows — so the bot can redraw its message
 * with "1 of 2 approvals" after each one (src/bot/multi-approval.ts).
 */
export function multiApproval(spec: GateSpec): Partial<GateRecord> {
  const approvals = spec.approvals ?? 1;
  if (approvals <= 1) return spec.binding ? { binding: spec.binding } : {};
  const view: NonNullable<GateRecord['view']> = { what: spec.what };
  if (spec.why) view.why = spec.why;
  if (spec.nodes) view.nodes = spec.nodes;
  if (spec.plan) view.plan = spec.plan;
  return { approvals, ...(spec.binding ? { binding: spec.binding } : {}), approvedBy: [], view };
}
