/**
 * Reading a decoded PowerShell script the way PowerShell reads the few forms the simulator
 * answers: variables assigned single-quoted literals (quotes doubled), `@('a', 'b')` arrays,
 * `$true`/`$false`, and a command line's words (`& 'c:\x.ps1' -Name $Var -Other 'text'`).
 */

export type PsVal = string | string[] | boolean;

/** PowerShell's single-quote characters. */
const QUOTES = new Set(["'", '\u2018', '\u2019', '\u201a', '\u201b']);

/** A single-quoted literal starting at `i`: its value and the index after it, or undefined. */
export function readQuoted(text: string, i: number): { value: string; end: number } | undefined {
  if (!QUOTES.has(text.charAt(i))) return undefined;
  let out = '';
  let j = i + 1;
  while (j < text.length) {
    const ch = text.charAt(j);
    if (QUOTES.has(ch)) {
      if (QUOTES.has(text.charAt(j + 1))) {
        out += ch;
        j += 2;
        continue;
      }
      return { value: out, end: j + 1 };
    }
    out += ch;
    j++;
  }
  return undefined;
}

/** The value of a literal expression: `'x'`, `@('a', 'b')`, `$true`, `$false`. */
export function readLiteral(text: string): PsVal | undefined {
  const t = text.trim();
  if (t === '$true') return true;
  if (t === '$false') return false;
  const q = readQuoted(t, 0);
  if (q) return q.end === t.length ? q.value : undefined;
  if (!t.startsWith('@(') || !t.endsWith(')')) return undefined;
  const inner = t.slice(2, -1);
  const items: string[] = [];
  let i = 0;
  while (i < inner.length) {
    const ch = inner.charAt(i);
    if (ch === ' ' || ch === ',') {
      i++;
      continue;
    }
    const item = readQuoted(inner, i);
    if (!item) return undefined;
    items.push(item.value);
    i = item.end;
  }
  return items;
}

export interface ParsedScript {
  /** `$Name = literal` lines, by name (case-insensitive keys, lowercased). */
  vars: Map<string, PsVal>;
  lines: string[];
  text: string;
}

export function parseScript(text: string): ParsedScript {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const vars = new Map<string, PsVal>();
  for (const line of lines) {
    const m = /^\$([A-Za-z][A-Za-z0-9]*) = (.*)$/.exec(line);
    if (!m) continue;
    const value = readLiteral(m[2] ?? '');
    if (value !== undefined) vars.set((m[1] ?? '').toLowerCase(), value);
  }
  return { vars, lines, text };
}

/** The words of a command line: literals and `$Var` references resolved, barewords as they are. */
export function commandWords(line: string, vars: Map<string, PsVal>): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    const ch = line.charAt(i);
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    const q = readQuoted(line, i);
    if (q) {
      words.push(q.value);
      i = q.end;
      continue;
    }
    let j = i;
    while (j < line.length && line.charAt(j) !== ' ' && line.charAt(j) !== '\t') j++;
    const word = line.slice(i, j);
    if (word.startsWith('$') && /^\$[A-Za-z][A-Za-z0-9]*$/.test(word)) {
      const v = vars.get(word.slice(1).toLowerCase());
      words.push(Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : String(v ?? ''));
    } else words.push(word);
    i = j;
  }
  return words;
}

/** `-Name value` pairs of a script call's words (PowerShell parameter names are case-insensitive). */
export function namedArgs(words: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    if (w.startsWith('-') && i + 1 < words.length) {
      out.set(w.slice(1).toLowerCase(), words[i + 1] ?? '');
      i++;
    }
  }
  return out;
}

/** The first line that calls `file` with `&` (case-insensitive). */
export function callLine(script: ParsedScript, file: string): string | undefined {
  const f = file.toLowerCase();
  return script.lines.find((l) => l.trimStart().startsWith('&') && l.toLowerCase().includes(f));
}

export function str(script: ParsedScript, name: string): string | undefined {
  const v = script.vars.get(name.toLowerCase());
  return typeof v === 'string' ? v : undefined;
}

export function list(script: ParsedScript, name: string): string[] {
  const v = script.vars.get(name.toLowerCase());
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}
