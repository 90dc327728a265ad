import * as z from 'zod';
import type { VerbSpec } from '../engine/runbook.ts';
import { Count, JobId } from './validators.ts';

/**
 * The verbs the bot core answers itself (no runbook, nothing queued).
 * Only their specs live here: the handlers are in the bot core.
 */

const HelpTopic = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/i, { error: 'expected a verb name, such as upgrade' });
/** `upgrade`, or a sub-verb as one value (`snap-proxy pin`, from `--help` on it). */
const HelpVerb = z.string().regex(/^[a-z][a-z0-9-]{0,30}(?: [a-z][a-z0-9-]{0,30})?$/i, { error: 'expected a verb name, such as upgrade' });

export const helpVerb: VerbSpec = {
  verb: 'help',
  usage: 'help [verb]',
  example: 'help upgrade',
  summary: 'lists every verb with an example, or explains one verb',
  // `help snap-proxy pin`: the sub-verb is a second word, joined to the first.
  positional: ['verb', 'sub'],
  args: z
    .object({ verb: HelpVerb.optional(), sub: HelpTopic.optional() })
    .transform(({ verb, sub }) => (verb !== undefined && sub !== undefined ? { verb: `${verb} ${sub}` } : { verb })),
  mutating: false,
  scope: 'global',
  role: 'anyone',
  plan: () => [],
};

export const clustersVerb: VerbSpec = {
  verb: 'clusters',
  usage: 'clusters',
  example: 'clusters',
  summary: 'lists the clusters, their channels and nodes',
  positional: [],
  args: z.object({}),
  mutating: false,
  scope: 'global',
  plan: () => [],
};

export const statusVerb: VerbSpec = {
  verb: 'status',
  usage: 'status [--drift]',
  example: 'status --cluster prod',
  summary: "shows the cluster's HA state, datastore voter/standby/spare nodes and the node table (role, failure domain, version, revision, channel, Ready, cordoned, hold), and flags drift",
  positional: [],
  flags: { drift: { key: 'drift', type: 'boolean', describe: "only the drift check: each node's snap revision, channel and hold against what the bot last recorded" } },
  args: z.object({ drift: z.boolean().optional() }),
  mutating: false,
  plan: () => [],
};

export const jobsVerb: VerbSpec = {
  verb: 'jobs',
  usage: 'jobs',
  example: 'jobs',
  summary: "lists the cluster's recent and running jobs, and which one holds the cluster",
  positional: [],
  args: z.object({}),
  mutating: false,
  plan: () => [],
};

export const cancelVerb: VerbSpec = {
  verb: 'cancel',
  usage: 'cancel <job>',
  example: 'cancel 42',
  summary: 'stops a job at the next step boundary (never mid-command) and says what state it left',
  positional: ['job'],
  args: z.object({ job: JobId }),
  mutating: false,
  role: 'operator',
  plan: () => [],
};

const AuditCount = Count(1, 200);

/** `audit [n]` or `audit job <id>`. */
const AuditArgs = z.object({ n: z.string().optional(), id: z.string().optional() }).transform((a, ctx): { n: number } | { job: string } => {
  if (a.n === 'job') {
    const id = JobId.safeParse(a.id);
    if (id.success) return { job: id.data };
    // A missing id is reported by the parser as "missing <id>" with the usage.
    ctx.issues.push({ code: 'custom', message: id.error.issues[0]?.message ?? 'not a job id', input: a.id, path: ['id'] });
    return z.NEVER;
  }
  if (a.id !== undefined) {
    ctx.issues.push({ code: 'custom', message: "expected 'audit [n]' or 'audit job <id>'", input: a.id, path: ['id'] });
    return z.NEVER;
  }
  const n = AuditCount.safeParse(a.n ?? '20');
  if (n.success) return { n: n.data };
  ctx.issues.push({ code: 'custom', message: n.error.issues[0]?.message ?? 'expected a number from 1 to 200', input: a.n, path: ['n'] });
  return z.NEVER;
});

export const auditVerb: VerbSpec = {
  verb: 'audit',
  usage: 'audit [n] | audit job <id>',
  example: 'audit 50',
  summary: "shows the cluster's last n decisions, newest first (1 to 200, default 20): requests, approvals, rejections, expiries, cancels and job results; 'audit job 42' shows one job's steps and commands",
  positional: ['n', 'id'],
  args: AuditArgs,
  mutating: false,
  plan: () => [],
};

export const homeVerb: VerbSpec = {
  verb: 'home',
  usage: 'home',
  example: 'home',
  summary: "the App Home view as text: per cluster you may view, HA state, nodes (version, Ready, hold), the job holding it, scheduled jobs, open alerts",
  positional: [],
  args: z.object({}),
  mutating: false,
  scope: 'global',
  plan: () => [],
};

export const builtinVerbs: VerbSpec[] = [helpVerb, clustersVerb, statusVerb, jobsVerb, cancelVerb, auditVerb, homeVerb];
