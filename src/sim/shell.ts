/**
 * POSIX shell word splitting for the exec string a client sends, with bash's error texts.
 * Only simple commands are run: any unquoted operator, substitution or expansion is refused
 * (bash would run it; the simulator flags it instead so a quoting bug cannot hide).
 */

export type ShellParse = { ok: true; words: string[] } | { ok: false; stderr: string; code: number };

const OPERATOR_CHARS = new Set([';', '&', '|', '<', '>', '(', ')', '\n']);

function syntaxError(token: string): ShellParse {
  return {
    ok: false,
    code: 2,
    stderr: `bash: -c: line 1: syntax error near unexpected token \`${token}' (the simulated node runs simple commands only)\n`,
  };
}

export function parseShellWords(input: string, home: string): ShellParse {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const n = input.length;
  while (i < n) {
    const ch = input.charAt(i);
    if (ch === ' ' || ch === '\t') {
      if (inWord) {
        words.push(cur);
        cur = '';
        inWord = false;
      }
      i++;
      continue;
    }
    if (ch === '#' && !inWord) break; // comment to end of line
    if (OPERATOR_CHARS.has(ch)) {
      if (ch === '\n' && i === n - 1) {
        i++;
        continue;
      }
      const two = input.slice(i, i + 2);
      return syntaxError(['&&', '||', '>>', '<<', ';;', '>&', '<&', '&>'].includes(two) ? two : ch === '\n' ? 'newline' : ch);
    }
    if (ch === '`') return syntaxError('`');
    if (ch === '$') {
      const next = input[i + 1];
      if (next !== undefined && /[({A-Za-z0-9_@*#?$!-]/.test(next)) return syntaxError(next === '(' ? '$(' : `$${next}`);
      cur += ch;
      inWord = true;
      i++;
      continue;
    }
    if (ch === '\\') {
      if (i + 1 >= n) {
        cur += '\\';
        inWord = true;
        i++;
        continue;
      }
      const next = input.charAt(i + 1);
      i += 2;
      if (next === '\n') continue; // line continuation
      cur += next;
      inWord = true;
      continue;
    }
    if (ch === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) return unterminated("'");
      cur += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (ch === '"') {
      i++;
      inWord = true;
      let closed = false;
      while (i < n) {
        const c = input.charAt(i);
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === '\\' && i + 1 < n) {
          const nx = input.charAt(i + 1);
          if (nx === '$' || nx === '`' || nx === '"' || nx === '\\') {
            cur += nx;
            i += 2;
            continue;
          }
          if (nx === '\n') {
            i += 2;
            continue;
          }
          cur += c;
          i++;
          continue;
        }
        if (c === '`') return syntaxError('`');
        if (c === '$') {
          const nx = input[i + 1];
          if (nx !== undefined && /[({A-Za-z0-9_@*#?$!-]/.test(nx)) return syntaxError(nx === '(' ? '$(' : `$${nx}`);
        }
        cur += c;
        i++;
      }
      if (!closed) return unterminated('"');
      continue;
    }
    if (ch === '~' && !inWord) {
      const next = input[i + 1];
      if (next === undefined || next === '/' || next === ' ' || next === '\t') {
        cur += home;
        inWord = true;
        i++;
        continue;
      }
    }
    cur += ch;
    inWord = true;
    i++;
  }
  if (inWord) words.push(cur);
  return { ok: true, words };
}

function unterminated(q: string): ShellParse {
  return {
    ok: false,
    code: 2,
    stderr: `bash: -c: line 1: unexpected EOF while looking for matching \`${q}'\nbash: -c: line 2: syntax error: unexpected end of file\n`,
  };
}

/** Quotes one word so `parseShellWords` (and sh) read it back unchanged. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface SudoSplit {
  sudo: boolean;
  /** sudo was asked for without -n (it would prompt without NOPASSWD). */
  interactive: boolean;
  argv: string[];
  /** Set when sudo's own arguments were bad. */
  error?: { stderr: string; code: number };
}

/** Strips a leading `sudo [-n] [--]` and leading `NAME=value` assignments. */
export function splitSudo(words: string[]): SudoSplit {
  let argv = dropAssignments(words);
  if (argv[0] !== 'sudo' && argv[0] !== '/usr/bin/sudo') return { sudo: false, interactive: false, argv };
  argv = argv.slice(1);
  let nonInteractive = false;
  while (argv.length > 0) {
    const a = argv[0] ?? '';
    if (a === '--') {
      argv = argv.slice(1);
      break;
    }
    if (a === '-n' || a === '--non-interactive') nonInteractive = true;
    else if (a === '-E' || a === '-H' || a === '--preserve-env' || a === '--set-home') {
      /* accepted, no effect */
    } else if (a === '-u' || a === '--user') {
      const who = argv[1];
      if (who !== 'root' && who !== '#0') {
        return { sudo: true, interactive: false, argv: [], error: { stderr: `sudo: unknown user: ${who ?? ''}\nsudo: error initializing audit plugin sudoers_audit\n`, code: 1 } };
      }
      argv = argv.slice(1);
    } else if (/^-[nEH]+$/.test(a)) {
      if (a.includes('n')) nonInteractive = true;
    } else if (a.startsWith('-')) {
      return { sudo: true, interactive: false, argv: [], error: { stderr: `sudo: invalid option -- '${a.replace(/^-+/, '').charAt(0)}'\nusage: sudo -h | -K | -k | -V\n`, code: 1 } };
    } else break;
    argv = argv.slice(1);
  }
  argv = dropAssignments(argv);
  if (argv.length === 0) {
    return { sudo: true, interactive: !nonInteractive, argv, error: { stderr: 'usage: sudo -h | -K | -k | -V\nusage: sudo -v [-AknS] [-g group] [-h host] [-p prompt] [-u user]\n', code: 1 } };
  }
  return { sudo: true, interactive: !nonInteractive, argv };
}

function dropAssignments(words: string[]): string[] {
  let i = 0;
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] ?? '')) i++;
  return words.slice(i);
}
