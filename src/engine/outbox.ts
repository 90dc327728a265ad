/**
 * A job's outbox: its thread's posts and its messages' updates, delivered off the job's
 * critical path (a step never waits for Slack), in two lanes that each make one call at a time.
 *
 * - Posts go out in the order they were made, after the message they reply under is known
 *   (the parent may still be on its way: `thread` can be a promise). A post still waiting to
 *   be sent goes out with its latest content (a short step's ⏳ and ✅ become one post).
 * - Updates are sent once their message is posted, newest content only: queued updates of a
 *   message coalesce into one call, and a message posted with content that changed meanwhile
 *   gets one update. A 429 on one lane (Retry-After, waited out by the chat port per call)
 *   does not hold up the other. An update made with `afterPosts` (the parent's state) is sent
 *   only after every post queued before it, so "succeeded" shows once the thread does.
 * - While the chat says it is rate limited (`chat.rateLimited()`: Slack answered 429 lately),
 *   a text-only post joins the outbox's last message in that thread when that one is text-only
 *   too: one message holding several steps' lines (at most MAX_LINES, MAX_CHARS), each line
 *   still updated in place. A message with buttons or blocks (`solo`, a gate) closes it.
 *   Without rate limiting every post stays its own message.
 * - Failures are logged, never thrown into the job: a message that could not be posted drops
 *   its later updates. `flush()` resolves once everything queued so far was delivered (or
 *   given up); `outboxesDelivered()` waits for every outbox of the process (shutdown).
 * - One outbox per job and process (`jobOutbox`): a job woken at a gate goes on in the outbox
 *   its last activation left, so its messages keep their order.
 */
import type { Logger } from 'pino';
import type { ChatMessage, ChatPort, MessageRef } from '../chat/port.ts';

/** Lines one merged message holds at most, and its text (a Slack section holds 3000 characters). */
const MAX_LINES = 12;
const MAX_CHARS = 2800;

/** A thread whose parent is still on its way. */
const UNKNOWN = Symbol('thread not known yet');

/** The message a post replies under: its ts now, later (a promise), or none (a channel post). */
export type ThreadTs = string | Promise<string | undefined> | undefined;

/** A message of the outbox: its lines (one per post merged into it) and where it is. */
interface OutMessage {
  channel: string;
  thread: ThreadTs;
  lines: ChatMessage[];
  /** Keeps its own message: nothing merges into it (buttons, blocks, a message posted elsewhere). */
  solo: boolean;
  ref?: MessageRef;
  /** waiting: the post is queued; sending: in flight (or its ref not known yet); posted; lost: the post failed. */
  state: 'waiting' | 'sending' | 'posted' | 'lost';
  /** Bumped on every change; `sent` is the version the last call carried. */
  version: number;
  sent: number;
  /** Its place among the outbox's posts (1, 2, …; 0 for a message posted elsewhere). */
  seq: number;
  /** Its update waits until the posts up to this place were done (the parent's state after the thread). */
  after: number;
  posted: Promise<MessageRef | undefined>;
  resolvePosted: (ref: MessageRef | undefined) => void;
}

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

/** Every outbox lane of this process that still has something to send. */
const draining = new Set<Promise<void>>();

/** Waits (at most timeoutMs) until every outbox of the process has delivered what it holds: shutdown. */
export async function outboxesDelivered(timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => {
    timer = setTimeout(r, timeoutMs);
  });
  try {
    while (draining.size > 0) {
      const done = await Promise.race([Promise.allSettled(draining).then(() => true), late.then(() => false)]);
      if (!done) return;
    }
  } finally {
    clearTimeout(timer);
  }
}

const textOnly = (m: ChatMessage) => m.body === undefined && m.context === undefined && (m.buttons?.length ?? 0) === 0;

function newMessage(channel: string, thread: ThreadTs, message: ChatMessage, solo: boolean, state: OutMessage['state']): OutMessage {
  let resolvePosted: (ref: MessageRef | undefined) => void = () => undefined;
  const posted = new Promise<MessageRef | undefined>((r) => (resolvePosted = r));
  return { channel, thread, lines: [message], solo, state, version: 1, sent: 0, seq: 0, after: 0, posted, resolvePosted };
}

export class Outbox {
  private readonly posts: OutMessage[] = [];
  /** Posted messages with content newer than Slack has, in the order they changed. */
  private readonly dirty = new Set<OutMessage>();
  private postsQueued = 0;
  /** The post in flight. */
  private sending: OutMessage | undefined;
  private postLane: Promise<void> | undefined;
  private updateLane: Promise<void> | undefined;
  /** The outbox's last message per thread (channel + thread), where a merged line may go. */
  private readonly last: OutMessage[] = [];
  private readonly known = new Map<string, OutMessage>();
  /** What Slack shows of each message this outbox posted or updated, by ts (an update that changes nothing is not sent). */
  private readonly shown = new Map<string, string>();
  private readonly idle = new Set<() => void>();
  /** Threads given as promises, once settled: the ts, or null when their parent never came. */
  private readonly threads = new Map<Promise<string | undefined>, string | null | typeof UNKNOWN>();

  constructor(
    private readonly chat: ChatPort,
    private readonly logger: Logger,
    private readonly options: { onIdle?: () => void } = {},
  ) {}

  /** Queues a post (a thread reply when threadTs is given); `solo` keeps it its own message (buttons). */
  post(channel: string, message: ChatMessage, threadTs?: ThreadTs, options: { solo?: boolean } = {}): OutboxLine {
    const solo = options.solo === true || !textOnly(message);
    const open = this.last.find((m) => m.channel === channel && m.thread === threadTs);
    if (!solo && open && this.mayJoin(open, message)) {
      open.lines.push(message);
      this.changed(open);
      return new OutboxLine(open, open.lines.length - 1);
    }
    const msg = newMessage(channel, threadTs, message, solo, 'waiting');
    if (open) this.last.splice(this.last.indexOf(open), 1);
    this.last.push(msg);
    this.postsQueued += 1;
    msg.seq = this.postsQueued;
    this.posts.push(msg);
    this.kickPosts();
    return new OutboxLine(msg, 0);
  }

  /**
   * A message posted elsewhere (the job's parent, posted by the bot), known now or once its
   * ref arrives; its updates wait for the ref, and are dropped if it never comes.
   */
  adopt(ref: MessageRef | Promise<MessageRef | undefined>): OutboxLine {
    if (!(ref instanceof Promise)) return new OutboxLine(this.external(ref), 0);
    const msg = newMessage('', undefined, { text: '' }, true, 'sending');
    msg.version = 0;
    void ref.then(
      (r) => this.settleExternal(msg, r),
      () => this.settleExternal(msg, undefined),
    );
    return new OutboxLine(msg, 0);
  }

  /** Changes a line (or a message posted elsewhere, by its ref); the newest content wins. */
  update(target: OutboxLine | MessageRef, message: ChatMessage, options: { afterPosts?: boolean } = {}): void {
    const line = target instanceof OutboxLine ? target : new OutboxLine(this.external(target), 0);
    const msg = line.message;
    msg.lines[line.index] = message;
    if (options.afterPosts) msg.after = Math.max(msg.after, this.postsQueued);
    this.changed(msg);
  }

  /** Resolves when everything queued before the call has been delivered (or given up). */
  async flush(): Promise<void> {
    while (this.busy) await new Promise<void>((resolve) => this.idle.add(resolve));
  }

  /** Calls still to make (posts waiting, messages with an update due). */
  get pending(): number {
    return this.posts.length + this.dirty.size;
  }

  /** Something is queued or in flight. */
  get busy(): boolean {
    return this.pending > 0 || this.postLane !== undefined || this.updateLane !== undefined;
  }

  private mayJoin(open: OutMessage, message: ChatMessage): boolean {
    if (open.solo || open.state === 'lost' || open.lines.length >= MAX_LINES) return false;
    if (open.lines.reduce((n, l) => n + l.text.length + 1, message.text.length) > MAX_CHARS) return false;
    return this.chat.rateLimited?.() === true;
  }

  private external(ref: MessageRef): OutMessage {
    const key = `${ref.channel}:${ref.ts}`;
    let msg = this.known.get(key);
    if (!msg) {
      msg = newMessage(ref.channel, undefined, { text: '' }, true, 'posted');
      msg.ref = ref;
      msg.resolvePosted(ref);
      msg.version = 0;
      this.known.set(key, msg);
    }
    return msg;
  }

  private settleExternal(msg: OutMessage, ref: MessageRef | undefined): void {
    msg.resolvePosted(ref);
    if (!ref) {
      msg.state = 'lost';
      this.dirty.delete(msg);
      this.wake();
      return;
    }
    msg.ref = ref;
    msg.channel = ref.channel;
    msg.state = 'posted';
    this.kickUpdates();
  }

  /** A message's content changed: its waiting post will carry it, else it needs an update. */
  private changed(msg: OutMessage): void {
    msg.version += 1;
    if (msg.state === 'waiting' || msg.state === 'lost') return;
    this.dirty.add(msg);
    this.kickUpdates();
  }

  private kickPosts(): void {
    if (this.postLane || !this.posts.some((m) => this.threadOf(m) !== UNKNOWN)) return;
    const lane = this.drainPosts().finally(() => {
      this.postLane = undefined;
      draining.delete(lane);
      this.kickPosts();
      this.kickUpdates();
      this.wake();
    });
    this.postLane = lane;
    draining.add(lane);
  }

  private kickUpdates(): void {
    if (this.updateLane || !this.nextUpdate()) return;
    const lane = this.drainUpdates().finally(() => {
      this.updateLane = undefined;
      draining.delete(lane);
      this.kickUpdates();
      this.wake();
    });
    this.updateLane = lane;
    draining.add(lane);
  }

  /** Resolves flush() waiters once nothing is in flight and nothing can go out any more. */
  private wake(): void {
    if (this.busy) return;
    const waiting = [...this.idle];
    this.idle.clear();
    for (const resolve of waiting) resolve();
    this.options.onIdle?.();
  }

  /** The first changed message whose update may go now: posted, and the posts before it done. */
  private nextUpdate(): OutMessage | undefined {
    for (const msg of this.dirty) {
      if (msg.state === 'posted' && !this.postsUpTo(msg.after)) return msg;
    }
    return undefined;
  }

  /** Where the message replies, once known: a ts, null (the message it replies under was lost), or undefined (a channel post). */
  private threadOf(msg: OutMessage): string | null | undefined | typeof UNKNOWN {
    if (!(msg.thread instanceof Promise)) return msg.thread;
    const settled = this.threads.get(msg.thread);
    if (settled !== undefined) return settled;
    this.threads.set(msg.thread, UNKNOWN);
    const thread = msg.thread;
    void thread.then(
      (ts) => this.threadKnown(thread, ts ?? null),
      () => this.threadKnown(thread, null),
    );
    return UNKNOWN;
  }

  private threadKnown(thread: Promise<string | undefined>, ts: string | null): void {
    this.threads.set(thread, ts);
    this.kickPosts();
    this.wake();
  }

  /**
   * The next post that may go: the first one queued whose thread is known. Posts of one thread
   * share its promise, so none overtakes another of its thread; a post elsewhere (the parent
   * itself) goes ahead of replies still waiting for their parent.
   */
  private nextPost(): OutMessage | undefined {
    const i = this.posts.findIndex((m) => this.threadOf(m) !== UNKNOWN);
    return i < 0 ? undefined : this.posts.splice(i, 1)[0];
  }

  /** A post queued at or before this place is not done yet. */
  private postsUpTo(seq: number): boolean {
    if (seq === 0) return false;
    return (this.sending !== undefined && this.sending.seq <= seq) || this.posts.some((m) => m.seq <= seq);
  }

  private async drainPosts(): Promise<void> {
    for (let msg = this.nextPost(); msg; msg = this.nextPost()) {
      msg.state = 'sending';
      this.sending = msg;
      try {
        const threadTs = this.threadOf(msg);
        if (threadTs === null || threadTs === UNKNOWN) throw new Error('the message it replies under was never posted');
        const version = msg.version;
        const content = render(msg);
        msg.ref = await this.chat.post(msg.channel, content, threadTs);
        this.shown.set(msg.ref.ts, JSON.stringify(content));
        msg.sent = version;
        msg.state = 'posted';
        // Changed while the post was on its way: one update with the newest content.
        if (msg.version > msg.sent) this.dirty.add(msg);
        else this.dirty.delete(msg);
        msg.resolvePosted(msg.ref);
      } catch (err) {
        msg.state = 'lost';
        this.dirty.delete(msg);
        msg.resolvePosted(undefined);
        this.logger.warn({ err: String(err), channel: msg.channel }, 'could not post a progress message');
      }
      this.sending = undefined;
      this.kickUpdates();
    }
  }

  private async drainUpdates(): Promise<void> {
    for (let msg = this.nextUpdate(); msg; msg = this.nextUpdate()) {
      this.dirty.delete(msg);
      const version = msg.version;
      const ref = msg.ref as MessageRef;
      const content = render(msg);
      const shown = JSON.stringify(content);
      // Slack already shows it (a post that went out with this content, an update made twice).
      if (this.shown.get(ref.ts) === shown) continue;
      try {
        await this.chat.update(ref, content);
        this.shown.set(ref.ts, shown);
        msg.sent = Math.max(msg.sent, version);
      } catch (err) {
        this.logger.warn({ err: String(err), channel: msg.channel }, 'could not update a progress message');
      }
      if (msg.version > version && msg.state === 'posted') this.dirty.add(msg);
    }
  }
}

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
