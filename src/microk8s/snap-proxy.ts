/**
 * Typed commands of the Snap Store Proxy host (`snap-proxy …`, run as root as in the seed) and of
 * a node pointed at it (`snap ack`, `snap set/get core proxy.store`). Every value is validated
 * before it reaches an argv.
 */
import type { ExecOptions, ExecResult, RemoteShell } from '../ssh/types.ts';
import { CheckFailedError, InvalidValueError, OutputParseError } from './errors.ts';
import {
  parseConfigValue,
  parseDeleteOverride,
  parseListOverrides,
  parseOverrideOutput,
  parseProxyStatus,
  type ProxyOverride,
  type ProxyReset,
  type ProxyStatus,
} from './parse-snap-proxy.ts';

const RISK = '(?:stable|candidate|beta|edge)';
/** `stable`, `latest/edge`, `1.23/stable`, `1.23/candidate/hotfix`: what `snap-proxy override` takes. */
const PROXY_CHANNEL = new RegExp(`^(?:${RISK}|(?:latest|[1-9][0-9]{0,2}\\.(?:0|[1-9][0-9]{0,2}))/${RISK}(?:/[a-z0-9][a-z0-9._-]{0,39})?)$`);
const REVISION = /^[1-9][0-9]{0,9}$/;
const STORE_ID = /^[A-Za-z0-9]{8,64}$/;
/** A host name or IP, with an optional port: what `proxy.domain` may hold. */
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;
/** What `mktemp` prints. */
const TEMP_PATH = /^\/[A-Za-z0-9._/-]{1,200}$/;

function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

export function assertProxyChannel(channel: string): string {
  if (!PROXY_CHANNEL.test(channel)) throw new InvalidValueError(`${shown(channel)} is not a channel the proxy can override: use <track>/<risk> such as 1.23/stable, or a risk (stable = latest/stable)`);
  return channel;
}

export function assertRevision(revision: string): string {
  if (!REVISION.test(revision)) throw new InvalidValueError(`${shown(revision)} is not a snap revision: a whole number such as 2948`);
  return revision;
}

export function assertStoreId(id: string): string {
  if (!STORE_ID.test(id)) throw new InvalidValueError(`${shown(id)} is not a store id (letters and digits, as \`snap-proxy status\` prints it)`);
  return id;
}

/** The proxy's HTTP address as `proxy.domain` holds it (a host, optionally with a port). */
export function assertDomain(domain: string): string {
  // Length first: DOMAIN's bounded label repeats are only linear on input of bounded length.
  if (domain.length > 260 || !DOMAIN.test(domain)) throw new InvalidValueError(`${shown(domain)} is not a host name for the Snap Store Proxy`);
  return domain;
}

/** Where a node fetches the store assertion (seed: `curl http://proxy.internal/v2/auth/store/assertions`). */
export function assertionsUrl(domain: string): string {
  return `http://${assertDomain(domain)}/v2/auth/store/assertions`;
}

/** `snap-proxy …` on the proxy host (privileged: the seed runs every one with sudo). */
export class SnapProxy {
  constructor(private readonly shell: RemoteShell) {}

  get name(): string {
    return this.shell.node;
  }

  private async run<T>(argv: readonly string[], parse: (r: ExecResult) => T, options: ExecOptions = {}): Promise<T> {
    const result = await this.shell.exec(argv, { privileged: true, ...options });
    try {
      return parse(result);
    } catch (err) {
      if (err instanceof OutputParseError) throw err.onNode(this.name);
      throw err;
    }
  }

  /** `snap-proxy list-overrides <snap>`. */
  listOverrides(snap = 'microk8s'): Promise<ProxyOverride[]> {
    return this.run(['snap-proxy', 'list-overrides', snap], (r) => parseListOverrides(r.stdout, snap));
  }

  /** `snap-proxy override <snap> <channel>=<revision>`: the channel serves that revision from now on. */
  override(channel: string, revision: string, snap = 'microk8s'): Promise<ProxyOverride[]> {
    assertProxyChannel(channel);
    assertRevision(revision);
    return this.run(['snap-proxy', 'override', snap, `${channel}=${revision}`], (r) => parseOverrideOutput(r.stdout, snap, channel, revision));
  }

  /** `snap-proxy delete-override <snap> <channel>`: the channel follows upstream again. */
  deleteOverride(channel: string, snap = 'microk8s'): Promise<ProxyReset[]> {
    assertProxyChannel(channel);
    return this.run(['snap-proxy', 'delete-override', snap, channel], (r) => parseDeleteOverride(r.stdout, snap));
  }

  /** `snap-proxy status`: the store id nodes are pointed at, and the registration status. */
  status(): Promise<ProxyStatus> {
    return this.run(['snap-proxy', 'status'], (r) => parseProxyStatus(r.stdout));
  }

  /** `snap-proxy config proxy.domain`: the name nodes reach the proxy by (seed step 7). */
  domain(): Promise<string> {
    return this.run(['snap-proxy', 'config', 'proxy.domain'], (r) => assertDomain(parseConfigValue(r.stdout, 'snap-proxy config proxy.domain')));
  }
}

// ---- the node side ----------------------------------------------------------------------

/** `snap get core proxy.store` on a node: the store id it uses, or undefined when unset. */
export async function proxyStoreOf(shell: RemoteShell): Promise<string | undefined> {
  const r = await shell.exec(['snap', 'get', 'core', 'proxy.store'], { okExitCodes: [0, 1] });
  if (r.code !== 0) {
    // snapd: `error: snap "core" has no "proxy.store" configuration option`
    if (/has no "proxy\.store" configuration option/.test(r.stderr)) return undefined;
    throw OutputParseError.of('snap get core proxy.store', 'the store id, or "has no proxy.store configuration option"', `${r.stderr}\n${r.stdout}`).onNode(shell.node);
  }
  const value = r.stdout.trim();
  return value === '' ? undefined : value;
}

/**
 * The seed's `curl http://<proxy>/v2/auth/store/assertions | sudo snap ack /dev/stdin`, as argv:
 * `mktemp`, `curl -sSfL -o <tmp> <url>` (as the SSH user), `sudo snap ack <tmp>`, `rm -f <tmp>`.
 * Returns the size of the assertions fetched.
 */
export async function ackStoreAssertions(shell: RemoteShell, domain: string): Promise<{ bytes: number }> {
  const url = assertionsUrl(domain);
  const made = await shell.exec(['mktemp']);
  const tmp = made.stdout.trim().split('\n').pop() ?? '';
  if (!TEMP_PATH.test(tmp)) throw OutputParseError.of('mktemp', 'the path of a new file', made.stdout).onNode(shell.node);
  try {
    await shell.exec(['curl', '-sSfL', '-o', tmp, url]);
    const size = await shell.exec(['stat', '-c', '%s', tmp]);
    const bytes = Number(size.stdout.trim().split('\n').pop());
    if (!Number.isFinite(bytes) || bytes <= 0) throw new CheckFailedError(`${url} answered with an empty body on ${shell.node}`);
    await shell.exec(['snap', 'ack', tmp], { privileged: true });
    return { bytes };
  } finally {
    await shell.exec(['rm', '-f', tmp]).catch(() => undefined);
  }
}

/** `sudo snap set core proxy.store=<id>` (snapd refuses an id without a matching acked store assertion). */
export async function setProxyStore(shell: RemoteShell, storeId: string): Promise<void> {
  assertStoreId(storeId);
  await shell.exec(['snap', 'set', 'core', `proxy.store=${storeId}`], { privileged: true });
}
