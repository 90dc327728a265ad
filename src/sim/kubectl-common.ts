/** What every simulated kubectl command shares (kubectl.ts, kubectl-drain.ts, workloads-kubectl.ts, node-config.ts): global flags, the API-down answer, usage and NotFound errors. */
import { fail, type CommandContext, type CommandResult } from './context.ts';
import type { FlagSpec } from './flags.ts';

/** kubectl's global flags: taken before the verb as well as after it. */
export const KUBECTL_GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'namespace', short: 'n', type: 'string' },
  { name: 'kubeconfig', type: 'string' },
  { name: 'request-timeout', type: 'string' },
  { name: 'v', short: 'v', type: 'string' },
  { name: 'context', type: 'string' },
];

/**
 * What kubectl prints when the API server cannot answer on this node: its services are stopped
 * (connection refused), or the datastore has lost quorum (a timeout naming the request, `what`).
 * Undefined when it can answer.
 */
export function apiUnavailable(ctx: CommandContext, what: string): CommandResult | undefined {
  if (!ctx.node.servicesRunning) return fail(1, 'The connection to the server 127.0.0.1:16443 was refused - did you specify the right host or port?\n');
  if (!ctx.state.hasQuorum()) {
    // kine over a dqlite without a leader: the request times out (MicroK8s#3735, #3227)
    return fail(1, `Error from server: rpc error: code = Unknown desc = context deadline exceeded (${what})\n`);
  }
  return undefined;
}

/** A usage error, as kubectl prints it (exit 1). */
export function usageError(cmd: string, msg: string): CommandResult {
  return fail(1, `error: ${msg}\nSee 'kubectl ${cmd} --help' for usage.\n`);
}

export function notFound(kind: 'nodes' | 'pods', name: string): string {
  return `Error from server (NotFound): ${kind} "${name}" not found\n`;
}
