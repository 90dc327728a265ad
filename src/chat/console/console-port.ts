import type { Writable } from 'node:stream';
import { unescapeMrkdwn } from '../../util/mrkdwn.ts';
import type { Button, ChatMessage, ChatPort, MessageRef } from '../port.ts';

/**
 * The chat port for a terminal: every message is printed as readable lines.
 *
 *   #prod  job 42 awaiting approval: upgrade k8s-1 1.23/stable on prod (alice)
 *     [job 42] Approve the plan?
 *     [job 42]     drain k8s-1, refresh to 1.23/stable, uncordon
 *     [job 42]     [Approve] type: approve 42
 *     [job 42]     [Reject]  type: reject 42
 *     [job 42] (update) Approved by bob
 *   (only you) not allowed: ...
 *
 * Buttons are printed with the console command that presses them: `approve N`
 * and `reject N` for approval buttons (value `<jobId>:<gateId>:<nonce>`), `press N` for
 * any other; the port keeps the index `press` needs.
 */

export interface PressedButton {
  actionId: string;
  value: string;
  label: string;
  /** The message that carried the button. */
  channel: string;
  messageTs: string;
}

export interface ConsoleChatPortOptions {
  output?: Writable;
  /** Replaces writing to `output` (the REPL uses it to keep its prompt intact on a terminal). */
  write?: (text: string) => void;
}

const JOB_IN_TEXT = /\bjob (\d{1,12})\b/i;
const APPROVAL_VALUE = /^(\d{1,12})(?::|$)/;

/** Slack mrkdwn → plain lines: drop code fences, keep the rest as typed. */
function bodyLines(body: string): string[] {
  return body.split('\n').filter((line) => !/^\s*```\s*$/.test(line)).map((line) => line.replace(/^```|```$/g, ''));
}

export class ConsoleChatPort implements ChatPort {
  private readonly write: (text: string) => void;
  private seq = 0;
  /** thread ts → its label (`job 42`), derived from the parent's text. */
  private readonly threads = new Map<string, string>();
  /** message ts → thread ts (for updates of replies). */
  private readonly replies = new Map<string, string>();
  private readonly buttons: PressedButton[] = [];
  private acting: string | undefined;

  constructor(opts: ConsoleChatPortOptions = {}) {
    const output = opts.output ?? process.stdout;
    this.write = opts.write ?? ((text) => void output.write(text));
  }

  /** The user at the keyboard: ephemeral messages for them say `(only you)`. */
  setActingUser(user: string): void {
    this.acting = user;
  }

  /**
   * The newest button shown with this action for `ref` (a job id, or `<job>:<gate>`): what
   * `approve 42` presses. The bot honours a click only with the button's own value and message.
   */
  newestButton(actionId: string, ref: string): PressedButton | undefined {
    return this.buttons.findLast((b) => b.actionId === actionId && (b.value === ref || b.value.startsWith(`${ref}:`)));
  }

  /** The button printed as `press n` (1-based), if any. */
  button(n: number): PressedButton | undefined {
    return this.buttons[n - 1];
  }

  /** Prints a line as is (the REPL's own notes). */
  print(line: string): void {
    this.write(`${line}\n`);
  }

  private nextTs(): string {
    this.seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.seq).padStart(6, '0')}`;
  }

  private threadLabel(threadTs: string): string {
    return this.threads.get(threadTs) ?? `thread ${threadTs}`;
  }

  private render(message: ChatMessage, channel: string, ts: string, firstPrefix: string, prefix: string): string {
    // Messages are Slack mrkdwn with untrusted parts escaped; print what Slack would show.
    const lines = [`${firstPrefix}${unescapeMrkdwn(message.text)}`];
    const indent = `${prefix}    `;
    if (message.body) for (const line of bodyLines(unescapeMrkdwn(message.body))) lines.push(`${indent}${line}`);
    if (message.context) lines.push(`${indent}— ${unescapeMrkdwn(message.context)}`);
    for (const button of message.buttons ?? []) lines.push(`${indent}${this.renderButton(button, channel, ts)}`);
    return `${lines.join('\n')}\n`;
  }

  private renderButton(button: Button, channel: string, messageTs: string): string {
    this.buttons.push({ actionId: button.actionId, value: button.value, label: button.label, channel, messageTs });
    const n = this.buttons.length;
    const job = APPROVAL_VALUE.exec(button.value)?.[1];
    let command = `press ${n}`;
    if (job !== undefined && (button.actionId === 'mk8s.approve' || button.label === 'Approve')) command = `approve ${job}`;
    if (job !== undefined && (button.actionId === 'mk8s.reject' || button.label === 'Reject')) command = `reject ${job}`;
    const confirm = button.confirm ? ` (${button.confirm.title}: ${button.confirm.text})` : '';
    return `[${button.label}] type: ${command}${confirm}`;
  }

  post(channel: string, message: ChatMessage, threadTs?: string): Promise<MessageRef> {
    const ts = this.nextTs();
    if (threadTs === undefined) {
      const job = JOB_IN_TEXT.exec(message.text)?.[1];
      this.threads.set(ts, job !== undefined ? `job ${job}` : `thread ${ts}`);
      this.write(this.render(message, channel, ts, `#${channel}  `, ''));
    } else {
      this.replies.set(ts, threadTs);
      const prefix = `  [${this.threadLabel(threadTs)}] `;
      this.write(this.render(message, channel, ts, prefix, prefix));
    }
    return Promise.resolve({ channel, ts });
  }

  update(ref: MessageRef, message: ChatMessage): Promise<void> {
    const threadTs = this.replies.get(ref.ts);
    if (threadTs === undefined) {
      // A parent: its label may change only if it had none (`job N` appears once queued).
      const job = JOB_IN_TEXT.exec(message.text)?.[1];
      if (job !== undefined && this.threads.get(ref.ts)?.startsWith('thread ')) this.threads.set(ref.ts, `job ${job}`);
      this.write(this.render(message, ref.channel, ref.ts, `#${ref.channel}  (update) `, ''));
    } else {
      const prefix = `  [${this.threadLabel(threadTs)}] `;
      this.write(this.render(message, ref.channel, ref.ts, `${prefix}(update) `, prefix));
    }
    return Promise.resolve();
  }

  ephemeral(channel: string, user: string, message: ChatMessage): Promise<void> {
    const who = this.acting === undefined || this.acting === user ? 'only you' : `only ${user}`;
    this.write(this.render(message, channel, this.nextTs(), `(${who}) `, ''));
    return Promise.resolve();
  }

  uploadFile(_channel: string, threadTs: string, path: string, title: string): Promise<void> {
    this.write(`  [${this.threadLabel(threadTs)}] file: ${title} → ${path}\n`);
    return Promise.resolve();
  }

  usergroupMembers(_groupId: string): Promise<string[]> {
    return Promise.resolve([]);
  }
}
