/**
 * Slack mrkdwn from untrusted text (node output, error texts, user text echoed back, audit
 * entries). Slack reads `<…>` as a mention or a link (`<!channel>`, `<https://x|label>`) and
 * `&` as the start of an entity, so those three are escaped; a run of backticks is broken up so
 * that the text cannot open or close a code fence (inside one it would end the block and what
 * follows would be read as mrkdwn). Linear scans, no regex.
 *
 *   escapeMrkdwn(stderr)        untrusted text → text shown literally
 *   safeMrkdwn(message)         a whole message the bot composed: escapes whatever is not one
 *                               of its own user/channel mentions or an entity already escaped
 *                               (idempotent, so already-escaped parts are left as they are)
 */

/** Inserted between two backticks so that no ``` fence can form. */
const BACKTICK_BREAK = '\u200b';

/** The one escaping function for untrusted text in Slack mrkdwn. */
export function escapeMrkdwn(text: string): string {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    let replacement: string | undefined;
    if (ch === 38) replacement = '&amp;';
    else if (ch === 60) replacement = '&lt;';
    else if (ch === 62) replacement = '&gt;';
    else if (ch === 96 && text.charCodeAt(i + 1) === 96) replacement = `\`${BACKTICK_BREAK}`;
    if (replacement === undefined) continue;
    out.push(text.slice(from, i), replacement);
    from = i + 1;
  }
  if (from === 0) return text;
  out.push(text.slice(from));
  return out.join('');
}

const ENTITIES = ['&amp;', '&lt;', '&gt;'];

function isIdChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90);
}

/** Length of the bot's own mention at `i` (`<@U0123>`, `<@W0123>`, `<#C0123>`), or 0. */
function ownMentionAt(text: string, i: number): number {
  const sigil = text[i + 1];
  const kind = text[i + 2];
  const mention = (sigil === '@' && (kind === 'U' || kind === 'W')) || (sigil === '#' && kind === 'C');
  if (!mention) return 0;
  let j = i + 3;
  while (j < text.length && j - i < 40 && isIdChar(text.charCodeAt(j))) j += 1;
  return text[j] === '>' && j > i + 3 ? j + 1 - i : 0;
}

/**
 * Makes a message the bot composed safe to post: every `<`, `>` and `&` is escaped except the
 * bot's own `<@U…>` / `<#C…>` mentions and entities that are already escaped. The Slack
 * adapter applies it to everything it sends, as the last line of defence; untrusted parts are
 * escaped where they are put into a message, with escapeMrkdwn.
 */
export function safeMrkdwn(text: string): string {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch !== 38 && ch !== 60 && ch !== 62) continue;
    if (ch === 60) {
      const keep = ownMentionAt(text, i);
      if (keep > 0) {
        i += keep - 1;
        continue;
      }
    }
    if (ch === 38 && ENTITIES.some((e) => text.startsWith(e, i))) continue;
    out.push(text.slice(from, i), ch === 38 ? '&amp;' : ch === 60 ? '&lt;' : '&gt;');
    from = i + 1;
  }
  if (from === 0) return text;
  out.push(text.slice(from));
  return out.join('');
}

/** The text Slack would show for escaped mrkdwn (the console prints it this way). */
export function unescapeMrkdwn(text: string): string {
  if (!text.includes('&') && !text.includes(BACKTICK_BREAK)) return text;
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll(BACKTICK_BREAK, '').replaceAll('&amp;', '&');
}
