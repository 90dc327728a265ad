/**
 * Finds the regular-expression literals in TypeScript source, for the ReDoS audit
 * (test/security/regex-audit.test.ts). A small scanner, not a parser: it skips strings,
 * template text and comments, and reads `/…/flags` where an expression may start.
 */

export interface RegexLiteral {
  source: string;
  flags: string;
  line: number;
}

const STARTS_EXPRESSION = new Set(['(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^']);
const KEYWORDS_BEFORE_EXPRESSION = new Set(['return', 'typeof', 'case', 'in', 'of', 'delete', 'void', 'throw', 'new', 'yield', 'await', 'else', 'do']);

function isIdentChar(ch: string | undefined): boolean {
  return ch !== undefined && /^[\w$]$/.test(ch);
}

/** The regex literals of one file, with the line each starts on. */
export function regexLiterals(text: string): RegexLiteral[] {
  const out: RegexLiteral[] = [];
  let i = 0;
  let line = 1;
  // What came before the current position, ignoring whitespace and comments: decides `/` = divide or regex.
  let prev = '';
  let prevWord = '';
  // Template literals nest through `${ … }`: a stack of brace depths at which a template resumes.
  const templateResume: number[] = [];
  let braceDepth = 0;

  const skipString = (quote: string): void => {
    i += 1;
    while (i < text.length && text[i] !== quote) {
      if (text[i] === '\\') i += 1;
      else if (text[i] === '\n') line += 1;
      i += 1;
    }
    i += 1;
  };
  /** Scans template text up to its end (returns) or to a `${` (pushes and returns). */
  const scanTemplate = (): void => {
    while (i < text.length) {
      const ch = text[i];
      if (ch === '\\') {
        i += 2;
        continue;
      }
      if (ch === '\n') line += 1;
      if (ch === '`') {
        i += 1;
        prev = 'x';
        return;
      }
      if (ch === '$' && text[i + 1] === '{') {
        i += 2;
        braceDepth += 1;
        templateResume.push(braceDepth);
        prev = '{';
        return;
      }
      i += 1;
    }
  };

  while (i < text.length) {
    const ch = text[i]!;
    const next = text[i + 1];
    if (ch === '\n') {
      line += 1;
      i += 1;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      i += 1;
      continue;
    }
    if (ch === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i += 1;
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      for (let k = i; k < stop; k++) if (text[k] === '\n') line += 1;
      i = stop;
      continue;
    }
    if (ch === '"' || ch === "'") {
      skipString(ch);
      prev = 'x';
      prevWord = '';
      continue;
    }
    if (ch === '`') {
      i += 1;
      scanTemplate();
      prevWord = '';
      continue;
    }
    if (ch === '{') braceDepth += 1;
    if (ch === '}') {
      if (templateResume.length > 0 && templateResume[templateResume.length - 1] === braceDepth) {
        templateResume.pop();
        braceDepth -= 1;
        i += 1;
        scanTemplate();
        continue;
      }
      braceDepth -= 1;
    }
    if (ch === '/') {
      const regexHere = prev === '' || STARTS_EXPRESSION.has(prev) || KEYWORDS_BEFORE_EXPRESSION.has(prevWord);
      if (regexHere) {
        const start = i;
        let inClass = false;
        i += 1;
        while (i < text.length) {
          const c = text[i];
          if (c === '\\') {
            i += 2;
            continue;
          }
          if (c === '\n') break; // not a regex after all
          if (c === '[') inClass = true;
          else if (c === ']') inClass = false;
          else if (c === '/' && !inClass) break;
          i += 1;
        }
        if (text[i] === '/') {
          const source = text.slice(start + 1, i);
          i += 1;
          let flags = '';
          while (i < text.length && /[dgimsuyv]/.test(text[i]!)) flags += text[i++];
          out.push({ source, flags, line });
          prev = 'x';
          prevWord = '';
          continue;
        }
        i = start + 1;
      }
      prev = '/';
      prevWord = '';
      i += 1;
      continue;
    }
    if (isIdentChar(ch)) {
      let word = '';
      while (isIdentChar(text[i])) word += text[i++];
      prev = 'x';
      prevWord = word;
      continue;
    }
    prev = ch;
    prevWord = '';
    i += 1;
  }
  return out;
}
