/**
 * Linear-time helpers for untrusted text (node output, chat input). A regex such as `/\s+$/`
 * or `/ +$/g` backtracks quadratically on a long run of blanks that is not at the end, which
 * blocks the event loop for every cluster; these scan once instead.
 */

/** `text` without the characters of `chars` at its start and/or end. */
export function trimChars(text: string, chars: string, where: 'both' | 'start' | 'end' = 'both'): string {
  let start = 0;
  let end = text.length;
  if (where !== 'end') while (start < end && chars.includes(text.charAt(start))) start += 1;
  if (where !== 'start') while (end > start && chars.includes(text.charAt(end - 1))) end -= 1;
  return text.slice(start, end);
}
