import * as z from 'zod';
import { NODE_NAME, type ClusterConfig } from '../config/inventory.ts';
import { excerpt } from './errors.ts';

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

export const RISKS = ['stable', 'candidate', 'beta', 'edge'] as const;
export type Risk = (typeof RISKS)[number];

function isRisk(s: string | undefined): s is Risk {
  return (RISKS as readonly (string | undefined)[]).includes(s);
}

export interface SnapChannelParts {
  /** `1.23` or `latest` */
  track: string;
  /** Set for numeric tracks. */
  version?: { major: number; minor: number };
  risk: Risk;
  branch?: string;
}

const TRACK = /^(?:latest|(\d{1,3})\.(\d{1,3}))$/;
const BRANCH = /^[a-z0-9][a-z0-9._-]{0,39}$/;

/** Parses `1.23/stable`, `latest/edge`, `1.23/candidate/hotfix`: the parts, or a message saying what is wrong. */
export function parseSnapChannel(text: string): SnapChannelParts | string {
  const parts = text.split('/');
  const [track = '', risk, branch] = parts;
  const example = 'such as 1.23/stable or latest/edge';
  if (parts.length === 1) {
    if (isRisk(track)) return `'${track}' has no track; write the version too, such as 1.23/${track}`;
    if (TRACK.test(track)) return `add the risk to '${excerpt(track)}': ${track}/stable, ${track}/candidate, ${track}/beta or ${track}/edge`;
    return `'${excerpt(text)}' is not a snap channel; expected <major>.<minor>/<risk> or latest/<risk>, ${example}`;
  }
  if (parts.length > 3) return `'${excerpt(text)}' has too many parts; expected <track>/<risk>[/<branch>], ${example}`;
  const m = TRACK.exec(track);
  if (!m) return `unknown track '${excerpt(track)}' in '${excerpt(text)}'; use <major>.<minor> (such as 1.23) or latest`;
  if (!isRisk(risk)) {
    return `unknown risk '${excerpt(risk ?? '')}'; use stable, candidate, beta or edge`;
  }
  if (branch !== undefined && !BRANCH.test(branch)) {
    return `bad branch '${excerpt(branch)}'; a branch is lowercase letters, digits, '.', '_' and '-'`;
  }
  const out: SnapChannelParts = { track, risk };
  if (m[1] !== undefined && m[2] !== undefined) out.version = { major: Number(m[1]), minor: Number(m[2]) };
  if (branch !== undefined) out.branch = branch;
  return out;
}

/** A snap channel: `<major>.<minor>/<risk>` or `latest/<risk>`, with an optional `/<branch>`. */
export const SnapChannel = z.string().check((ctx) => {
  const parsed = parseSnapChannel(ctx.value);
  if (typeof parsed === 'string') ctx.issues.push({ code: 'custom', message: parsed, input: ctx.value });
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
