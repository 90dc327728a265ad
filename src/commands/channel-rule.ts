import type { ParsedCommand } from './parse.ts';

/**
 * A cluster's changes are asked for in the cluster's own channel, where its team
 * sees them (DESIGN: "A verb that changes a cluster is taken only in that
 * cluster's channel"). Read-only verbs and dry runs answer wherever the user may
 * view the cluster. Returns the refusal, or undefined when the request may go on.
 */
export function wrongChannel(parsed: ParsedCommand, channel: string): string | undefined {
  const cluster = parsed.cluster;
  if (!cluster || !parsed.spec.mutating || parsed.dryRun) return undefined;
  if (channel === cluster.channel) return undefined;
  return `\`${parsed.verb}\` changes cluster ${cluster.name}, so it is taken only in that cluster's channel <#${cluster.channel}>; ask there. Read-only verbs and --dry-run answer here too. Nothing was queued.`;
}
