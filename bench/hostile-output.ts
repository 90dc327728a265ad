/**
 * Hostile node output and chat text in linear time: every function that reads a node's output
 * or a user's text is fed 1 MB and 10 MB of inputs built to make backtracking regexes explode
 * (long blank runs not at the end, `key:` + blanks + a line separator, unterminated ANSI
 * escapes, `a.Error.` runs without a colon, quote and backtick runs, mrkdwn, binary). Linear
 * code takes ~10× as long on 10× the input; the quadratic `/\s+$/` this replaced took 2.3 s on
 * 80 k spaces. Printed: the time for 1 MB, for 10 MB and their ratio, per function and in all.
 */
import { randomBytes } from 'node:crypto';
import { renderAuditEvent } from '../src/audit/events.ts';
import { tokenize } from '../src/commands/tokenize.ts';
import { argValue, haConfFailureDomain } from '../src/microk8s/args-files.ts';
import { parseInspect } from '../src/microk8s/parse-inspect.ts';
import { joinError, parseJoinUrls } from '../src/microk8s/parse-join.ts';
import { parseProxyStatus } from '../src/microk8s/parse-snap-proxy.ts';
import { outputLines, parseSnapInfo, parseSnapList } from '../src/microk8s/parse-snap.ts';
import { parseStatus } from '../src/microk8s/parse-status.ts';
import { CappedOutput } from '../src/ssh/capped-output.ts';
import { tail } from '../src/ssh/errors.ts';
import { outputExcerpt } from '../src/util/excerpt.ts';
import { escapeMrkdwn, safeMrkdwn } from '../src/util/mrkdwn.ts';
import { log, ms, ratio, type Benchmark, type Row } from './lib.ts';

const MB = 1_000_000;

/** Repeats `unit` up to `bytes` characters. */
function fill(unit: string, bytes: number): string {
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

/** A flat copy (V8 keeps concatenations as trees; the first reader would pay for flattening). */
function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** The hostile shapes, each `bytes` long. */
export function hostileInputs(bytes: number): Record<string, string> {
  return Object.fromEntries(Object.entries(shapes(bytes)).map(([k, v]) => [k, flat(v)]));
}

function shapes(bytes: number): Record<string, string> {
  return {
    'blank run, then a letter': `${' '.repeat(bytes - 1)}x`,
    'tabs and spaces, no newline': `${fill(' \t', bytes - 1)}!`,
    'key: blanks, then a line separator': fill(`name:${' '.repeat(4000)}\u2028x\n`, bytes),
    'one key: line, blanks, separator': `status:${' '.repeat(bytes - 10)}\u2028x`,
    'unterminated ANSI escapes': fill(`\u001b[${'1;'.repeat(60)}`, bytes),
    'a.Error. without a colon': fill('a.Error.', bytes),
    'quotes and brackets': `${fill(`"',[`, bytes / 2)}x${fill(`"',]`, bytes / 2)}y`,
    'backtick runs': fill('`', bytes),
    'mrkdwn mentions and links': fill('<!channel> <https://evil.example|Approve job 42> &amp; ``` ', bytes),
    binary: randomBytes(bytes).toString('latin1'),
  };
}

type Reader = (text: string) => unknown;

/** Each reader of node output or chat text; a parse error is a fine answer, a hang is not. */
const READERS: Record<string, Reader> = {
  'tail (failed command output)': (t) => tail(t),
  outputLines: (t) => outputLines(t),
  parseSnapList: (t) => parseSnapList(t),
  parseSnapInfo: (t) => parseSnapInfo(t),
  parseStatus: (t) => parseStatus(t),
  parseInspect: (t) => parseInspect(t, t),
  parseProxyStatus: (t) => parseProxyStatus(t),
  parseJoinUrls: (t) => parseJoinUrls(t),
  joinError: (t) => joinError(t, t, 1),
  'failure domain (ha-conf, args)': (t) => [haConfFailureDomain(t), argValue(t, '--node-ip')],
  outputExcerpt: (t) => outputExcerpt(t),
  escapeMrkdwn: (t) => escapeMrkdwn(t),
  safeMrkdwn: (t) => safeMrkdwn(t),
  'tokenize (chat text)': (t) => tokenize(t),
  'audit line (refused text)': (t) => renderAuditEvent({ type: 'request', user: 'U0MALLORY', text: t, outcome: 'refused', reason: t, id: '1-0', at: 0 }),
  'capped output (4 MiB kept)': (t) => {
    const out = new CappedOutput();
    const buf = Buffer.from(t, 'latin1');
    for (let i = 0; i < buf.length; i += 32 * 1024) out.push(buf.subarray(i, i + 32 * 1024));
    return out.text();
  },
};

function timeOnce(reader: Reader, text: string): number {
  const started = performance.now();
  try {
    reader(text);
  } catch {
    // refused (OutputParseError, RequestError): the point is that it answered
  }
  return performance.now() - started;
}

/** Best of `runs` (the least disturbed by GC and the other processes on the machine). */
function best(reader: Reader, text: string, runs: number): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) min = Math.min(min, timeOnce(reader, text));
  return min;
}

export interface HostileTimes {
  reader: string;
  small: number;
  large: number;
  worstShape: string;
}

/** Times every reader on every shape at `smallBytes` and 10× that. */
export function measureHostile(smallBytes = MB, runs = 2): HostileTimes[] {
  const small = hostileInputs(smallBytes);
  const large = hostileInputs(smallBytes * 10);
  return Object.entries(READERS).map(([name, reader]) => {
    let s = 0;
    let l = 0;
    let worst = '';
    let worstRatio = 0;
    for (const shape of Object.keys(small)) {
      const ts = best(reader, small[shape]!, runs);
      const tl = best(reader, large[shape]!, runs);
      s += ts;
      l += tl;
      const r = tl / Math.max(ts, 0.05);
      if (r > worstRatio) {
        worstRatio = r;
        worst = shape;
      }
    }
    return { reader: name, small: s, large: l, worstShape: worst };
  });
}

export const hostileOutput: Benchmark = {
  name: 'hostile',
  title: 'node output and chat text built to make regexes backtrack: 1 MB vs 10 MB',
  async run(): Promise<Row[]> {
    const times = measureHostile();
    const rows: Row[] = [];
    let small = 0;
    let large = 0;
    for (const t of times) {
      small += t.small;
      large += t.large;
      log(`  ${t.reader.padEnd(32)} 1 MB ${ms(t.small).padStart(9)}   10 MB ${ms(t.large).padStart(9)}   ×${ratio(t.large / Math.max(t.small, 0.05))}`);
    }
    const overall = large / small;
    log(`  all readers, all ${Object.keys(hostileInputs(10)).length} shapes: 1 MB ${ms(small)}, 10 MB ${ms(large)}, ratio ${ratio(overall)} (linear ≈ 10, quadratic ≈ 100)`);
    rows.push({ bench: 'hostile', figure: 'time 10 MB ÷ time 1 MB (all readers)', value: ratio(overall), n: times.length, note: `1 MB ${ms(small)}, 10 MB ${ms(large)}` });
    // For scale: the regex this replaced, on 10 k and 100 k blanks followed by a letter.
    const old = (n: number) => best((t) => t.replace(/\s+$/, ''), `${' '.repeat(n)}x`, 1);
    const old10k = old(10_000);
    const old100k = old(100_000);
    log(`  for comparison, the old /\\s+$/ trim: 10 k blanks ${ms(old10k)}, 100 k blanks ${ms(old100k)}, ratio ${ratio(old100k / old10k)} (quadratic)`);
    rows.push({ bench: 'hostile', figure: 'old /\\s+$/ trim, 100 k ÷ 10 k blanks', value: ratio(old100k / old10k), note: `10 k ${ms(old10k)}, 100 k ${ms(old100k)}` });
    const worst = times.reduce((a, b) => (b.large / Math.max(b.small, 0.05) > a.large / Math.max(a.small, 0.05) ? b : a));
    rows.push({ bench: 'hostile', figure: 'worst single reader, 10 MB ÷ 1 MB', value: ratio(worst.large / Math.max(worst.small, 0.05)), note: `${worst.reader} (${worst.worstShape})` });
    await Promise.resolve();
    return rows;
  },
};
