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
 * - A step's line (`linger`) waits up to LINGER_MS for its step's end: a short step's ⏳ and ✅
 *   are one post. A later post in its thread ends the wait (nothing overtakes it).
 * - While the chat says it is rate limited (`chat.rateLimited()`: Slack answered 429 lately),
 *   a text-only post joins the outbox's last message in that thread when that one is text-only
 *   too, and a text post about to go out takes the text posts waiting behind it: one message
 *   holding several steps' lines (at most MAX_LINES, MAX_CHARS), each still updated in place.
 *   That open message is updated at most every SPACING_MS while it grows; its last state goes
 *   out once the thread moves on or the parent's state changes. A message with buttons or
 *   blocks (`solo`, a gate) closes it. Without rate limiting every post stays its own message.
 * - Failures are logged, never thrown into the job: a message that could not be posted drops
 *   its later updates. `flush()` resolves once everything queued so far was delivered (or
 *   given up); `outboxesDelivered()` waits for every outbox of the process (shutdown).
 * - One outbox per job and process: job-outbox.ts.
 */
import type { Logger } from 'pino';
import type { ChatMessage, ChatPort, MessageRef } from '../chat/port.ts';
import { delivery, draining, fits, LINGER_MS, newMessage, OutboxLine, render, SPACING_MS, textOnly, UNKNOWN, type OutMessage, type ThreadTs } from './outbox-message.ts';

export { outboxesDelivered, OutboxLine, type ThreadTs } from './outbox-message.ts';

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
  private updateTimer: NodeJS.Timeout | undefined;
  /** Threads given as promises, once settled: the ts, or null when their parent never came. */
  private readonly threads = new Map<Promise<string | undefined>, string | null | typeof UNKNOWN>();

  constructor(
    private readonly chat: ChatPort,
    private readonly logger: Logger,
    private readonly options: { onIdle?: () => void } = {},
  ) {}

  /**
   * Queues a post (a thread reply when threadTs is given); `solo` keeps it its own message
   * (buttons); `linger` (a step's ⏳ line) holds it back until it changes, another post follows
   * it, or LINGER_MS pass.
   */
  post(channel: string, message: ChatMessage, threadTs?: ThreadTs, options: { solo?: boolean; linger?: boolean } = {}): OutboxLine {
    const solo = options.solo === true || !textOnly(message);
    // Whatever waits before this post in its thread goes now: nothing may overtake it.
    for (const m of this.posts) if (m.channel === channel && m.thread === threadTs) this.endLinger(m);
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
    if (options.linger && !solo) this.startLinger(msg);
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
    if (options.afterPosts) {
      msg.after = Math.max(msg.after, this.postsQueued);
      // Whatever changed before it goes out first, without waiting for its spacing.
      for (const m of this.dirty) m.hurry = true;
    }
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
    return fits(open, [message]) && this.chat.rateLimited?.() === true;
  }

  /**
   * Rate limited, at the moment a text post goes out: the posts of its thread waiting right
   * behind it (queued before the 429 came) join it — one message instead of several.
   */
  private absorbFollowing(msg: OutMessage): void {
    for (let i = 0; i < this.posts.length; ) {
      const next = this.posts[i] as OutMessage;
      if (next.channel !== msg.channel || next.thread !== msg.thread) {
        i++;
        continue;
      }
      // Only text lines join; a message of its own (a gate, a report) ends the run.
      if (next.solo || !fits(msg, next.lines)) return;
      this.posts.splice(i, 1);
      this.endLinger(next);
      next.mergedInto = { message: msg, offset: msg.lines.length };
      msg.lines.push(...next.lines);
      msg.version += 1;
      void msg.posted.then(next.resolvePosted);
      const last = this.last.indexOf(next);
      if (last >= 0) this.last.splice(last, 1, msg);
    }
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
    if (msg.state === 'waiting') this.endLinger(msg);
    if (msg.state === 'waiting' || msg.state === 'lost') return;
    this.dirty.add(msg);
    this.kickUpdates();
  }

  private kickPosts(): void {
    if (this.postLane || !this.posts.some((m) => this.threadOf(m) !== UNKNOWN && !m.linger)) return;
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
    if (this.updateLane) return;
    if (!this.nextUpdate()) {
      this.updateLater();
      return;
    }
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
  private nextUpdate(now = Date.now()): OutMessage | undefined {
    for (const msg of this.dirty) {
      if (msg.state === 'posted' && !this.postsUpTo(msg.after) && this.dueAt(msg) <= now) return msg;
    }
    return undefined;
  }

  /**
   * When a message's update may go: at once, except — while Slack rate-limits — the thread's
   * open step message, which is updated at most every SPACING_MS while its steps go on (its
   * final state still goes out: when the thread moves on, the parent's state follows, or the time is up).
   */
  private dueAt(msg: OutMessage): number {
    if (msg.hurry || msg.solo || !this.last.includes(msg) || this.chat.rateLimited?.() !== true) return 0;
    return msg.shownAt + SPACING_MS;
  }

  /** Comes back for an update held back by its spacing. */
  private updateLater(): void {
    if (this.updateTimer || this.updateLane) return;
    let due = Number.POSITIVE_INFINITY;
    for (const msg of this.dirty) if (msg.state === 'posted' && !this.postsUpTo(msg.after)) due = Math.min(due, this.dueAt(msg));
    if (!Number.isFinite(due)) return;
    const done = delivery();
    this.updateTimer = setTimeout(() => {
      this.updateTimer = undefined;
      done();
      this.kickUpdates();
    }, Math.max(1, due - Date.now()));
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
    const i = this.posts.findIndex((m) => this.threadOf(m) !== UNKNOWN && !m.linger);
    return i < 0 ? undefined : this.posts.splice(i, 1)[0];
  }

  private startLinger(msg: OutMessage): void {
    const done = delivery();
    const timer = setTimeout(() => this.endLinger(msg), LINGER_MS);
    msg.linger = { timer, done };
  }

  private endLinger(msg: OutMessage): void {
    const { linger } = msg;
    if (!linger) return;
    msg.linger = undefined;
    clearTimeout(linger.timer);
    linger.done();
    this.kickPosts();
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
        if (!msg.solo && this.chat.rateLimited?.() === true) this.absorbFollowing(msg);
        const version = msg.version;
        const content = render(msg);
        msg.ref = await this.chat.post(msg.channel, content, threadTs);
        msg.shownAt = Date.now();
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
      msg.hurry = false;
      try {
        await this.chat.update(ref, content);
        msg.shownAt = Date.now();
        this.shown.set(ref.ts, shown);
        msg.sent = Math.max(msg.sent, version);
      } catch (err) {
        this.logger.warn({ err: String(err), channel: msg.channel }, 'could not update a progress message');
      }
      if (msg.version > version && msg.state === 'posted') this.dirty.add(msg);
    }
  }
}
