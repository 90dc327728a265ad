/**
 * The "Upgrade <node>" button upgrade-cluster posts for each Windows worker it left behind: a
 * `windows-worker upgrade <node>` request by the clicker, in the rollout's channel. The value
 * is never trusted: the job, the channel of the click, the node and the clicker's rights are
 * checked again; the verb itself re-reads the versions (nothing to do when already current).
 */
import { mayRequest } from '../auth/rbac.ts';
import type { ActionInput, ChatMessage } from '../chat/port.ts';
import { clusterConfig } from '../config/inventory.ts';
import type { JobRequest } from '../engine/runbook.ts';
import { parseWindowsUpgradeValue } from '../engine/offers.ts';
import type { BotDeps } from './deps.ts';
import { submitJob } from './submit.ts';

export async function windowsUpgradeFromJob(deps: BotDeps, input: ActionInput): Promise<ChatMessage> {
  const parsed = parseWindowsUpgradeValue(input.value);
  if (!parsed) return { text: 'That button does not name a job and a node; nothing changed.' };
  const job = await deps.queue.get(parsed.jobId);
  const cluster = job ? clusterConfig(deps.inventory, job.data.request.cluster) : undefined;
  const runbook = deps.runbooks.get('windows-worker upgrade');
  if (!job || !cluster || !runbook || job.data.request.verb !== 'upgrade-cluster') return { text: `Job ${parsed.jobId} offered no Windows upgrade; nothing changed.` };
  if (input.channel !== job.data.parent?.channel) return { text: `That click did not come from job ${parsed.jobId}'s thread; nothing changed.` };
  const problem = runbook.spec.validate?.({ node: parsed.node }, cluster);
  if (problem) return { text: `${problem}; nothing changed.` };
  const allowed = await mayRequest({ user: input.user, spec: runbook.spec, cluster, inventory: deps.inventory, members: deps.members });
  if (!allowed.ok) return { text: `Not allowed: ${allowed.reason}.` };
  const request: JobRequest = {
    verb: 'windows-worker upgrade', cluster: cluster.name, args: { node: parsed.node }, text: `windows-worker upgrade ${parsed.node}`, user: input.user, channel: job.data.request.channel, requestedAt: Date.now(),
  };
  return (await submitJob(deps, cluster, request)).ack;
}
