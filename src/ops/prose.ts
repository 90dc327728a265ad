/** Small helpers for the sentences runbooks post: failures quoted as sentences, capitals. */

/** The text as a sentence: ends with a full stop (error messages often do not). */
export function sentence(text: string): string {
  const t = text.trim();
  return /[.!?)]$/.test(t) ? t : `${t}.`;
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
