/**
 * POSIX shell quoting for argv arrays. Callers never build command strings: they pass
 * argv, and every element reaches the remote shell as exactly one literal word.
 */

import { UnsafeArgumentError } from '../errors/user-facing.ts';

/** Words made only of these characters mean the same quoted or not, in every POSIX shell. */
const SAFE_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/;

export { UnsafeArgumentError } from '../errors/user-facing.ts';

/** Quotes one argument: safe words stay as they are (readable logs), anything else is single-quoted. */
export function shellQuote(arg: string): string {
  if (typeof arg !== 'string') throw new UnsafeArgumentError(`expected a string argument, got ${typeof arg}`);
  if (arg.includes('\0')) throw new UnsafeArgumentError('an argument contains a NUL byte, which no remote command can receive');
  if (arg !== '' && SAFE_WORD.test(arg)) return arg;
  // Inside single quotes nothing is special except the quote itself: close, add an escaped quote, reopen.
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * Joins argv into one command line for `$SHELL -c`. The first word is always quoted if it
 * contains `=`, so it can never be read as a variable assignment.
 */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new UnsafeArgumentError('empty command');
  return argv
    .map((arg, i) => {
      const quoted = shellQuote(arg);
      return i === 0 && quoted === arg && arg.includes('=') ? `'${arg}'` : quoted;
    })
    .join(' ');
}
