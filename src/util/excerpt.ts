/**
 * The one excerpt of untrusted text — a word a user typed, a line a node printed — for quoting
 * it back in a message: single-line, printable, short. (Escaping for Slack's mrkdwn is the chat
 * side's business.)
 */

const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

/** Removes ANSI colour/cursor escapes (snapd and kubectl colour their output on a TTY). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_ESCAPE, '');
}

/**
 * At most `max` characters of `text` (`…` when cut), on one line: ANSI escapes removed, line
 * breaks shown as ` ⏎ `, other control characters as `?`. Linear in the text's length.
 */
export function excerpt(text: string, max = 40): string {
  const chars: string[] = [];
  let pendingBreak = false;
  for (const ch of stripAnsi(text).replace(/\r/g, '').trim()) {
    if (ch === '\n') {
      pendingBreak = true;
      continue;
    }
    if (pendingBreak) {
      chars.push(' ', '⏎', ' ');
      pendingBreak = false;
    }
    const code = ch.charCodeAt(0);
    chars.push(code < 32 || code === 127 ? '?' : ch);
    if (chars.length > max) break;
  }
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`;
}

/** A short, single-line, printable excerpt of some output, quoted, for error messages. */
export function outputExcerpt(text: string, max = 160): string {
  const clean = excerpt(text, max + 1);
  return clean === '' ? '(no output)' : `"${clean}"`;
}
