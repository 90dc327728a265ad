/** Small parsers: `sha256sum <file>`, `stat -c %s <file>`, `date +%s`. */
import { OutputParseError } from './errors.ts';
import { outputLines } from './parse-snap.ts';

/** `sha256sum <path>` → the lowercase hex digest (checks the file name when given). */
export function parseSha256sum(text: string, path?: string): string {
  const cmd = `sha256sum ${path ?? '<file>'}`;
  for (const line of outputLines(text)) {
    const m = /^\\?([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trim());
    if (m?.[1] && (path === undefined || m[2] === path || m[2]?.endsWith(`/${path.split('/').pop() ?? ''}`))) return m[1].toLowerCase();
  }
  throw OutputParseError.of(cmd, `"<64 hex digits>  ${path ?? '<file>'}"`, text);
}

/** `sha256sum A B …`: the digest of each of `paths` it printed (a file it could not read has none). */
export function parseSha256sums(text: string, paths: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of outputLines(text)) {
    const m = /^\\?([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined && paths.includes(m[2])) out.set(m[2], m[1].toLowerCase());
  }
  return out;
}

/** The last line made only of digits (a login script may print something first). */
function lastNumberLine(text: string, digits: RegExp): string | undefined {
  return outputLines(text)
    .map((l) => l.trim())
    .filter((l) => digits.test(l))
    .pop();
}

/** `stat -c %s <path>` → size in bytes. */
export function parseStatSize(text: string, path?: string): number {
  const t = lastNumberLine(text, /^\d{1,15}$/);
  if (t === undefined) throw OutputParseError.of(`stat -c %s ${path ?? '<file>'}`, 'a size in bytes', text);
  return Number(t);
}

/** `date +%s` → seconds since the epoch. */
export function parseEpoch(text: string): number {
  const t = lastNumberLine(text, /^\d{9,12}$/);
  if (t === undefined) throw OutputParseError.of('date +%s', 'seconds since 1970 (digits only)', text);
  return Number(t);
}
