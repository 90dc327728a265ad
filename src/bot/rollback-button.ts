import type { Job } from 'bullmq';
import type { ActionInput, ChatMessage } from '../chat/port.ts';
import { mayRequest } from '../auth/rbac.ts';
import { clusterConfig } from '../config/inventory.ts';
import { FINAL_STATES, type JobData } from '../engine/job-data.ts';
import { stepCount } from '../engine/job-steps.ts';
import type { JobRequest } from '../engine/runbook.ts';
import { readNodeRecord } from '../store/node-records.ts';
import type { BotDeps } from './deps.ts';
import { submitJob } from './submit.ts';

/** Jobs looked at for "did a newer job change that node?" (newest first; far more than a cluster keeps running). */
const NEWER_JOBS_SCANNED = 200;

/** A job that ran a step on `node` (names it in its arguments, or names no node at all: a cluster-wide job). */
function touches(job: Job<JobData>, node: string): boolean {
  if (stepCount(job.data) === 0) return false;
  const values = Object.values(job.data.request.args);
  const names = values.filter((v): v is string => typeof v === 'string');
  return names.includes(node) || !('node' in job.data.request.args);
}

/**
 * Why a Roll back button of `job` no longer stands, if it does not: the job has not
 * ended, or a newer job changed that node since (its record, or a newer job that ran
 * steps on it). Undefined when the rollback may be requested.
 */
async function staleBecause(deps: BotDeps, job: Job<JobData>, node: string): Promise<string | undefined> {
  const data = job.data;
  if (!FINAL_STATES.has(data.state)) return `job ${job.id} has not ended (${data.state})`;
  const since = data.request.requestedAt;
  const record = await readNodeRecord(deps.redis, data.request.cluster, node);
  if (record && record.byJob !== String(job.id) && record.at > since) return `job ${record.byJob} (${record.verb}) changed ${node} since`;
  const jobs = await deps.queue.queue.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'], 0, NEWER_JOBS_SCANNED);
  const newer = jobs.find(
    (j) => j?.data?.request && j.id !== job.id && j.data.request.cluster === data.request.cluster && j.data.request.verb !== 'inspect'
      && j.data.request.requestedAt > since && touches(j, node),
  );
  return newer ? `job ${newer.id} (${newer.data.request.verb}) ran on ${node} since` : undefined;
}

/** The "Roll back" button of a failed upgrade: a rollback job with what the upgrade recorded. */
export async function rollbackFromJob(deps: BotDeps, input: ActionInput): Promise<ChatMessage> {
  if (!/^[0-9]{1,12}$/.test(input.value)) return { text: 'That button does not name a job; nothing changed.' };
  const job = await deps.queue.get(input.value);
  const info = job?.data?.rollback;
  if (!job || !info) return { text: `Job ${input.value} recorded nothing to roll back; nothing changed.` };
  if (input.channel !== job.data.parent?.channel) return { text: `That click did not come from job ${input.value}'s thread; nothing changed.` };
  const cluster = clusterConfig(deps.inventory, job.data.request.cluster);
  const runbook = deps.runbooks.get('rollback');
  if (!cluster || !runbook) return { text: 'Rollback is not available for this cluster.' };
  const allowed = await mayRequest({ user: input.user, spec: runbook.spec, cluster, inventory: deps.inventory, members: deps.members });
  if (!allowed.ok) return { text: `Not allowed: ${allowed.reason}.` };
  const stale = await staleBecause(deps, job, info.node);
  if (stale) {
    await deps.audit.record({ type: 'request', cluster: cluster.name, user: input.user, text: `Roll back button of job ${input.value}`, outcome: 'refused', reason: stale });
    return { text: `This Roll back button no longer applies: ${stale}. Nothing was queued; look at \`status\` and ask for \`rollback ${info.node}\` if it is still wanted.` };
  }
  const args = { node: info.node, fromJob: input.value, expectRevision: info.revision, expectVersion: info.version, wasCordoned: info.wasCordoned };
  const request: JobRequest = {
    verb: 'rollback', cluster: cluster.name, args, text: `rollback ${info.node} (undo job ${input.value})`, user: input.user, channel: job.data.request.channel, requestedAt: Date.now(),
  };
  return (await submitJob(deps, cluster, request)).ack;
}
