import * as z from 'zod';
import type { ClusterConfig } from '../config/inventory.ts';
import type { VerbSpec } from '../engine/runbook.ts';
import { excerpt } from '../util/excerpt.ts';
import { RISKS, parseChannel, requestableChannelProblem } from '../microk8s/channels.ts';

/**
 * Argument schemas of the Snap Store Proxy verbs, and the read-only verbs of issue 3 that the bot
 * core answers itself (`snap-proxy list`, `backups`). The mutating ones are runbooks in jobs/.
 */

function shown(input: unknown): string {
  return typeof input === 'string' ? `'${excerpt(input)}'` : 'the value';
}

/**
 * Why `text` is not a channel the proxy can pin, or undefined: `<track>/<risk>` (`1.23/stable`,
 * `latest/edge`) or a bare risk as in the seed (`stable` = `latest/stable`).
 */
export function proxyChannelProblem(text: string): string | undefined {
  if ((RISKS as readonly string[]).includes(text)) return undefined;
  const problem = requestableChannelProblem(text);
  if (problem !== undefined) return problem;
  if (parseChannel(text).branch !== undefined) return `${shown(text)}: the proxy pins <track>/<risk> channels, not branches`;
  return undefined;
}

/** A channel as `snap-proxy override` and `delete-override` take it. */
export const ProxyChannel = z.string().check((ctx) => {
  const problem = proxyChannelProblem(ctx.value);
  if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
});

/** A snap revision: a whole number, no sign or leading zero. */
export const SnapRevision = z.string().regex(/^[1-9][0-9]{0,9}$/, {
  error: (iss) => `${shown(iss.input)} is not a snap revision: a whole number such as 2948 (see \`snap info microk8s\`)`,
});

/** `<channel>=<revision>` → its parts, or a message saying what is wrong. */
export function splitPin(text: string): { channel: string; revision: string } | string {
  const eq = text.indexOf('=');
  if (eq < 0) return `${shown(text)} needs a revision: write <channel>=<revision>, such as 1.23/stable=2948`;
  const channel = text.slice(0, eq);
  const revision = text.slice(eq + 1);
  const problem = proxyChannelProblem(channel);
  if (problem) return problem;
  const rev = SnapRevision.safeParse(revision);
  if (!rev.success) return rev.error.issues[0]?.message ?? 'bad revision';
  return { channel, revision };
}

/** `snap-proxy pin`'s argument, kept as the string typed (the worker parses the job's args again). */
export const ProxyPin = z.string().check((ctx) => {
  const parts = splitPin(ctx.value);
  if (typeof parts === 'string') ctx.issues.push({ code: 'custom', message: parts, input: ctx.value });
});

/** undefined when the cluster has a Snap Store Proxy in the inventory; else what to add. */
export function snapProxyConfigured(cluster: ClusterConfig): string | undefined {
  if (cluster.snapProxy) return undefined;
  return `cluster ${cluster.name} has no Snap Store Proxy: add \`snapProxy: { host: <address>, port: 22 }\` to its inventory entry (the proxy host is reached with the cluster's ssh settings). Nothing was run.`;
}

export const snapProxyListVerb: VerbSpec = {
  verb: 'snap-proxy list',
  usage: 'snap-proxy list',
  example: 'snap-proxy list --cluster prod',
  summary: "lists the MicroK8s revisions pinned on the cluster's Snap Store Proxy (`snap-proxy list-overrides`) and which nodes use the proxy",
  positional: [],
  args: z.object({}),
  mutating: false,
  validate: (_args, cluster) => snapProxyConfigured(cluster),
  plan: () => [],
};

export const backupsVerb: VerbSpec = {
  verb: 'backups',
  usage: 'backups',
  example: 'backups --cluster prod',
  summary: "lists the cluster's datastore backups kept on the bot host, newest first: time, age, node, size, sha256",
  positional: [],
  args: z.object({}),
  mutating: false,
  plan: () => [],
};

/** Read-only verbs of the Snap Store Proxy and backup runbooks (answered by the bot core). */
export const opsReadVerbs: VerbSpec[] = [snapProxyListVerb, backupsVerb];
