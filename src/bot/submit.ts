import type { ChatMessage } from '../chat/port.ts';
import type { ClusterConfig } from '../config/inventory.ts';
import { errorText } from '../engine/context.ts';
import { newJobData } from '../engine/job-data.ts';
import { parentMessage } from '../engine/messages.ts';
import type { JobRequest } from '../engine/runbook.ts';
import { keys } from '../queue/keys.ts';
import type { HolderInfo } from '../queue/job-queue.ts';
import type { BotDeps } from './deps.ts';

export type SubmitResult = { ok: true; jobId: string; ack: ChatMessage } | { ok: false; ack: ChatMessage };

export function busyMessage(cluster: string, holder: HolderInfo): string {
  const scheduled = holder.startsAt !== undefined ? `, scheduled to start at ${new Date(holder.startsAt).toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';
  return `cluster ${cluster} is busy: job ${holder.jobId} (${holder.verb}, ${holder.state}${scheduled}, requested by <@${holder.user}>) holds it. Nothing was queued; try again when it has ended, or \`cancel ${holder.jobId}\`.`;
}

/**
 * Queues a mutating request with the cluster hold, then posts its parent
 * message. A busy cluster refuses at once, naming the job that holds it.
 */
export async function submitJob(deps: BotDeps, cluster: ClusterConfig, request: JobRequest, hold = true): Promise<SubmitResult> {
  const result = await deps.queue.enqueue(request, hold);
  if (!result.ok) {
    await deps.audit.record({ type: 'request', cluster: cluster.name, user: request.user, text: request.text, outcome: 'refused', reason: `busy: job ${result.holder.jobId}` });
    deps.metrics.requests.inc({ verb: request.verb, outcome: 'busy' });
    return { ok: false, ack: { text: busyMessage(cluster.name, result.holder) } };
  }
  const { jobId } = result;
  await deps.audit.record({ type: 'request', cluster: cluster.name, user: request.user, text: request.text, jobId, outcome: 'queued' });
  deps.metrics.requests.inc({ verb: request.verb, outcome: 'queued' });
  // The parent message goes up off the ack path; the worker waits for it (or posts it).
  void postParent(deps, jobId, request).catch((err: unknown) => deps.logger.error({ err: errorText(err), jobId }, 'could not post the parent message'));
  return {
    ok: true,
    jobId,
    ack: { text: `Queued as job ${jobId}: \`${request.text}\` on ${cluster.name}. Steps and approvals follow in the job's thread.` },
  };
}

async function postParent(deps: BotDeps, jobId: string, request: JobRequest): Promise<void> {
  const claimed = await deps.redis.set(keys.parentClaim(jobId), 'bot', 'EX', 86_400, 'NX');
  if (claimed !== 'OK') return; // the worker got there first
  const ref = await deps.chat.post(request.channel, parentMessage(jobId, newJobData('', request)));
  await deps.redis.set(keys.parent(jobId), JSON.stringify(ref), 'EX', 30 * 86_400);
}
