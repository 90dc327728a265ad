/**
 * MicroK8s configuration files under `$SNAP_DATA/args` that the HA runbooks edit: reading them,
 * and producing their new text with only the one setting changed (every other line kept).
 *
 * - `args/ha-conf`: `failure-domain=<n>` (run-kubelite-with-args also accepts `failure-domain <n>`).
 * - `args/apiserver-proxy`: one flag per line, `--refresh-interval 30s` by default (`0` disables
 *   the automatic refresh of the control-plane endpoints).
 * - `args/traefik/provider.yaml`: `tcp.services.kube-apiserver.loadBalancer.servers[].address`.
 */
import { isMap, isSeq, parse, parseDocument, YAMLMap } from 'yaml';

export const SNAP_DATA = '/var/snap/microk8s/current';
export const HA_CONF = `${SNAP_DATA}/args/ha-conf`;
export const APISERVER_PROXY_ARGS = `${SNAP_DATA}/args/apiserver-proxy`;
export const PROVIDER_YAML = `${SNAP_DATA}/args/traefik/provider.yaml`;
/** Where kubelite copies the failure domain at start (what dqlite uses). */
export const BACKEND_FAILURE_DOMAIN = `${SNAP_DATA}/var/kubernetes/backend/failure-domain`;

/** The proxy's default refresh interval (`MK:microk8s-resources/default-args/apiserver-proxy`). */
export const DEFAULT_REFRESH_INTERVAL = '30s';

/** A failure domain: dqlite reads it as an unsigned integer; we keep to at most 9 digits. */
export const MAX_FAILURE_DOMAIN = 999_999_999;

/** A failure domain as typed (`0`, `42`), or undefined when it is not a whole number 0…MAX. */
export function parseFailureDomain(text: string): number | undefined {
  if (!/^\d{1,9}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n <= MAX_FAILURE_DOMAIN ? n : undefined;
}

const HA_LINE = /^failure-domain[= \t](.*)$/;

/** The failure domain ha-conf sets (its first `failure-domain` line), or undefined when none or not a number. */
export function haConfFailureDomain(text: string): number | undefined {
  for (const line of text.split('\n')) {
    const m = HA_LINE.exec(line);
    if (m) return /^\d{1,19}$/.test((m[1] ?? '').trim()) ? Number((m[1] ?? '').trim()) : undefined;
  }
  return undefined;
}

/** ha-conf with its `failure-domain` set to `n` (the first such line replaced, later ones dropped; appended when absent). */
export function setHaConfFailureDomain(text: string, n: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_FAILURE_DOMAIN) throw new RangeError(`failure domain ${n} is not a whole number from 0 to ${MAX_FAILURE_DOMAIN}`);
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let done = false;
  for (const line of lines) {
    if (HA_LINE.test(line)) {
      if (!done) out.push(`failure-domain=${n}`);
      done = true;
    } else out.push(line);
  }
  if (!done) out.push(`failure-domain=${n}`);
  return `${out.join('\n')}\n`;
}

/** The trimmed content of the backend's `failure-domain` file as a number, or undefined. */
export function parseBackendFailureDomain(text: string): number | undefined {
  const t = text.trim();
  return /^\d{1,19}$/.test(t) ? Number(t) : undefined;
}

const FLAG_LINE = (flag: string) => new RegExp(`^${flag.replace(/[-]/g, '\\-')}[= \\t](.*)$`);

/** The value of `--flag` in an args file (`--flag value` or `--flag=value`), or undefined. */
export function argValue(text: string, flag: string): string | undefined {
  const re = FLAG_LINE(flag);
  for (const line of text.split('\n')) {
    const m = re.exec(line.trim());
    if (m) return (m[1] ?? '').trim();
  }
  return undefined;
}

/**
 * The args file with `--flag value` (the first line of that flag replaced in place, later ones
 * dropped, appended when absent). Every other line is kept as it was.
 */
export function setArg(text: string, flag: string, value: string): string {
  if (!/^--[a-z][a-z0-9-]*$/.test(flag) || !/^[A-Za-z0-9._:/-]+$/.test(value)) throw new RangeError(`refusing to write ${flag} ${value}`);
  const re = FLAG_LINE(flag);
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let done = false;
  for (const line of lines) {
    if (re.test(line.trim())) {
      if (!done) out.push(`${flag} ${value}`);
      done = true;
    } else out.push(line);
  }
  if (!done) out.push(`${flag} ${value}`);
  return `${out.join('\n')}\n`;
}

/** Go's time.ParseDuration("0") and friends: true when the value turns the refresh off. */
export function refreshDisabled(value: string | undefined): boolean {
  return value !== undefined && /^[+]?0+(?:\.0+)?(?:ns|us|µs|ms|s|m|h)?$/.test(value);
}

/** provider.yaml as `join --worker` writes it, listing `addresses`. */
export function canonicalProvider(addresses: readonly string[]): string {
  const servers = addresses.map((a) => `          - address: ${a}\n`).join('');
  return (
    'tcp:\n  routers:\n    Router-1:\n      rule: HostSNI(`*`)\n      service: kube-apiserver\n      tls:\n        passthrough: true\n' +
    `  services:\n    kube-apiserver:\n      loadBalancer:\n        servers:\n${servers}`
  );
}

const SERVERS_PATH = ['tcp', 'services', 'kube-apiserver', 'loadBalancer', 'servers'] as const;

/** The API-server addresses provider.yaml lists; undefined when it is not valid YAML of that shape. */
export function providerServers(text: string): string[] | undefined {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  let cur: unknown = doc;
  for (const key of SERVERS_PATH) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  if (!Array.isArray(cur)) return undefined;
  const out: string[] = [];
  for (const s of cur) {
    const a = s !== null && typeof s === 'object' ? (s as { address?: unknown }).address : undefined;
    if (typeof a !== 'string') return undefined;
    out.push(a);
  }
  return out;
}

/**
 * provider.yaml listing exactly `addresses`: the servers list is replaced in the existing
 * document (routers, TLS and comments kept); a file that is missing, not YAML or not of the
 * expected shape is replaced by the canonical one.
 */
export function setProviderServers(text: string | undefined, addresses: readonly string[]): string {
  if (addresses.length === 0) throw new RangeError('provider.yaml needs at least one API server (the proxy refuses an empty list)');
  if (text === undefined || providerServers(text) === undefined) return canonicalProvider(addresses);
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return canonicalProvider(addresses);
  const servers = doc.getIn([...SERVERS_PATH], true);
  const items = addresses.map((address) => {
    const m = new YAMLMap();
    m.set('address', address);
    return m;
  });
  if (isSeq(servers)) servers.items = items;
  else doc.setIn([...SERVERS_PATH], doc.createNode(addresses.map((address) => ({ address }))));
  return doc.toString({ indentSeq: true });
}

// ---- load-balancer addresses -------------------------------------------------------------

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function isIpv4(host: string): boolean {
  const parts = host.split('.');
  return parts.length === 4 && parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

function isHostname(host: string): boolean {
  if (host.length > 253) return false;
  const labels = host.split('.');
  // an all-numeric name that is not a valid IPv4 address (10.0.0.256) is a typo, not a host name
  if (labels.every((l) => /^\d+$/.test(l))) return false;
  return labels.every((l) => LABEL.test(l));
}

/**
 * A load-balancer address `host:port`: a DNS name or an IPv4 address, and a port 1–65535.
 * Returns the address (normalised: no leading zeros in the port), or a message saying what is wrong.
 */
export function parseLbAddress(text: string): { address: string; host: string; port: number } | string {
  const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  const colon = text.lastIndexOf(':');
  if (colon < 0) return `'${shown}' has no port; write host:port, such as 10.0.0.100:16443 or lb.example.com:6443`;
  const host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.includes(':')) return `'${shown}' is not host:port (IPv6 addresses are not supported here; use a DNS name that resolves to it)`;
  if (host === '') return `'${shown}' has no host; write host:port, such as 10.0.0.100:16443`;
  if (!isIpv4(host) && !isHostname(host)) return `'${host.length > 60 ? `${host.slice(0, 60)}…` : host}' is not a host name or IPv4 address`;
  if (!/^\d{1,5}$/.test(portText)) return `port '${portText.slice(0, 20)}' is not a number from 1 to 65535`;
  const port = Number(portText);
  if (port < 1 || port > 65535) return `port ${port} is out of range: use 1 to 65535`;
  return { address: `${host}:${port}`, host, port };
}
