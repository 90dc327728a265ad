import * as z from 'zod';

/**
 * Inventory fields whose errors must say what is allowed, and the wording of
 * zod's issues for people. Unions are avoided on purpose: a failed union only
 * says "Invalid input", so each field is one string with one message.
 */

/** What Slack sends: channel ids start with C (public), G (private) or D (direct message). */
const SLACK_CHANNEL_ID = /^[CGD][A-Z0-9]{2,20}$/;
/** User ids start with U or W (Enterprise Grid); user-group ids with S. */
const SLACK_PRINCIPAL_ID = /^[UWS][A-Z0-9]{2,20}$/;
/** The console chat's own names (`alice`, `demo`); never sent by Slack. */
const CONSOLE_NAME = /^[a-z][a-z0-9._-]{0,79}$/;

export const Channel = z.string({ error: 'expected a Slack channel id such as C0123456789' }).refine((s) => SLACK_CHANNEL_ID.test(s) || CONSOLE_NAME.test(s), {
  message:
    'expected a Slack channel id such as C0123456789 (C, G or D, then upper-case letters and digits: Slack shows it at the bottom of the channel details), or a lower-case console channel name',
});

export const Principal = z.string({ error: 'expected a Slack user id such as U012AB3CD' }).refine((s) => s === '*' || SLACK_PRINCIPAL_ID.test(s) || CONSOLE_NAME.test(s), {
  message:
    'expected a Slack user id such as U012AB3CD (U or W, then upper-case letters and digits), a user-group id such as S0123ABCD, "*" for everyone, or a lower-case console user name',
});

/** A strict object whose "unknown key" error lists the keys that are allowed. */
export function strict<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; allowed: ${allowed}`;
      if (issue.code === 'invalid_type') return issue.input === undefined ? `missing: expected a mapping with ${allowed}` : `expected a mapping with ${allowed}, got ${kindOf(issue.input)}`;
      return undefined;
    },
  });
}

function kindOf(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  // Never echo text: a misplaced secret must not end up in an error message.
  if (typeof value === 'string') return 'text';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${value}`;
  return typeof value;
}

const NOUN: Record<string, string> = { string: 'text', number: 'a number', boolean: 'true or false', array: 'a list', object: 'a mapping', record: 'a mapping' };

/** One zod issue in words: what was wrong and what is allowed. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = NOUN[issue.expected] ?? issue.expected;
      // A custom message set on the schema wins over the generic one.
      if (!issue.message.startsWith('Invalid input')) return issue.message;
      return issue.input === undefined ? `missing: expected ${expected}` : `expected ${expected}, got ${kindOf(issue.input)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_key':
      return issue.issues.map((inner) => describeIssue(inner)).join('; ');
    case 'too_small':
      if (!issue.message.startsWith('Too small')) return issue.message;
      return issue.origin === 'array' ? `expected at least ${String(issue.minimum)} item(s)` : `expected at least ${String(issue.minimum)}`;
    case 'too_big':
      if (!issue.message.startsWith('Too big')) return issue.message;
      return issue.origin === 'array' ? `expected at most ${String(issue.maximum)} item(s)` : `expected at most ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
}
