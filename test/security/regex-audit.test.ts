/**
 * Every regular expression in src/ and jobs/ (the simulator aside: it is not shipped) is checked
 * with recheck, a ReDoS checker that finds exponential and polynomial backtracking. Node output
 * and chat text reach most of them; one quadratic pattern on a few MB of output blocks the event
 * loop for every cluster. Patterns built at run time are listed by file and reviewed by hand.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkSync } from 'recheck';
import { describe, expect, it } from 'vitest';
import { regexLiterals } from '../support/regex-literals.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return path.endsWith(join('src', 'sim')) ? [] : sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** `new RegExp(…)` sites, reviewed: what they are built from and why that is bounded. */
const DYNAMIC: Record<string, string> = {
  'src/ssh/known-hosts.ts': 'known_hosts host patterns (* and ?) matched against an inventory host name',
  'src/chat/slack/logger.ts': 'an alternation of literal, escaped secret values',
  'src/chat/slack/app.ts': 'the fixed action-id prefix mk8s.',
  'src/microk8s/snap-proxy.ts': 'a fixed channel pattern, anchored, bounded repeats',
  'src/microk8s/args-files.ts': 'a fixed flag name, then [= \\t](.*)$ (checked below)',
  'src/microk8s/parse-kubectl.ts': 'an escaped node name between fixed words, anchored',
  'src/util/excerpt.ts': 'the ANSI escape pattern ESC [ [0-9;?]* letter (checked below)',
};

/**
 * Literals recheck's fuzzer may call polynomial only because of bounded repeats ({0,61}), whose
 * input is length-checked before the match; reviewed by hand.
 */
const REVIEWED = new Map<string, string>([
  [
    String.raw`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$`,
    'src/microk8s/snap-proxy.ts DOMAIN: the domain is at most 260 characters, checked first',
  ],
]);

const seen = new Map<string, string>();

/** recheck's verdict; a generous timeout, since a loaded machine must not turn "safe" into "unknown". */
function status(source: string, flags: string): string {
  const key = `${flags.replace('g', '')}/${source}`;
  const known = seen.get(key);
  if (known) return known;
  const result = checkSync(source, flags.replace('g', ''), { timeout: 120_000 });
  const verdict = result.status === 'vulnerable' ? `vulnerable (${result.complexity.summary})` : result.status === 'unknown' ? `unknown (${result.error.kind})` : result.status;
  seen.set(key, verdict);
  return verdict;
}

describe('regular expressions run in linear time', () => {
  const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'jobs'))];

  it('recheck finds no super-linear regex literal in src/ or jobs/', () => {
    const unsafe: string[] = [];
    let count = 0;
    for (const file of files) {
      for (const r of regexLiterals(readFileSync(file, 'utf8'))) {
        count += 1;
        if (REVIEWED.has(r.source)) continue;
        const s = status(r.source, r.flags);
        if (s !== 'safe') unsafe.push(`${relative(ROOT, file)}:${r.line} /${r.source}/${r.flags} → ${s}`);
      }
    }
    expect(count, 'the scanner found the literals').toBeGreaterThan(150);
    expect(unsafe).toEqual([]);
  }, 600_000);

  it('the regexes built at run time are the reviewed ones, and the node-output ones are safe', () => {
    const found = files.filter((f) => readFileSync(f, 'utf8').includes('new RegExp(')).map((f) => relative(ROOT, f));
    expect(found.toSorted()).toEqual(Object.keys(DYNAMIC).toSorted());
    expect(status(`^\\-\\-node\\-ip[= \\t](.*)$`, '')).toBe('safe');
    expect(status(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, '')).toBe('safe');
  }, 60_000);

  it('the checker and the scanner do catch the patterns this audit removed', () => {
    const text = "const a = x.replace(/\\s+$/, ''); const b = 4 / 2; const c = /^ +| +$/g;";
    const literals = regexLiterals(text).map((r) => `/${r.source}/${r.flags}`);
    expect(literals).toEqual(['/\\s+$/', '/^ +| +$/g']);
    expect(status('\\s+$', '')).toMatch(/^vulnerable/);
    expect(status('^(FAIL|WARNING):\\s*(.*)$', '')).toMatch(/^vulnerable/);
  }, 60_000);
});
