/**
 * A job's outbox: its thread's posts and its messages' updates, delivered in order, one call
 * at a time, off the job's critical path (a step never waits for Slack).
 *
 * - Order: posts reach the thread in the order they were made; an update is sent after the
 *   post it changes. Content is read when the call is made, so queued updates of a message
 *   coalesce into one call, and a post still waiting to be sent goes out with its latest
 *   content (a short step's ⏳ and ✅ become one post).
 * - When the chat says it is rate limited (`chat.rateLimited()`), further text-only posts
 *   join the post still waiting to be sent: one message holding several steps' lines, each
 *   line still updated in place. Without rate limiting every post stays its own message.
 * - Failures are logged, never thrown into the job: a message that could not be posted
 *   drops its later updates. Retry-After is honoured by the chat port, per call.
 * - `flush()` resolves once everything queued so far was delivered (or given up).
 */
import type { Logger } from 'pino';
import type { ChatMessage, ChatPort, MessageRef } from '../chat/port.ts';

/** A message of the outbox: its lines (one per post merged into it) and where it is. */
interface OutMessage {
  channel: string;
  threadTs?: string;
  lines: ChatMessage[];
  ref?: MessageRef;
  /** The post failed: later updates have nothing to change. */
  lost?: boolean;
  /** Waiting in the queue for its post (not yet sent). */
  postQueued: boolean;
  /** An update of it is waiting in the queue (not yet sent). */
  updateQueued: boolean;
  /** Resolves with its ref once posted (or undefined if the post failed). */
  posted: Promise<MessageRef | undefined>;
  resolvePosted: (ref: MessageRef | undefined) => void;
}

type Op = { kind: 'post' | 'update'; msg: OutMessage };

/** One line of an outbox message: what a caller updates. */
export class OutboxLine {
  constructor(
    readonly message: OutMessage,
    readonly index: number,
  ) {}

  /** Where the line's message is, once it was posted (undefined before that, or if it failed). */
  get ref(): MessageRef | undefined {
    return this.message.ref;
  }

  /** The message's ref once posted (undefined if the post failed). */
  posted(): Promise<MessageRef | undefined> {
    return this.message.posted;
  }
}

function render(msg: OutMessage): ChatMessage {
  if (msg.lines.length === 1) return msg.lines[0] as ChatMessage;
  return { text: msg.lines.map((l) => l.text).join('\n') };
}

/** Every outbox of this process that still has something to send. */
const draining = new Set<Promise<void>>();

/** Waits (at most timeoutMs) until every outbox of the process has delivered what it holds: shutdown. */
export async function outboxesDelivered(timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => {
    timer = setTimeout(r, timeoutMs);
  });
  try {
    await Promise.race([Promise.allSettled(draining), late]);
  } finally {
    clearTimeout(timer);
  }
}

const textOnly = (m: ChatMessage) => m.body === undefined && m.context === undefined && (m.buttons?.length ?? 0) === 0;

export class Outbox {
  private readonly queue: Op[] = [];
  private running: Promise<void> | undefined;
  private readonly known = new Map<string, OutMessage>();

  constructor(
    private readonly chat: ChatPort,
    private readonly logger: Logger,
  ) {}

  /** Queues a post (a thread reply when threadTs is given); `solo` keeps it its own message (buttons). */
  post(channel: string, message: ChatMessage, threadTs?: string, options: { solo?: boolean } = {}): OutboxLine {
    const last = this.queue.at(-1);
    const merge =
      !options.solo && textOnly(message) && last?.kind === 'post' && last.msg.postQueued && last.msg.channel === channel && last.msg.threadTs === threadTs &&
      textOnly(render(last.msg)) && this.chat.rateLimited?.() === true;
    if (merge && last) {
      last.msg.lines.push(message);
      return new OutboxLine(last.msg, last.msg.lines.length - 1);
    }
    let resolvePosted: (ref: MessageRef | undefined) => void = () => undefined;
    const posted = new Promise<MessageRef | undefined>((r) => (resolvePosted = r));
    const msg: OutMessage = { channel, lines: [message], postQueued: true, updateQueued: false, posted, resolvePosted, ...(threadTs ? { threadTs } : {}) };
    this.push({ kind: 'post', msg });
    return new OutboxLine(msg, 0);
  }

  /** Changes a line (or a message posted elsewhere, by its ref); the newest content wins. */
  update(target: OutboxLine | MessageRef, message: ChatMessage): void {
    let msg: OutMessage;
    let index = 0;
    if (target instanceof OutboxLine) {
      msg = target.message;
      index = target.index;
    } else {
      msg = this.external(target);
    }
    msg.lines[index] = message;
    if (msg.postQueued || msg.updateQueued || msg.lost) return;
    msg.updateQueued = true;
    this.push({ kind: 'update', msg });
  }

  /** Resolves when everything queued before the call has been delivered (or given up). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Anything still to send? */
  get pending(): number {
    return this.queue.length;
  }

  private external(ref: MessageRef): OutMessage {
    const key = `${ref.channel}:${ref.ts}`;
    let msg = this.known.get(key);
    if (!msg) {
      msg = { channel: ref.channel, lines: [{ text: '' }], ref, postQueued: false, updateQueued: false, posted: Promise.resolve(ref), resolvePosted: () => undefined };
      this.known.set(key, msg);
    }
    return msg;
  }

  private push(op: Op): void {
    this.queue.push(op);
    this.kick();
  }

  private kick(): void {
    if (this.running) return;
    const running = this.drain().finally(() => {
      this.running = undefined;
      draining.delete(running);
      // pushed between the drain's last look at the queue and now
      if (this.queue.length > 0) this.kick();
    });
    this.running = running;
    draining.add(running);
  }

  private async drain(): Promise<void> {
    for (let op = this.queue.shift(); op; op = this.queue.shift()) {
      const { msg } = op;
      if (op.kind === 'post') {
        msg.postQueued = false;
        try {
          msg.ref = await this.chat.post(msg.channel, render(msg), msg.threadTs);
          msg.resolvePosted(msg.ref);
        } catch (err) {
          msg.lost = true;
          msg.resolvePosted(undefined);
          this.logger.warn({ err: String(err), channel: msg.channel }, 'could not post a progress message');
        }
      } else {
        msg.updateQueued = false;
        if (!msg.ref || msg.lost) continue;
        try {
          await this.chat.update(msg.ref, render(msg));
        } catch (err) {
          this.logger.warn({ err: String(err), channel: msg.channel }, 'could not update a progress message');
        }
      }
    }
  }
}
