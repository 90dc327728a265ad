/**
 * The job's thread, for the run context (context.ts): posts and updates go through the job's
 * outbox (outbox.ts), in order and without holding up the steps; only a gate waits for its post
 * (its buttons need the message's ts). An activation that lost the job's lock posts nothing.
 */
import type { ChatMessage, MessageRef } from '../chat/port.ts';
import { LockLostError } from './job-lock.ts';
import { parentMessage } from './messages.ts';
import { Outbox, type OutboxLine } from './outbox.ts';
import type { RunCore } from './run-core.ts';

export class RunThread {
  readonly outbox: Outbox;

  constructor(private readonly core: RunCore) {
    this.outbox = new Outbox(core.deps.chat, core.deps.logger);
  }

  /** Posts in the job's thread, after everything posted before it; the job does not wait for Slack. */
  async say(message: ChatMessage | string): Promise<void> {
    if (this.core.lock.isLost) throw new LockLostError(`job ${this.core.jobId}: lock lost; not posting`);
    this.sayLine(message);
  }

  /** Posts in the thread and waits until the message is there (its ts is needed: a gate's buttons). */
  async sayAndWait(message: ChatMessage): Promise<MessageRef> {
    if (this.core.lock.isLost) throw new LockLostError(`job ${this.core.jobId}: lock lost; not posting`);
    const ref = await this.sayLine(message).posted();
    if (!ref) throw new Error(`could not post to job ${this.core.jobId}'s thread`);
    return ref;
  }

  private sayLine(message: ChatMessage | string): OutboxLine {
    const msg = typeof message === 'string' ? { text: message } : message;
    const parent = this.requireParent();
    return this.outbox.post(parent.channel, msg, parent.ts, { solo: true });
  }

  /** Uploads a local file into the job's thread (Slack files.uploadV2; the console prints the path). */
  async upload(path: string, title: string): Promise<void> {
    const parent = this.requireParent();
    await this.outbox.flush(); // after the messages before it
    await this.core.deps.chat.uploadFile(parent.channel, parent.ts, path, title);
  }

  /** Queues the parent message's update (the newest state wins; it is shown after the thread's earlier messages). */
  async updateParent(): Promise<void> {
    if (this.core.lock.isLost) throw new LockLostError(`job ${this.core.jobId}: lock lost; not updating the parent message`);
    if (!this.core.data.parent) return;
    this.outbox.update(this.core.data.parent, parentMessage(this.core.jobId, this.core.data));
  }

  requireParent(): MessageRef {
    if (!this.core.data.parent) throw new Error('job has no parent message');
    return this.core.data.parent;
  }
}
