/**
 * A simulated Snap Store Proxy host (seed: "How to control MicroK8s upgrades using a Snap Store
 * Proxy"), reached over its own SSH server with the cluster's user and key, and the node side of
 * it:
 *
 * - on the proxy: `snap-proxy list-overrides|override|delete-override <snap> …` with the output
 *   formats of the seed and docs.ubuntu.com/snap-store-proxy/en/overrides, `snap-proxy status`
 *   (Store ID, Status, services) and `snap-proxy config proxy.domain`. All need root.
 * - on a node: `curl … http://<proxy.domain>/v2/auth/store/assertions` (the store assertion),
 *   `mktemp`, `snap ack <file>`, `snap set core proxy.store=<id>` (refused without a matching
 *   acked store assertion, as snapd does) and `snap get core proxy.store`.
 * - a node whose `proxy.store` is the proxy's store id gets the pinned revision of a channel from
 *   `snap refresh microk8s --channel X` (`proxyResolve`).
 */
import { posix } from 'node:path';
import { CHANNELS, channelDisplayName, fullChannel, parseChannel, resolveChannel, type ChannelRelease } from './catalogue.ts';
import { fail, ok, type CommandContext, type CommandResult } from './context.ts';
import type { SimNode } from './node.ts';
import type { SimState } from './state.ts';

/** The inventory name of the proxy host (and its node name in the command log and in faults). */
export const SNAP_PROXY_NAME = 'snap-proxy';

/** Revisions the simulated store knows besides the ones its channels serve now (older releases). */
const OLDER_RELEASES: Readonly<Record<number, ChannelRelease & { track: string }>> = {
  2645: { version: 'v1.22.3', revision: 2645, kubeletVersion: 'v1.22.3-3+9ec7c40ec93c73', released: '2021-11-14', sizeMb: 194, track: '1.22' },
  2906: { version: 'v1.23.1', revision: 2906, kubeletVersion: 'v1.23.1-2+b7120affd5b6ac', released: '2021-12-17', sizeMb: 176, track: '1.23' },
};

/** The release of a store revision, or undefined when the store has no such revision. */
export function releaseOfRevision(revision: number): ChannelRelease | undefined {
  const older = OLDER_RELEASES[revision];
  if (older) return older;
  return Object.values(CHANNELS).find((r) => r.revision === revision);
}

export interface SimSnapProxyInfo {
  name: string;
  host: string;
  port: number;
  hostKeyFingerprint: string;
}

/** The proxy's state: what it serves, as the tests can read and change it. */
export class SimStoreProxy {
  /** `snap-proxy status` Store ID; nodes point `proxy.store` at it. */
  storeId = 'Mk8sSimStoreX7dQ2pLw9VbN4tRz6Ke0';
  /** `proxy.domain`: the name nodes fetch the assertion from. */
  domain = 'proxy.internal';
  status: 'pending' | 'approved' = 'approved';
  /** Serving (false: the nodes' curl is refused, and pins stop applying as if the store were unreachable). */
  serving = true;
  /** Overrides by channel, as the proxy prints it (`stable`, `1.22/edge`). */
  readonly overrides = new Map<string, { revision: number; arch: string }>();

  /** The revision a channel would serve without an override. */
  upstream(channel: string): number | undefined {
    return resolveChannel(fullName(channel))?.release.revision;
  }

  assertions(): string {
    const key = 'BWDEoaqyr25nF5SNCvEv2v7QnM9QsfCc0PBMYD_i2NGSQ32EF2d4D0hqUel3m8ul';
    return [
      'type: account-key\nauthority-id: canonical\npublic-key-sha3-384: ' + key + '\naccount-id: canonical\nname: store\nsince: 2016-04-01T00:00:00.0Z\nbody-length: 0\nsign-key-sha3-384: -CvQKAwRQ5h3Ffn10FILJoEZUXOv6km9FwA80-Rcj-f-6jadQ89VRswHNiEB9Lxk\n\nAcLDXAQAAQoABgUCV7UYzwAKCRDUpVvql9g3IK7uH/4udqNOurx5WYVknzXdwekp0ovHCQJ0iBPw\n',
      `type: store\nauthority-id: canonical\nstore: ${this.storeId}\noperator-id: 8ZyEXgGxlGPMJ93Lrsy7Rj3UKTaKrAx6\nurl: http://${this.domain}\ntimestamp: 2021-11-24T10:12:33.523212Z\nsign-key-sha3-384: BWDEoaqyr25nF5SNCvEv2v7QnM9QsfCc0PBMYD_i2NGSQ32EF2d4D0hqUel3m8ul\n\nAcLBUgQAAQoABgUCYZ4Q8QAAHp4QABS5UuN0Rc7mLjNEntXn8pbqCFKLJ8Yuo8yiDnEa3NRlPqMB\n`,
    ].join('\n');
  }
}

function fullName(channel: string): string {
  const c = parseChannel(channel);
  return 'error' in c ? channel : fullChannel(c);
}

/** A node's snapd store settings: acked store assertions and `proxy.store`. */
interface NodeStore {
  acked: Set<string>;
  config: Map<string, string>;
}

const proxies = new WeakMap<SimState, SimStoreProxy>();

/** Makes `proxy` the Snap Store Proxy of the cluster whose state this is. */
export function attachStoreProxy(state: SimState, proxy: SimStoreProxy): void {
  proxies.set(state, proxy);
}
const nodeStores = new WeakMap<SimNode, NodeStore>();

function storeOf(node: SimNode): NodeStore {
  let s = nodeStores.get(node);
  if (!s) {
    s = { acked: new Set(), config: new Map() };
    nodeStores.set(node, s);
  }
  return s;
}

/** The proxy of a simulated cluster, when it has one. */
export function simStoreProxy(state: SimState): SimStoreProxy | undefined {
  return proxies.get(state);
}

/** The store id a node's snapd uses (`snap get core proxy.store`), if any. */
export function nodeProxyStore(node: SimNode): string | undefined {
  return nodeStores.get(node)?.config.get('proxy.store');
}

/**
 * For `snap refresh`: the pinned release of `target` (a full `track/risk`) when the node is
 * pointed at the cluster's proxy and the proxy overrides that channel.
 */
export function proxyResolve(ctx: CommandContext, target: string): { release: ChannelRelease; servedFrom: string } | undefined {
  const proxy = proxies.get(ctx.state);
  if (!proxy?.serving || nodeProxyStore(ctx.node) !== proxy.storeId) return undefined;
  const pin = proxy.overrides.get(channelDisplayName(target));
  const release = pin ? releaseOfRevision(pin.revision) : undefined;
  return release ? { release, servedFrom: target } : undefined;
}

// ---------------------------------------------------------------- node side

function accessDenied(): CommandResult {
  return fail(1, 'error: access denied (try with sudo)\n');
}

/** `snap ack <file>`: adds the assertions in the file; a store assertion makes its id usable for proxy.store. */
export function snapAck(ctx: CommandContext, args: string[]): CommandResult {
  const file = args.find((a) => !a.startsWith('-'));
  if (file === undefined) return fail(1, 'error: the required argument `<assertion file>` was not provided\n');
  if (ctx.sudoRequired && !ctx.root) return accessDenied();
  const data = ctx.node.fs.readFile(file, true);
  if (typeof data === 'string') return fail(1, `error: cannot read assertion input: open ${file}: no such file or directory\n`);
  const text = data.toString('utf8');
  const blocks = text.split(/\n(?=type: )/);
  if (!blocks.some((b) => /^type: [a-z-]+$/m.test(b))) return fail(1, 'error: cannot assert: cannot decode assertion: assertion content/signature separator not found\n');
  for (const block of blocks) {
    const id = /^store: (\S+)$/m.exec(block)?.[1];
    if (/^type: store$/m.test(block) && id) storeOf(ctx.node).acked.add(id);
  }
  return ok();
}

/** `snap set core key=value …` (only core; proxy.store needs an acked store assertion). */
export function snapSet(ctx: CommandContext, args: string[]): CommandResult {
  const [snapName, ...pairs] = args.filter((a) => !a.startsWith('-'));
  if (snapName === undefined || pairs.length === 0) return fail(1, 'error: the required arguments `<snap>` and `<conf value> (at least 1 argument)` were not provided\n');
  if (snapName !== 'core' && snapName !== 'system') return fail(1, `error: snap "${snapName}" not found\n`);
  if (ctx.sudoRequired && !ctx.root) return accessDenied();
  const store = storeOf(ctx.node);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return fail(1, `error: invalid configuration: "${pair}" (want key=value)\n`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (key === 'proxy.store' && value !== '' && !store.acked.has(value)) {
      return fail(1, `error: cannot perform the following tasks:\n- Run configure hook of "core" snap (cannot set proxy.store to "${value}" without a matching store assertion)\n`);
    }
    if (value === '') store.config.delete(key);
    else store.config.set(key, value);
  }
  return ok();
}

/** `snap get core <key>`. */
export function snapGet(ctx: CommandContext, args: string[]): CommandResult {
  const [snapName, key] = args.filter((a) => !a.startsWith('-'));
  if (snapName === undefined) return fail(1, 'error: the required argument `<snap>` was not provided\n');
  if (snapName !== 'core' && snapName !== 'system') return fail(1, `error: snap "${snapName}" not found\n`);
  if (key === undefined) return fail(1, 'error: snap "core" has no configuration\n');
  const value = nodeStores.get(ctx.node)?.config.get(key);
  if (value === undefined) return fail(1, `error: snap "${snapName}" has no "${key}" configuration option\n`);
  return ok(`${value}\n`);
}

let tempCounter = 0;

/** `mktemp`: a new empty 0600 file in /tmp owned by the caller; prints its path. */
export function mktemp(ctx: CommandContext, args: string[]): CommandResult {
  const directory = args.length === 1 && args[0] === '-d';
  if (!directory && args.some((a) => a.startsWith('-'))) return fail(1, `mk8s-sim: \`mktemp ${args.join(' ')}\` is not simulated\n`);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let name = '';
  let n = (++tempCounter * 2654435761 + ctx.state.now()) >>> 0;
  for (let i = 0; i < 10; i++) {
    name += alphabet[n % alphabet.length];
    n = Math.floor(n / alphabet.length) + 7919 * (i + 1);
  }
  const path = `/tmp/tmp.${name}`;
  if (directory) {
    if (ctx.node.fs.entry(path)) return fail(1, `mktemp: failed to create directory via template '/tmp/tmp.XXXXXXXXXX': File exists\n`);
    ctx.node.fs.dirs.set(path, { owner: ctx.root ? 'root' : ctx.user, mode: 0o700 });
    return ok(`${path}\n`);
  }
  const err = ctx.node.fs.writeFile(path, Buffer.alloc(0), ctx.root, ctx.state.now());
  if (err) return fail(1, `mktemp: failed to create file via template '/tmp/tmp.XXXXXXXXXX': ${err === 'EACCES' ? 'Permission denied' : 'No such file or directory'}\n`);
  const file = ctx.node.fs.files.get(path);
  if (file) file.mode = 0o600;
  return ok(`${path}\n`);
}

/**
 * `curl` of the proxy's store assertion (`-s -S -f -L -o FILE URL`, flags combined or long).
 * Undefined when the URL is not the proxy's, so another curl (e.g. NodePorts) can answer it.
 */
export function proxyCurl(ctx: CommandContext, args: string[]): CommandResult | undefined {
  let output: string | undefined;
  let failOnHttp = false;
  let url: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '-o' || a === '--output') output = args[++i];
    else if (a.startsWith('--output=')) output = a.slice('--output='.length);
    else if (a === '--fail' || a === '-f') failOnHttp = true;
    else if (/^-[sSfLo]+$/.test(a)) {
      if (a.includes('f')) failOnHttp = true;
      if (a.endsWith('o')) output = args[++i];
    } else if (!a.startsWith('-')) url = a;
  }
  const proxy = proxies.get(ctx.state);
  const m = url ? /^https?:\/\/([^/:]+)(?::(\d+))?(\/[^?#]*)?/.exec(url) : null;
  if (!proxy || !m || m[1] !== proxy.domain) return undefined;
  if (!proxy.serving) return fail(7, `curl: (7) Failed to connect to ${proxy.domain} port ${m[2] ?? '80'}: Connection refused\n`);
  const path = m[3] ?? '/';
  let body: string;
  if (path === '/v2/auth/store/assertions') body = proxy.assertions();
  else {
    if (failOnHttp) return fail(22, 'curl: (22) The requested URL returned error: 404\n');
    body = '{"error_list": [{"code": "not-found", "message": "Not found"}]}\n';
  }
  if (output === undefined) return ok(body);
  const err = ctx.node.fs.writeFile(posix.normalize(output), Buffer.from(body), ctx.root, ctx.state.now());
  if (err) return fail(23, `curl: (23) Failed writing body\n`);
  return ok();
}
