import { excerpt } from '../util/excerpt.ts';
import { trimChars } from '../util/text.ts';
import { RequestError } from './errors.ts';

/**
 * Splits command text into words, refusing anything that is not a plain word.
 *
 * Words reach SSH command lines (node names, channels), so the allowed alphabet
 * is small and fixed: printable ASCII letters, digits and `. _ : / = , @ + -`.
 * Everything else is refused with a message that names the character and what
 * is allowed: shell metacharacters, quotes, control characters (a newline is
 * one), non-ASCII, and over-long words or lines.
 */

export const MAX_LINE = 500;
export const MAX_WORD = 100;

const WORD = /^[A-Za-z0-9._:/=,@+-]+$/;
const SHELL_META = new Set([';', '|', '&', '$', '(', ')', '`', '<', '>', '\\', "'", '"', '*', '?', '!', '{', '}', '[', ']', '~', '#']);

export const ALLOWED = 'words may contain only ASCII letters, digits and . _ : / = , @ + - (flags start with --)';

function codePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Printable enough to quote back: no control, format, private-use or separator characters other than space. */
function quotable(s: string): boolean {
  return !/[\p{C}\p{Zl}\p{Zp}]/u.test(s) && !/[^\S ]/u.test(s);
}

function describeControl(ch: string): string {
  switch (ch) {
    case '\n':
    case '\r':
      return 'a line break';
    case '\t':
      return 'a tab';
    default:
      return `a control character (${codePoint(ch)})`;
  }
}

function describeNonAscii(ch: string): string {
  if (ch === '\u00a0') return `a no-break space (${codePoint(ch)})`;
  if (ch === '\u2014' || ch === '\u2013') return `a dash '${ch}' (${codePoint(ch)}) — your chat client may have turned -- into it; type flags as --name`;
  if (ch === '\u201c' || ch === '\u201d' || ch === '\u2018' || ch === '\u2019') return `a curly quote '${ch}' (${codePoint(ch)})`;
  if (/[\p{L}\p{N}\p{P}\p{S}]/u.test(ch)) return `the non-ASCII character '${ch}' (${codePoint(ch)})`;
  return `a non-ASCII character (${codePoint(ch)})`;
}

/** The word around position `i` of `text`, for context in an error. */
function wordAt(text: string, i: number): string {
  const start = text.lastIndexOf(' ', i) + 1;
  const end = text.indexOf(' ', i);
  return text.slice(start, end === -1 ? undefined : end);
}

function inWord(text: string, i: number): string {
  const word = wordAt(text, i);
  return quotable(word) && Array.from(word).length > 1 ? ` in '${excerpt(word)}'` : '';
}

export function tokenize(text: string): string[] {
  const line = trimChars(text, ' ');
  if (line.length > MAX_LINE) {
    throw new RequestError(`the command is ${line.length} characters long; at most ${MAX_LINE} are allowed`, 'bad-input');
  }
  let i = 0;
  for (const ch of line) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) {
      throw new RequestError(`the command contains ${describeControl(ch)}: send one command on one line; ${ALLOWED}`, 'bad-input');
    }
    if (code > 0x7e) {
      throw new RequestError(`the command contains ${describeNonAscii(ch)}${inWord(line, i)}; ${ALLOWED}`, 'bad-input');
    }
    if (SHELL_META.has(ch)) {
      throw new RequestError(`'${ch}'${inWord(line, i)} is not allowed: shell metacharacters and quotes are refused; ${ALLOWED}`, 'bad-input');
    }
    if (ch !== ' ' && !WORD.test(ch)) {
      throw new RequestError(`the character '${ch}'${inWord(line, i)} is not allowed; ${ALLOWED}`, 'bad-input');
    }
    i += ch.length;
  }
  const words = line.split(/ +/).filter((w) => w.length > 0);
  for (const word of words) {
    if (word.length > MAX_WORD) {
      throw new RequestError(`'${excerpt(word)}' is ${word.length} characters long; a word may have at most ${MAX_WORD}`, 'bad-input');
    }
  }
  return words;
}
