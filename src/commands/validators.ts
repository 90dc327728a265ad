import * as z from 'zod';
import { NODE_NAME } from '../config/inventory.ts';
import { MAX_FAILURE_DOMAIN, parseFailureDomain } from '../microk8s/args-files.ts';
import { requestableChannelProblem } from '../microk8s/channels.ts';
import { domainMessage, parsePlan } from '../ops/failure-domains.ts';
import { parseHoldValue } from '../ops/holds.ts';
import { excerpt } from '../util/excerpt.ts';

/**
 * The argument schemas of the verbs (jobs/ specs and the built-in verbs declare their `args`
 * with these). Arguments arrive as strings (positional words and flag values); every message
 * names the bad value (shortened) and says what is allowed, so it can go to the requester as is.
 * A schema that needs a parser the runbook also uses at run time (a hold's value, a failure-domain
 * plan) wraps that parser where the runbook's helpers keep it (src/ops), so both read it alike.
 */

function shown(input: unknown): string {
  return typeof input === 'string' ? `'${excerpt(input)}'` : 'the value';
}

/** A node name: a DNS-1123 label (lowercase letters, digits and '-', at most 63). */
export const NodeName = z.string().regex(NODE_NAME, {
  error: (iss) => `${shown(iss.input)} is not a node name: use lowercase letters, digits and '-', at most 63 characters, such as k8s-1`,
});

/** A snap channel: `<major>.<minor>/<risk>` or `latest/<risk>`, with an optional `/<branch>`. */
export const SnapChannel = z.string().check((ctx) => {
  const problem = requestableChannelProblem(ctx.value);
  if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
});

/** A BullMQ job id as the bot shows it: digits only. */
export const JobId = z.string().regex(/^\d{1,12}$/, {
  error: (iss) => `${shown(iss.input)} is not a job id; use the number from 'job 42' (digits only, at most 12)`,
});

/** `<node|all>`: the keyword `all` or a node name. */
export const NodeOrAll = z.string().regex(/^(?:all|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/, {
  error: (iss) => `${shown(iss.input)} is not a node name or all: use lowercase letters, digits and '-', such as k8s-1`,
});

/** The hold argument of `hold`: `forever`, a duration or a future RFC 3339 time; kept as typed (the job parses it again). */
export const HoldValue = z.string().check((ctx) => {
  const parsed = parseHoldValue(ctx.value);
  if (typeof parsed === 'string') ctx.issues.push({ code: 'custom', message: parsed, input: ctx.value });
});

/** A failure domain as a word or a number: a whole number 0…MAX (re-parses its own output). */
export const FailureDomain = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const n = typeof value === 'number' ? (Number.isSafeInteger(value) && value >= 0 && value <= MAX_FAILURE_DOMAIN ? value : undefined) : parseFailureDomain(value);
  if (n === undefined) {
    ctx.issues.push({ code: 'custom', message: domainMessage(String(value)), input: value });
    return z.NEVER;
  }
  return n;
});

/** `failure-domain --plan k8s-1=1,k8s-2=2`: kept as typed (the job parses it again with parsePlan). */
export const FailurePlan = z.string().check((ctx) => {
  const parsed = parsePlan(ctx.value);
  if (typeof parsed === 'string') ctx.issues.push({ code: 'custom', message: parsed, input: ctx.value });
});

/** A whole number from `min` to `max`, given as a word (or a number). */
export function Count(min: number, max: number) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    const n = typeof value === 'number' ? value : /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.issues.push({ code: 'custom', message: `${shown(String(value))} is not a whole number from ${min} to ${max}`, input: value });
      return z.NEVER;
    }
    return n;
  });
}
