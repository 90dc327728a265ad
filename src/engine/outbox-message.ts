/**
 * The messages of an outbox (outbox.ts): what one holds (its lines, where it is, what Slack
 * shows of it), the line a caller updates, how merged lines are rendered and how many fit, and
 * the process-wide set of deliveries still running (shutdown waits for them).
 */
import type { ChatMessage, MessageRef } from '../chat/port.ts';

/** How long a step's ⏳ line may wait for its step's end before it is posted anyway. */
export const LINGER_MS = 250;
/** While Slack rate-limits, how often the thread's open step message is updated at most. */
export const SPACING_MS = 2_000;
/** Lines one merged message holds at most, and its text (a Slack section holds 3000 characters). */
export const MAX_LINES = 12;
export const MAX_CHARS = 2800;

/** A thread whose parent is still on its way. */
export const UNKNOWN = Symbol('thread not known yet');

/** The message a post replies under: its ts now, later (a promise), or none (a channel post). */
export type ThreadTs = string | Promise<string | undefined> | undefined;

/** A message of the outbox: its lines (one per post merged into it) and where it is. */
export interface OutMessage {
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
  /** A step line's post waits (at most LINGER_MS) for its step's end, so a short step's ⏳ and ✅ are one post. */
  linger?: { timer: NodeJS.Timeout; done: () => void };
  /** A waiting post merged into the one before it (its lines from `offset` on). */
  mergedInto?: { message: OutMessage; offset: number };
  /** When Slack last took its content (post or update). */
  shownAt: number;
  /** Its update is due now, however recent the last one (the parent's state follows). */
  hurry: boolean;
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
    private msg: OutMessage,
    private idx: number,
  ) {}

  /** The message holding the line now (a waiting post may have been merged into the one before it). */
  get message(): OutMessage {
    return this.follow().msg;
  }

  /** The line's place in its message (0: the message's first line). */
  get index(): number {
    return this.follow().idx;
  }

  /** Where the line's message is, once it was posted (undefined before that, or if it failed). */
  get ref(): MessageRef | undefined {
    return this.message.ref;
  }

  /** The message's ref once posted (undefined if the post failed). */
  posted(): Promise<MessageRef | undefined> {
    return this.msg.posted;
  }

  private follow(): this {
    for (let into = this.msg.mergedInto; into; into = this.msg.mergedInto) {
      this.idx += into.offset;
      this.msg = into.message;
    }
    return this;
  }
}

export function render(msg: OutMessage): ChatMessage {
  if (msg.lines.length === 1) return msg.lines[0] as ChatMessage;
  return { text: msg.lines.map((l) => l.text).join('\n') };
}

/** Every outbox lane of this process that still has something to send. */
export const draining = new Set<Promise<void>>();

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

export const textOnly = (m: ChatMessage) => m.body === undefined && m.context === undefined && (m.buttons?.length ?? 0) === 0;

export function newMessage(channel: string, thread: ThreadTs, message: ChatMessage, solo: boolean, state: OutMessage['state']): OutMessage {
  let resolvePosted: (ref: MessageRef | undefined) => void = () => undefined;
  const posted = new Promise<MessageRef | undefined>((r) => (resolvePosted = r));
  return { channel, thread, lines: [message], solo, state, version: 1, sent: 0, shownAt: 0, hurry: false, seq: 0, after: 0, posted, resolvePosted };
}

/** Lines that may still go into a text message (not solo, not lost, within the limits). */
export function fits(open: OutMessage, lines: readonly ChatMessage[]): boolean {
  if (open.solo || open.state === 'lost' || open.lines.length + lines.length > MAX_LINES) return false;
  const chars = [...open.lines, ...lines].reduce((n, l) => n + l.text.length + 1, 0);
  return chars <= MAX_CHARS;
}

/** A wait (a line's linger, a held-back update) that shutdown counts as still to deliver; `done` ends it. */
export function delivery(): () => void {
  let done: () => void = () => undefined;
  const over = new Promise<void>((r) => (done = r));
  draining.add(over);
  void over.then(() => draining.delete(over));
  return done;
}
