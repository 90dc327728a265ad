/**
 * Output of the Snap Store Proxy's `snap-proxy` command (seed: "How to control MicroK8s upgrades
 * using a Snap Store Proxy"; docs.ubuntu.com/snap-store-proxy/en/overrides) and of the node-side
 * `snap get core proxy.store`.
 *
 *   $ sudo snap-proxy override microk8s 1.22/edge=2645
 *   microk8s 1.22/edge amd64 2645
 *   $ sudo snap-proxy list-overrides microk8s
 *   microk8s stable amd64 2645 (upstream 2645)
 *   $ sudo snap-proxy delete-override microk8s 1.22/edge
 *   microk8s 1.22/edge amd64 is tracking upstream (revision 2695)
 *   $ sudo snap-proxy status
 *    Store ID: YKNdvTH4IZfIFGtyaS7DSn6QCwgpgNfh
 *    Status: pending
 *    ...
 */
import { OutputParseError } from './errors.ts';
import { outputLines } from './parse-snap.ts';

/** One override: a channel of a snap pinned to a revision, for one architecture. */
export type ProxyOverride = {
  snap: string;
  /** As the proxy prints it: `stable` (the `latest` track), `1.22/edge`. */
  channel: string;
  arch: string;
  revision: string;
  /** What the channel would serve without the override (list-overrides only; null when not printed). */
  upstream: string | null;
};

export type ProxyReset = {
  snap: string;
  channel: string;
  arch: string;
  /** The upstream revision the channel serves again (null when not printed). */
  upstream: string | null;
};

export interface ProxyStatus {
  storeId: string;
  /** `pending`, `approved`, … as printed. */
  status: string;
  /** `Internal Service Status:` entries, e.g. `{ nginx: 'running' }`. */
  services: Record<string, string>;
}

/** `latest/stable` and `stable` name the same channel; the proxy prints the short form. */
export function proxyChannelKey(channel: string): string {
  return channel.startsWith('latest/') ? channel.slice('latest/'.length) : channel;
}

export function sameProxyChannel(a: string, b: string): boolean {
  return proxyChannelKey(a) === proxyChannelKey(b);
}

const OVERRIDE = /^(\S+)\s+(\S+)\s+(\S+)\s+(\d+)(?:\s+\(upstream\s+([^)\s]*)\))?$/;
const RESET = /^(\S+)\s+(\S+)\s+(\S+)\s+is tracking upstream(?:\s+\(revision\s+([^)\s]*)\))?$/;

function overrideLine(line: string): ProxyOverride | undefined {
  const m = OVERRIDE.exec(line.trim());
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return undefined;
  return { snap: m[1], channel: m[2], arch: m[3], revision: m[4], upstream: m[5] ? m[5] : null };
}

/**
 * `snap-proxy list-overrides <snap>`: one line per channel and architecture; no line when
 * nothing is overridden. Lines of other snaps and anything else (a login banner) are skipped.
 */
export function parseListOverrides(text: string, snap = 'microk8s'): ProxyOverride[] {
  return outputLines(text)
    .map(overrideLine)
    .filter((o): o is ProxyOverride => o !== undefined && o.snap === snap);
}

/** `snap-proxy override <snap> <channel>=<revision>`: a line per architecture the revision is for. */
export function parseOverrideOutput(text: string, snap: string, channel: string, revision: string): ProxyOverride[] {
  const lines = parseListOverrides(text, snap).filter((o) => sameProxyChannel(o.channel, channel) && o.revision === revision);
  if (lines.length === 0) throw OutputParseError.of(`snap-proxy override ${snap} ${channel}=${revision}`, `"${snap} ${proxyChannelKey(channel)} <arch> ${revision}"`, text);
  return lines;
}

/** `snap-proxy delete-override <snap> <channel>`: a line per architecture now tracking upstream (none when nothing was overridden). */
export function parseDeleteOverride(text: string, snap = 'microk8s'): ProxyReset[] {
  const out: ProxyReset[] = [];
  for (const line of outputLines(text)) {
    const m = RESET.exec(line.trim());
    if (!m?.[1] || !m[2] || !m[3] || m[1] !== snap) continue;
    out.push({ snap: m[1], channel: m[2], arch: m[3], upstream: m[4] ? m[4] : null });
  }
  return out;
}

/** `snap-proxy status`: the store id the devices are pointed at, the registration status, the services. */
export function parseProxyStatus(text: string): ProxyStatus {
  let storeId: string | undefined;
  let status: string | undefined;
  const services: Record<string, string> = {};
  let inServices = false;
  for (const raw of outputLines(text)) {
    const line = raw.trim();
    const kv = /^([A-Za-z][A-Za-z ()-]*?):(.*)$/.exec(line);
    if (!kv?.[1]) continue;
    const key = kv[1];
    const value = (kv[2] ?? '').trim();
    if (key === 'Store ID') storeId = value;
    else if (key === 'Status' && !inServices) status = value;
    else if (key === 'Internal Service Status') inServices = true;
    else if (inServices && /^[a-z0-9-]+$/.test(key)) services[key] = value;
  }
  if (!storeId || !/^[A-Za-z0-9]{8,64}$/.test(storeId)) throw OutputParseError.of('snap-proxy status', 'a line "Store ID: <id>"', text);
  return { storeId, status: status ?? 'unknown', services };
}

/** `snap-proxy config <key>` and `snap get core <key>` print the value alone: the last non-empty line. */
export function parseConfigValue(text: string, command: string): string {
  const line = outputLines(text)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .pop();
  if (line === undefined) throw OutputParseError.of(command, 'a value', text);
  return line;
}
