import type { ChatMessage } from '../chat/port.ts';
import type { ClusterConfig } from '../config/inventory.ts';
import { FINAL_STATES } from '../engine/job-data.ts';
import { keys, JOB_KEY_TTL_SECONDS } from '../queue/keys.ts';
import type { BotDeps } from './deps.ts';

/**
 * `cancel <job>`: marks the job; it stops at the next step boundary (never
 * mid-command) and says what state the nodes were left in. A parked job is
 * woken so it notices now rather than at its gate's expiry.
 */
export async function cancelJob(deps: BotDeps, cluster: ClusterConfig, jobId: string, user: string): Promise<ChatMessage> {
  const job = await deps.queue.get(jobId);
  if (!job?.data?.request) return { text: `Job ${jobId} does not exist (or has been cleaned up).` };
  if (job.data.request.cluster !== cluster.name) {
    return { text: `Job ${jobId} runs on cluster ${job.data.request.cluster}, not ${cluster.name}; add --cluster ${job.data.request.cluster}.` };
  }
  const state = await deps.queue.chatState(job);
  if (FINAL_STATES.has(state)) return { text: `Job ${jobId} has already ended (${state}); nothing to cancel.` };
  await deps.redis.set(keys.cancel(jobId), user, 'EX', JOB_KEY_TTL_SECONDS, 'NX');
  await deps.audit.record({ type: 'cancel', cluster: cluster.name, jobId, user });
  if ((await job.getState()) === 'delayed') {
    try {
      await job.promote();
    } catch (err) {
      if ((err as { code?: number }).code !== -3) throw err;
    }
  }
  return { text: `Cancel requested for job ${jobId} (${state}): it stops at the next step boundary, never in the middle of a command, and the thread will say what state the nodes were left in.` };
}
