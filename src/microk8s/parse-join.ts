/**
 * `microk8s add-node` output and `microk8s join` errors (../shared/reference/microk8s-cli.md §1–2):
 * the connection strings printed, the ones worth trying, and the first real error of a failed join.
 */
import { trimChars } from '../util/text.ts';

import { maskSecrets } from '../ssh/errors.ts';

/**
 * Text about a join with its secrets out: the tokens add-node printed, and any word that
 * looks like a join address with a token in it (`host:port/<token>/…`) even when it is not
 * one of them (another format, a token the parse did not recognise).
 */
export function maskJoinText(text: string, secrets: readonly string[]): string {
  return maskSecrets(text, secrets)
    .split('\n')
    .map((line) =>
      line
        .split(' ')
        .map((word) => (word.includes('/') && word.includes(':') && word.split('/').some((part) => /^[0-9A-Za-z]{16,}$/.test(part)) ? '***' : word))
        .join(' '),
    )
    .join('\n');
}

export interface JoinUrl {
  host: string;
  port: number;
  token: string;
  fingerprint?: string;
  /** `host:port/token[/fingerprint]` as printed. */
  text: string;
}

/**
 * Every connection string in `microk8s add-node` output, in the order printed (the default
 * address first), without repeats: any word with `:<port>/`, the port after the last `:` before
 * the first `/` (IPv6 addresses are printed without brackets). Works for every format
 * (pretty, short, json, yaml, the ≤1.21 leading space).
 */
export function parseJoinUrls(output: string): JoinUrl[] {
  const out: JoinUrl[] = [];
  for (const raw of output.split(/\s+/)) {
    const word = trimChars(trimChars(raw, `"',[`, 'start'), `"',]`, 'end');
    const slash = word.indexOf('/');
    if (slash < 0) continue;
    const hostPort = word.slice(0, slash);
    const colon = hostPort.lastIndexOf(':');
    if (colon <= 0) continue;
    const port = hostPort.slice(colon + 1);
    if (!/^\d{1,5}$/.test(port)) continue;
    const [token, fingerprint, ...extra] = word.slice(slash + 1).split('/');
    if (!token || !/^[0-9A-Za-z]{32,}$/.test(token) || extra.length > 0) continue;
    if (fingerprint !== undefined && !/^[0-9a-f]{12,}$/.test(fingerprint)) continue;
    if (out.some((u) => u.text === word)) continue;
    const url: JoinUrl = { host: hostPort.slice(0, colon), port: Number(port), token, text: word };
    if (fingerprint) url.fingerprint = fingerprint;
    out.push(url);
  }
  return out;
}

function isUsableIpv4(host: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host);
  if (!m) return false; // IPv6 (join ≥ 1.30 cannot parse it) or a name
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a !== 127 && !(a === 169 && b === 254);
}

/** The URLs to try, best first: the controller's own InternalIP, then the other IPv4 addresses. */
export function joinCandidates(urls: readonly JoinUrl[], preferHost: string | undefined): JoinUrl[] {
  const usable = urls.filter((u) => isUsableIpv4(u.host));
  return [...usable.filter((u) => u.host === preferHost), ...usable.filter((u) => u.host !== preferHost)];
}

const KNOWN_ERROR =
  /^(Connection failed\.|Joining cluster failed\.|Joining process failed\.|Invalid connection:|Peer node verification failed|Please ensure the master node is reachable|Connecting to cluster failed|Error[,:]|Failed to sign|option \S+ not recognized|Please provide a connection string|This node does not have enough RAM|Invalid token)/;

/**
 * The first real error in a join's output: a known failure line (with its continuation up to
 * the `(NNN).` status), else a traceback's exception, else the last line. Progress lines
 * ("Contacting cluster at …", dots) and warnings are skipped.
 */
/**
 * A Python traceback's last line, `some.module.SomeError: text`: the leading dotted name has a
 * part ending in Error or Exception, and a colon follows. Scanned, not matched with one regex
 * (`[\w.]*(Error|Exception)\b.*:` backtracks quadratically on long lines).
 */
function isExceptionLine(line: string): boolean {
  const name = /^[A-Za-z_][\w.]*/.exec(line)?.[0];
  if (!name || !line.includes(':')) return false;
  for (const suffix of ['Error', 'Exception']) {
    for (let at = name.indexOf(suffix, 1); at >= 0; at = name.indexOf(suffix, at + 1)) {
      const after = name.charAt(at + suffix.length);
      if (after === '' || after === '.') return true;
    }
  }
  return false;
}

export function joinError(stdout: string, stderr: string, code: number): string {
  const lines = `${stdout}\n${stderr}`.split('\n').map((l) => l.trimEnd());
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? '';
    if (!KNOWN_ERROR.test(line)) continue;
    let text = line;
    for (let j = i + 1; j < Math.min(lines.length, i + 3) && !/\(\d{3}\)\.?$/.test(text) && line.startsWith('Connection failed'); j++) {
      const next = lines[j]?.trim() ?? '';
      if (next === '') break;
      text += ` ${next}`;
    }
    return text;
  }
  const exception = lines.find((l) => isExceptionLine(l.trim()));
  if (exception) return exception.trim();
  const meaningful = lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('Contacting cluster at ') && !l.startsWith('Waiting for ') && !l.startsWith('WARNING:') && !/^[.\s]+$/.test(l));
  return meaningful.at(-1) ?? `exit code ${code} with no output`;
}
