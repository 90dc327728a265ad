/**
 * The job's thread, for the run context (context.ts): posts and updates go through the job's
 * outbox (outbox.ts), in order and without holding up the steps; only a gate waits for its post
 * (its buttons need the message's ts). The parent message may still be on its way when the
 * first steps run (the bot posts it off the ack path): their lines wait in the outbox for it.
 * An activation that lost the job's lock posts nothing.
 */
import type { ChatMessage, MessageRef } from '../chat/port.ts';
import { errorText } from './control-flow.ts';
import { LockLostError } from './job-lock.ts';
import { parentMessage } from './messages.ts';
import { jobOutbox, releaseJobOutbox } from './job-outbox.ts';
import type { Outbox, OutboxLine, ThreadTs } from './outbox.ts';
import { findOrPostParent } from './parent-ref.ts';
import type { RunCore } from './run-core.ts';

export class RunThread {
  readonly outbox: Outbox;
  private parentLine: OutboxLine | undefined;
  private threadTs: ThreadTs;

  constructor(private readonly core: RunCore) {
    this.outbox = jobOutbox(core.jobId, core.deps.chat, core.deps.logger);
  }

  /**
   * The parent message: from the job's data, else found (the bot posted it) or posted now —
   * without waiting for it. It is in the job's data once known (saved with the next checkpoint).
   */
  openParent(): void {
    const { core } = this;
    const known = core.data.parent;
    if (known) {
      this.parentLine = this.outbox.adopt(known);
      this.threadTs = known.ts;
      return;
    }
    const found = findOrPostParent(core.deps, this.outbox, core.jobId, core.data).then(
      (ref) => {
        if (ref) core.data.parent ??= ref;
        return core.data.parent;
      },
      (err: unknown) => {
        core.deps.logger.error({ jobId: core.jobId, err: errorText(err) }, 'could not find or post the parent message');
        return undefined;
      },
    );
    this.parentLine = this.outbox.adopt(found);
    this.threadTs = found.then((ref) => ref?.ts);
  }

  /** The channel of the job's thread (the request's, where the parent is posted). */
  get channel(): string {
    return this.core.data.parent?.channel ?? this.core.data.request.channel;
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

  /**
   * A step's line: its own message, or (while Slack rate-limits) a line of the thread's last one.
   * Its post waits a moment for the step's end, so a short step shows up once, already ✅.
   */
  stepLine(message: ChatMessage): OutboxLine {
    return this.outbox.post(this.channel, message, this.requireThread(), { linger: true });
  }

  private sayLine(message: ChatMessage | string): OutboxLine {
    const msg = typeof message === 'string' ? { text: message } : message;
    return this.outbox.post(this.channel, msg, this.requireThread(), { solo: true });
  }

  /** Uploads a local file into the job's thread (Slack files.uploadV2; the console prints the path). */
  async upload(path: string, title: string): Promise<void> {
    await this.outbox.flush(); // after the messages before it
    const parent = this.core.data.parent;
    if (!parent) throw new Error(`could not post to job ${this.core.jobId}'s thread`);
    await this.core.deps.chat.uploadFile(parent.channel, parent.ts, path, title);
  }

  /** Queues the parent message's update (the newest state wins; it is shown after the thread's earlier messages). */
  async updateParent(): Promise<void> {
    if (this.core.lock.isLost) throw new LockLostError(`job ${this.core.jobId}: lock lost; not updating the parent message`);
    if (!this.parentLine) return;
    this.outbox.update(this.parentLine, parentMessage(this.core.jobId, this.core.data), { afterPosts: true });
  }

  /** The activation ends: the outbox goes on delivering, then is forgotten. */
  release(): void {
    releaseJobOutbox(this.core.jobId, this.outbox);
  }

  private requireThread(): ThreadTs {
    if (this.threadTs === undefined) throw new Error('job has no parent message');
    return this.threadTs;
  }
}
