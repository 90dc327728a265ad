/**
 * One outbox per job and process (outbox.ts): a job woken at a gate goes on in the outbox its
 * last activation left, so its messages keep their order; so does the failure report of a job
 * that failed outside its runbook (worker.ts).
 */
import type { Logger } from 'pino';
import type { ChatPort } from '../chat/port.ts';
import { Outbox } from './outbox.ts';

/** The outboxes of jobs that still have something to send, by job id. */
const jobOutboxes = new Map<string, Outbox>();

/**
 * The job's outbox in this process: the one its previous activation still drains, or a new one
 * (so a woken job's messages stay behind the ones it made before it parked). It is forgotten
 * once it has delivered everything and its activation let it go (`releaseJobOutbox`).
 */
export function jobOutbox(jobId: string, chat: ChatPort, logger: Logger): Outbox {
  const busy = jobOutboxes.get(jobId);
  if (busy?.busy) {
    released.delete(busy);
    return busy;
  }
  const outbox: Outbox = new Outbox(chat, logger, {
    onIdle: () => {
      if (released.has(outbox)) forget(jobId, outbox);
    },
  });
  jobOutboxes.set(jobId, outbox);
  return outbox;
}

const released = new WeakSet<Outbox>();

function forget(jobId: string, outbox: Outbox): void {
  if (jobOutboxes.get(jobId) === outbox) jobOutboxes.delete(jobId);
}

/** The activation that used the outbox ended: forget it now if idle, else once it is. */
export function releaseJobOutbox(jobId: string, outbox: Outbox): void {
  released.add(outbox);
  if (!outbox.busy) forget(jobId, outbox);
}
