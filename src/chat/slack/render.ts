/**
 * ChatMessage → Block Kit, within Slack's limits.
 *
 * Layout of a rendered message:
 *   section (the `text` line) · section × n (the `body`, split ≤ 3000 chars) ·
 *   [context "… (truncated)"] · context (`context`) · actions (`buttons`)
 * The plain `text` is also the notification fallback. Every render uses fresh
 * block_ids, so chat.update always replaces the blocks Slack has.
 */
import { randomBytes } from 'node:crypto';
import { safeMrkdwn } from '../../util/mrkdwn.ts';
import type { Button, ChatMessage, ConfirmDialog } from '../port.ts';

/** Slack's limits that this renderer enforces (docs: Block Kit reference). */
export const LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  contextText: 2000,
  fallbackText: 4000,
  actionsElements: 25,
  buttonText: 75,
  actionId: 255,
  buttonValue: 2000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
} as const;

export const TRUNCATED_NOTE = '… (truncated)';

type PlainText = { type: 'plain_text'; text: string; emoji?: boolean };
type Mrkdwn = { type: 'mrkdwn'; text: string };

export interface ConfirmObject {
  title: PlainText;
  text: PlainText;
  confirm: PlainText;
  deny: PlainText;
  style?: 'primary' | 'danger';
}

export interface ButtonElement {
  type: 'button';
  text: PlainText;
  action_id: string;
  value: string;
  style?: 'primary' | 'danger';
  confirm?: ConfirmObject;
}

export type Block =
  | { type: 'section'; block_id: string; text: Mrkdwn }
  | { type: 'context'; block_id: string; elements: Mrkdwn[] }
  | { type: 'actions'; block_id: string; elements: ButtonElement[] };

export interface RenderedMessage {
  text: string;
  blocks: Block[];
}

/** Cuts `s` to at most `max` UTF-16 units, ending with `…` when cut; never splits a surrogate pair. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = max - 1;
  const code = s.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return `${s.slice(0, cut)}…`;
}

const FENCE = '```';

function fenceCount(line: string): number {
  return line.split(FENCE).length - 1;
}

/** Splits a string into pieces of at most `max` chars without splitting a surrogate pair. */
function hardSplit(s: string, max: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length > max) {
    let cut = max;
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  out.push(rest);
  return out;
}

/** A unit is a plain line or a whole fenced code block (several lines). */
interface Unit {
  code: boolean;
  lines: string[];
}

function toUnits(body: string): Unit[] {
  const lines = body.split('\n');
  const units: Unit[] = [];
  let code: string[] | undefined;
  for (const line of lines) {
    const odd = fenceCount(line) % 2 === 1;
    if (code) {
      code.push(line);
      if (odd) {
        units.push({ code: true, lines: code });
        code = undefined;
      }
    } else if (odd) {
      code = [line];
    } else {
      units.push({ code: false, lines: [line] });
    }
  }
  if (code) units.push({ code: true, lines: code }); // unclosed fence: keep it whole anyway
  return units;
}

/**
 * Splits a code block that is longer than `max` into pieces that each still
 * render as code: every piece but the last is closed with ``` and every piece
 * but the first reopens it.
 */
function splitCode(lines: string[], max: number): string[] {
  const close = `\n${FENCE}`;
  const open = `${FENCE}\n`;
  const pieces: string[] = [];
  let current = '';
  const budget = (first: boolean) => max - close.length - (first ? 0 : open.length);
  const flush = () => {
    pieces.push(current);
    current = '';
  };
  for (const line of lines) {
    const first = pieces.length === 0;
    const candidate = current === '' ? line : `${current}\n${line}`;
    if (candidate.length <= budget(first)) {
      current = candidate;
      continue;
    }
    if (current !== '') flush();
    const parts = hardSplit(line, budget(false)); // the smaller budget fits any piece
    for (const [i, part] of parts.entries()) {
      current = part;
      if (i < parts.length - 1) flush();
    }
  }
  if (current !== '' || pieces.length === 0) flush();
  return pieces.map((p, i) => {
    let s = p;
    if (i > 0) s = `${open}${s}`;
    if (i < pieces.length - 1) s = `${s}${close}`;
    return s;
  });
}

/**
 * Splits mrkdwn into chunks of at most `max` chars, on line boundaries, keeping
 * fenced code blocks whole when they fit in one chunk.
 */
export function splitBody(body: string, max: number = LIMITS.sectionText): string[] {
  const chunks: string[] = [];
  let current: string | undefined;
  const push = (piece: string) => {
    if (current !== undefined && current.length + 1 + piece.length <= max) {
      current = `${current}\n${piece}`;
      return;
    }
    if (current !== undefined) chunks.push(current);
    current = piece;
  };
  for (const unit of toUnits(body)) {
    const joined = unit.lines.join('\n');
    if (joined.length <= max) {
      push(joined);
      continue;
    }
    const pieces = unit.code ? splitCode(unit.lines, max) : hardSplit(joined, max);
    for (const piece of pieces) push(piece);
  }
  if (current !== undefined) chunks.push(current);
  // Slack rejects empty section text; blank-only chunks carry nothing.
  return chunks.filter((c) => c.trim() !== '');
}

function plain(text: string, max: number): PlainText {
  return { type: 'plain_text', text: truncate(text, max), emoji: true };
}

function renderConfirm(c: ConfirmDialog, style: Button['style']): ConfirmObject {
  return {
    title: plain(c.title, LIMITS.confirmTitle),
    text: plain(c.text, LIMITS.confirmText),
    confirm: plain(c.confirm, LIMITS.confirmButton),
    deny: plain(c.deny, LIMITS.confirmButton),
    ...(style === 'danger' ? { style: 'danger' as const } : {}),
  };
}

export function renderButton(b: Button): ButtonElement {
  if (b.value.length > LIMITS.buttonValue) {
    // Truncating would corrupt what the handler reads back; this is a bug in the caller.
    throw new Error(`button ${b.actionId}: value is ${b.value.length} chars, Slack allows ${LIMITS.buttonValue}`);
  }
  if (b.actionId.length > LIMITS.actionId) {
    throw new Error(`button action_id is longer than ${LIMITS.actionId} chars`);
  }
  return {
    type: 'button',
    text: plain(b.label, LIMITS.buttonText),
    action_id: b.actionId,
    value: b.value,
    ...(b.style ? { style: b.style } : {}),
    ...(b.confirm ? { confirm: renderConfirm(b.confirm, b.style) } : {}),
  };
}

/**
 * Renders a message as Block Kit with `text` as the fallback. Pure apart from random block ids.
 * Every mrkdwn field goes through safeMrkdwn first: whatever untrusted text was not escaped
 * where it entered the message cannot become a mention or a link.
 */
export function renderMessage(original: ChatMessage): RenderedMessage {
  const message: ChatMessage = {
    ...original,
    text: safeMrkdwn(original.text),
    ...(original.body !== undefined ? { body: safeMrkdwn(original.body) } : {}),
    ...(original.context !== undefined ? { context: safeMrkdwn(original.context) } : {}),
  };
  const prefix = `mk8s-${randomBytes(4).toString('hex')}`;
  let n = 0;
  const id = () => `${prefix}-${n++}`;

  const head: Block[] = [];
  if (message.text.trim() !== '') {
    head.push({ type: 'section', block_id: id(), text: { type: 'mrkdwn', text: truncate(message.text, LIMITS.sectionText) } });
  }

  const tail: Block[] = [];
  if (message.context !== undefined && message.context.trim() !== '') {
    tail.push({ type: 'context', block_id: id(), elements: [{ type: 'mrkdwn', text: truncate(message.context, LIMITS.contextText) }] });
  }
  const buttons = message.buttons ?? [];
  if (buttons.length > 0) {
    tail.push({ type: 'actions', block_id: id(), elements: buttons.slice(0, LIMITS.actionsElements).map(renderButton) });
  }

  let bodyBlocks: Block[] = [];
  if (message.body !== undefined && message.body.trim() !== '') {
    const chunks = splitBody(message.body, LIMITS.sectionText);
    const room = LIMITS.blocksPerMessage - head.length - tail.length;
    let kept = chunks;
    let truncated = false;
    if (chunks.length > room) {
      kept = chunks.slice(0, room - 1); // one slot for the note
      truncated = true;
    }
    bodyBlocks = kept.map((text) => ({ type: 'section' as const, block_id: id(), text: { type: 'mrkdwn' as const, text } }));
    if (truncated) {
      bodyBlocks.push({ type: 'context', block_id: id(), elements: [{ type: 'mrkdwn', text: TRUNCATED_NOTE }] });
    }
  }

  return {
    text: truncate(message.text, LIMITS.fallbackText),
    blocks: [...head, ...bodyBlocks, ...tail],
  };
}
