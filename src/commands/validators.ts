import * as z from 'zod';
import { NODE_NAME, type ClusterConfig } from '../config/inventory.ts';
import { requestableChannelProblem } from '../microk8s/channels.ts';
import { excerpt } from '../util/excerpt.ts';

/**
 * Reusable argument schemas. Arguments arrive as strings (positional words and
 * flag values); every message names the bad value (shortened) and says what is
 * allowed, so it can go to the requester as is.
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

/** undefined when `name` is a node of `cluster`; else a message listing its nodes. */
export function nodeInCluster(cluster: ClusterConfig, name: string): string | undefined {
  if (cluster.nodes.some((n) => n.name === name)) return undefined;
  const names = cluster.nodes.map((n) => n.name).join(', ');
  return `unknown node '${excerpt(name)}' in cluster ${cluster.name}; its nodes are ${names}`;
}
