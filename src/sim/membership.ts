/**
 * Cluster membership on the simulated hosts: `microk8s add-node`, `join`, `leave`,
 * `remove-node`, `enable ha-cluster`, and the host tools an operator checks a joining node
 * with (`getent hosts`, `nc -z`). Texts and exit codes follow the MicroK8s release the node
 * runs (canonical/microk8s `scripts/cluster/{add_token,join,leave}.py`, the add-node/leave/
 * remove-node wrappers, the cluster agent) and ../shared/reference/microk8s-cli.md §1–3, §8.
 *
 * The model:
 * - `SimState.machines` holds every host; `SimState.nodes` holds the cluster's Kubernetes Node
 *   objects. A host outside the cluster (never joined, or it left) runs its own single-node
 *   MicroK8s: its commands see a small SimState of its own (a "view"), see `stateFor()`.
 * - A node that leaves keeps a stale Node object in the cluster (NotReady) until someone runs
 *   `remove-node`, as on a real cluster.
 * - Join tokens live on the node that ran `add-node` (its `cluster-tokens.txt`): without a TTL a
 *   token is consumed by its first valid use, before any other check (so a join that fails
 *   later has still used it up); with `--token-ttl` it can be used until it expires.
 * - dqlite roles: at most 3 voters and 3 stand-bys; when a voter leaves or a node joins, a
 *   stand-by (then a spare) is promoted. `high-availability: yes` needs more than 2 voters.
 * - An "old-style" cluster (`haCluster: false`): the first control-plane node runs the datastore
 *   (etcd, shown as not HA), the others joined the pre-1.19 way (`clustered.lock`, they answer
 *   like workers) until they leave, enable ha-cluster and join again.
 */
import { randomBytes } from 'node:crypto';
import { calicoNodeImage } from './calico.ts';
import { minorOf, type ChannelRelease } from './catalogue.ts';
import { fail, ok, type CommandContext, type CommandResult } from './context.ts';
import { lacksPermission, permissionText } from './microk8s.ts';
import { PROVIDER_YAML, providerYaml, snapRestart } from './node-config.ts';
import { SimNode, SimState, sha } from './state.ts';

// ------------------------------------------------------------------ the membership world

/** A token `add-node` printed (tests check it never leaks and that retries use new ones). */
export interface IssuedToken {
  /** The node that ran `add-node` (its agent is the only one that accepts the token). */
  node: string;
  token: string;
  ttlSeconds?: number;
  expiresAt?: number;
  /** Joins that presented it. */
  uses: number;
  /** Removed from cluster-tokens.txt by its first valid use (tokens without a TTL). */
  consumed: boolean;
}

/** One `microk8s join` run, as the simulator saw it. */
export interface JoinAttempt {
  node: string;
  /** `ip:port` contacted. */
  target: string;
  token: string;
  worker: boolean;
  code: number;
  /** The error line the joining node printed, or `joined`. */
  outcome: string;
  at: number;
}

interface Host {
  /** Its own cluster when it is not a member of the main one. */
  view?: SimState;
  /** A pre-1.19 (etcd) node joined with clustered.lock. */
  legacy: boolean;
  /** Names `getent hosts` cannot resolve here (and the agent here cannot resolve in a join). */
  unresolvable: Set<string>;
  /** Addresses whose packets this host drops (a firewall): connections time out. */
  blocked: Set<string>;
  agentRunning: boolean;
  tokens: IssuedToken[];
}

class World {
  readonly hosts = new Map<SimNode, Host>();
  readonly issued: IssuedToken[] = [];
  readonly joins: JoinAttempt[] = [];

  constructor(readonly main: SimState) {}

  host(node: SimNode): Host {
    let h = this.hosts.get(node);
    if (!h) {
      h = { legacy: false, unresolvable: new Set(), blocked: new Set(), agentRunning: true, tokens: [] };
      this.hosts.set(node, h);
      // a host the main cluster does not list as itself is outside it: its own single node
      if (this.main.nodes.get(node.name) !== node && this.main.machines.get(node.name) === node) h.view = standaloneView(this.main, node, true);
    }
    return h;
  }

  byIp(ip: string): SimNode | undefined {
    return [...this.main.machines.values()].find((m) => m.ip === ip);
  }

  isMember(node: SimNode): boolean {
    return this.main.nodes.get(node.name) === node && this.host(node).view === undefined;
  }
}

const worlds = new WeakMap<SimState, World>();
/** view → the main state of its world */
const viewOwners = new WeakMap<SimState, SimState>();

function world(state: SimState): World {
  let w = worlds.get(state);
  if (!w) {
    w = new World(state);
    worlds.set(state, w);
  }
  return w;
}

/** A single-node MicroK8s of its own for a host outside the cluster. */
function standaloneView(main: SimState, node: SimNode, haCluster: boolean): SimState {
  const view = new SimState({ nodes: [], user: node.fs.user, workloads: false, now: main.now });
  viewOwners.set(view, main);
  view.nodes.set(node.name, node);
  view.machines.set(node.name, node);
  view.addons = new Set(haCluster ? ['dns', 'ha-cluster'] : ['dns']);
  node.role = 'control-plane';
  // a stand-in for its datastore (dqlite, or etcd before ha-cluster): the only voter
  node.dqliteRole = 'voter';
  return view;
}

/** A host that already belongs to another cluster, with peers the bot cannot reach. */
function otherClusterView(main: SimState, node: SimNode, as: 'control-plane' | 'worker'): SimState {
  const view = new SimState({ nodes: [], user: node.fs.user, workloads: false, now: main.now });
  viewOwners.set(view, main);
  const release: ChannelRelease = { version: node.version, revision: node.revision, kubeletVersion: node.kubeletVersion, released: '', sizeMb: 0 };
  for (let i = 0; i < 2; i++) {
    const peer = new SimNode(`peer-${i + 1}`, 'control-plane', 40 + i, `10.0.9.${11 + i}`, release, node.tracking, 1, node.fs.user, main.now(), view);
    peer.dqliteRole = 'voter';
    view.nodes.set(peer.name, peer);
    view.machines.set(peer.name, peer);
  }
  view.nodes.set(node.name, node);
  view.machines.set(node.name, node);
  node.role = as;
  node.dqliteRole = as === 'control-plane' ? 'voter' : undefined;
  return view;
}

export interface MembershipOptions {
  /** Hosts outside the cluster, and whether they already belong to another one. */
  specs: Array<{ name: string; joined?: boolean; otherCluster?: 'control-plane' | 'worker' }>;
  /** false: an old-style cluster (datastore on the first control-plane node, others joined pre-1.19). */
  haCluster?: boolean;
}

/** Sets up hosts outside the cluster and old-style clusters (called by startSimCluster). */
export function initMembership(state: SimState, options: MembershipOptions): void {
  const w = world(state);
  for (const spec of options.specs) {
    const node = state.machines.get(spec.name);
    if (!node || spec.joined !== false) continue;
    const h = w.host(node);
    h.view = spec.otherCluster ? otherClusterView(state, node, spec.otherCluster) : standaloneView(state, node, options.haCluster !== false);
  }
  if (options.haCluster === false) {
    state.addons.delete('ha-cluster');
    const members = state.nodeList();
    const master = members.find((n) => n.role === 'control-plane');
    for (const n of members) {
      if (n === master) {
        // its etcd, as far as quorum goes; status shows no HA without the ha-cluster lock
        n.dqliteRole = 'voter';
        continue;
      }
      n.dqliteRole = undefined;
      n.role = 'worker';
      w.host(n).legacy = true;
    }
  }
}

/** The cluster a host's commands see: the main one for members, its own otherwise. */
export function stateFor(state: SimState, node: SimNode): SimState {
  return world(state).host(node).view ?? state;
}

/** Handle for tests and the demo: tokens, join attempts, and the knobs of the network. */
export interface MembershipHandle {
  tokens(): readonly IssuedToken[];
  joins(): readonly JoinAttempt[];
  /** `getent hosts <name>` on `host` finds it (and the agent there can resolve a joiner called so). */
  setResolvable(host: string, name: string, resolvable: boolean): void;
  /** `host` drops packets to `ip` (connections time out). */
  setBlocked(host: string, ip: string, blocked: boolean): void;
  /** The cluster agent (port 25000) of `host` runs. */
  setAgentRunning(host: string, running: boolean): void;
  /** The host is a member of the cluster (a Node object of its own and, for a control plane, a dqlite member). */
  isMember(host: string): boolean;
  /** The host is outside the cluster and sees only its own MicroK8s. */
  isStandalone(host: string): boolean;
  /** The first 12 hex characters of the SHA-256 of the host's server.crt (add-node's `check`). */
  fingerprint(host: string): string;
}

export function simMembership(state: SimState): MembershipHandle {
  const w = world(state);
  const m = (name: string) => state.node(name);
  return {
    tokens: () => w.issued,
    joins: () => w.joins,
    setResolvable(host, name, resolvable) {
      const h = w.host(m(host));
      if (resolvable) h.unresolvable.delete(name);
      else h.unresolvable.add(name);
    },
    setBlocked(host, ip, blocked) {
      const h = w.host(m(host));
      if (blocked) h.blocked.add(ip);
      else h.blocked.delete(ip);
    },
    setAgentRunning(host, running) {
      w.host(m(host)).agentRunning = running;
    },
    isMember: (host) => w.isMember(m(host)),
    isStandalone: (host) => {
      const view = w.host(m(host)).view;
      return view !== undefined && view.nodeList().length === 1;
    },
    fingerprint: (host) => certFingerprint(m(host)).slice(0, 12),
  };
}

// ------------------------------------------------------------------ helpers

function certFingerprint(node: SimNode): string {
  return sha(`server.crt:${node.name}:${node.ip}`);
}

function isHaNode(w: World, node: SimNode): boolean {
  return (w.host(node).view ?? w.main).addons.has('ha-cluster');
}

/** At most 3 voters and 3 stand-bys among the control-plane members; promotes, never demotes. */
function rebalance(state: SimState): void {
  const members = state.nodeList().filter((n) => n.dqliteRole !== undefined && state.machines.get(n.name) === n);
  const byRole = (r: SimNode['dqliteRole']) => members.filter((n) => n.dqliteRole === r);
  const promote = (from: SimNode['dqliteRole'], to: SimNode['dqliteRole']) => {
    const candidates = byRole(from).toSorted((a, b) => Number(b.servicesRunning) - Number(a.servicesRunning));
    const next = candidates[0];
    if (next) next.dqliteRole = to;
    return next !== undefined;
  };
  while (byRole('voter').length < 3 && (promote('standby', 'voter') || promote('spare', 'voter')));
  while (byRole('standby').length < 3 && promote('spare', 'standby'));
}

/** The Kubernetes Node object a host leaves behind in the cluster (NotReady until removed). */
function leaveStaleNode(main: SimState, node: SimNode): void {
  const release: ChannelRelease = { version: node.version, revision: node.revision, kubeletVersion: node.kubeletVersion, released: '', sizeMb: 0 };
  const stale = new SimNode(node.name, node.role, node.index, node.ip, release, node.tracking, node.failureDomain, node.fs.user, main.now(), main);
  stale.up = false;
  stale.cordoned = node.cordoned;
  stale.dqliteRole = undefined;
  main.nodes.set(node.name, stale);
  main.reconcile();
}

/** Deletes a Node object: its pods go (the controllers start replacements elsewhere). */
function deleteNodeObject(state: SimState, name: string): void {
  state.nodes.delete(name);
  for (const pod of state.podsOn(name)) state.evict(pod);
  state.bump();
  state.reconcile();
}

function addressesOf(node: SimNode, minor: number): { defaultIp: string; all: string[] } {
  const all = [node.ip, '172.17.0.1'];
  if (minor >= 23) all.push(`fd42:9f1e:2c4b:1::${(node.index + 11).toString(16)}`);
  return { defaultIp: node.ip, all };
}

function agentMinorSaysGo(minor: number): boolean {
  return minor >= 25;
}

// ------------------------------------------------------------------ dispatch

/** `microk8s add-node|join|leave|remove-node|enable`; undefined for other subcommands. */
export async function membership(ctx: CommandContext, sub: string, args: string[]): Promise<CommandResult | undefined> {
  switch (sub) {
    case 'add-node':
      return addNode(ctx, args);
    case 'join':
      return join(ctx, args);
    case 'leave':
      return leave(ctx, args);
    case 'remove-node':
      return removeNode(ctx, args);
    case 'enable':
      return enable(ctx, args);
    default:
      return undefined;
  }
}

// ------------------------------------------------------------------ add-node

function addNodeUsage(minor: number): string {
  if (minor < 23) return 'usage: microk8s add-node [-h] [--token-ttl TOKEN_TTL] [--token TOKEN]\n';
  const formats = minor >= 24 ? '{pretty,short,token,token-check,json,yaml}' : '{pretty,short,token,token-check}';
  return `usage: microk8s add-node [-h] [--token-ttl TOKEN_TTL] [--token TOKEN]\n                         [--format ${formats}]\n`;
}

function addNodeHelp(minor: number): string {
  let s = `${addNodeUsage(minor)}\nProduce a connection string for a node to join the cluster.\n\noptions:\n  -h, --help            show this help message and exit\n`;
  s += '  --token-ttl TOKEN_TTL, -l TOKEN_TTL\n                        Specify how long the token is valid, before it\n                        expires. Value of "-1" indicates that the token is\n                        usable only once (i.e. after joining a node, the token\n                        becomes invalid)\n';
  s += '  --token TOKEN, -t TOKEN\n                        Specify the bootstrap token to add, must be 32\n                        characters long. Auto generates when empty.\n';
  if (minor >= 23) s += `  --format ${minor >= 24 ? '{pretty,short,token,token-check,json,yaml}' : '{pretty,short,token,token-check}'}\n                        Format the output of the token in pretty, short,\n                        token, or token-check\n`;
  return s;
}

async function addNode(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const { node } = ctx;
  const minor = minorOf(node.version);
  if (node.role === 'worker') return { stdout: 'This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s add-node on the master.\n', stderr: '', code: 1 };
  if (args.join(' ').includes('help')) return ok(addNodeHelp(minor));
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  if (node.stopped) return fail(1, 'microk8s is not running, try microk8s start\n');
  const argError = (msg: string) => fail(2, `${addNodeUsage(minor)}microk8s add-node: error: ${msg}\n`);
  let ttl = -1;
  let token: string | undefined;
  let format = 'pretty';
  const unknown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    const eq = a.startsWith('--') && a.includes('=') ? a.indexOf('=') : -1;
    const flag = eq >= 0 ? a.slice(0, eq) : a;
    const value = (): string | undefined => (eq >= 0 ? a.slice(eq + 1) : args[++i]);
    if (flag === '--token-ttl' || flag === '-l') {
      const v = value();
      if (v === undefined) return argError('argument --token-ttl/-l: expected one argument');
      if (!/^\s*[-+]?\d+\s*$/.test(v)) return argError(`argument --token-ttl/-l: invalid int value: '${v}'`);
      ttl = Number(v);
    } else if (flag === '--token' || flag === '-t') {
      const v = value();
      if (v === undefined) return argError('argument --token/-t: expected one argument');
      token = v;
    } else if (flag === '--format' && minor >= 23) {
      const v = value();
      const choices = minor >= 24 ? ['pretty', 'short', 'token', 'token-check', 'json', 'yaml'] : ['pretty', 'short', 'token', 'token-check'];
      if (v === undefined) return argError('argument --format: expected one argument');
      if (!choices.includes(v)) return argError(`argument --format: invalid choice: '${v}' (choose from ${choices.map((c) => `'${c}'`).join(', ')})`);
      format = v;
    } else unknown.push(a);
  }
  if (unknown.length > 0) return argError(`unrecognized arguments: ${unknown.join(' ')}`);
  const tok = token ?? randomBytes(16).toString('hex');
  if (tok.length < 32) return { stdout: 'Invalid token size.  It must be 32 characters long.\n', stderr: '', code: 1 };
  await ctx.sleep(ctx.latency.defaultMs);
  const w = world(ctxMain(ctx));
  const issued: IssuedToken = { node: node.name, token: tok, uses: 0, consumed: false };
  if (ttl !== -1) {
    issued.ttlSeconds = ttl;
    issued.expiresAt = ctx.state.now() + ttl * 1000;
  }
  w.host(node).tokens.push(issued);
  w.issued.push(issued);
  const check = certFingerprint(node).slice(0, 12);
  const { defaultIp, all } = addressesOf(node, minor);
  const url = (ip: string) => `${ip}:25000/${tok}/${check}`;
  let out: string;
  if (format === 'token') out = `${tok}\n`;
  else if (format === 'token-check') out = `${tok}/${check}\n`;
  else if (format === 'short') out = [defaultIp, ...all.filter((ip) => ip !== defaultIp)].map((ip) => `microk8s join ${url(ip)}\n`).join('');
  else if (format === 'json') out = `${JSON.stringify({ token: `${tok}/${check}`, urls: all.map(url) }, null, 2)}\n`;
  else if (format === 'yaml') out = `token: ${tok}/${check}\nurls:\n${all.map((ip) => `- ${url(ip)}\n`).join('')}\n`;
  else if (minor < 23) {
    // the bash wrapper: IPv4 alternatives, each with a leading space
    out = `From the node you wish to join to this cluster, run the following:\nmicrok8s join ${url(defaultIp)}\n\nIf the node you are adding is not reachable through the default interface you can use one of the following:\n`;
    out += all.filter((ip) => !ip.includes(':')).map((ip) => ` microk8s join ${url(ip)}\n`).join('');
  } else {
    const blank = minor < 25 ? '\n' : '';
    out = `From the node you wish to join to this cluster, run the following:\nmicrok8s join ${url(defaultIp)}\n${blank}\n`;
    if (ctx.state.addons.has('ha-cluster')) {
      out += `Use the '--worker' flag to join a node as a worker not running the control plane, eg:\nmicrok8s join ${url(defaultIp)} --worker\n${blank}\n`;
    }
    out += 'If the node you are adding is not reachable through the default interface you can use one of the following:\n';
    out += all.map((ip) => `microk8s join ${url(ip)}\n`).join('');
  }
  return ok(out);
}

/** The main state, from a command running on any host (its own view or the cluster). */
function ctxMain(ctx: CommandContext): SimState {
  return viewOwners.get(ctx.state) ?? ctx.state;
}

/** The node this command runs on drops packets to `ip` (`setBlocked`): a connection there times out. */
export function dropsPacketsTo(ctx: CommandContext, ip: string): boolean {
  return world(ctxMain(ctx)).host(ctx.node).blocked.has(ip);
}

// ------------------------------------------------------------------ join

const JOIN_USAGE_122 = "Join a cluster: microk8s join <master>:<port>/<token> [options]\n\nOptions:\n--skip-verify  skip the certificate verification of the node we are joining to (default: false).\n";
const JOIN_USAGE = "Usage: microk8s join [OPTIONS] CONNECTION\nTry 'microk8s join -h' for help.\n";

interface JoinArgs {
  connection: string;
  worker: 'as-worker' | 'as-master' | undefined;
  skipVerify: boolean;
}

function parseJoinArgs(args: string[], minor: number): JoinArgs | CommandResult {
  let worker: JoinArgs['worker'];
  let skipVerify = false;
  const positional: string[] = [];
  for (const a of args) {
    if (minor < 23) {
      if (a === '-h' || a === '--help') return { stdout: JOIN_USAGE_122, stderr: '', code: 1 };
      if (a === '-f' || a === '--force') continue;
      if (a === '-s' || a === '--skip-verify') skipVerify = true;
      else if (a.startsWith('-')) return { stdout: `option ${a} not recognized\n${JOIN_USAGE_122}`, stderr: '', code: 2 };
      else positional.push(a);
      continue;
    }
    if (a === '-h' || a === '--help') {
      return ok(
        'Usage: microk8s join [OPTIONS] CONNECTION\n\n  Join the node to a cluster\n\n  CONNECTION: the cluster connection endpoint in format <master>:<port>/<token>\n\nOptions:\n  --worker                    Join as a worker only node.\n  --controlplane              Join running the control plane on HA clusters.\n                              (default)\n  --skip-verify               Skip the certificate verification of the node we\n                              are joining to. (default: false)\n  --disable-low-memory-guard  Disable the low memory guard. (default: false)\n  -h, --help                  Show this message and exit.\n',
      );
    }
    if (a === '--worker') worker = 'as-worker';
    else if (a === '--controlplane') worker = 'as-master';
    else if (a === '--skip-verify') skipVerify = true;
    else if (a.startsWith('-')) continue; // click: ignore_unknown_options
    else positional.push(a);
  }
  const connection = positional[0];
  if (connection === undefined) {
    if (minor < 23) return { stdout: `Please provide a connection string.\n${JOIN_USAGE_122}`, stderr: '', code: 4 };
    return fail(2, `${JOIN_USAGE}\nError: Missing argument 'CONNECTION'.\n`);
  }
  return { connection, worker, skipVerify };
}

function traceback(node: SimNode, minor: number, error: string): string {
  const dir = minor < 25 ? 'cluster' : 'wrappers';
  const py = minor < 24 ? 'python3.6' : 'python3.8';
  const snap = `/snap/microk8s/${node.revision}`;
  return [
    'Traceback (most recent call last):',
    `  File "${snap}/scripts/${dir}/join.py", line 1098, in <module>`,
    '    join(prog_name="microk8s join")',
    `  File "${snap}/scripts/${dir}/join.py", line 989, in join_dqlite`,
    '    fingerprint=fingerprint,',
    `  File "${snap}/scripts/${dir}/join.py", line 130, in get_connection_info`,
    '    conn.connect()',
    `  File "${snap}/usr/lib/${py}/http/client.py", line 1392, in connect`,
    '    super().connect()',
    `  File "${snap}/usr/lib/${py}/http/client.py", line 936, in connect`,
    '    (self.host,self.port), self.timeout, self.source_address)',
    `  File "${snap}/usr/lib/${py}/socket.py", line 724, in create_connection`,
    '    raise err',
    `  File "${snap}/usr/lib/${py}/socket.py", line 713, in create_connection`,
    '    sock.connect(sa)',
    error,
    '',
  ].join('\n');
}

const CLOCK_LIMIT_S = 60;

async function join(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const joiner = ctx.node;
  const minor = minorOf(joiner.version);
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  const parsed = parseJoinArgs(args, minor);
  if ('code' in parsed) return parsed;
  const main = ctxMain(ctx);
  const w = world(main);
  const [endpoint = '', token, fingerprint] = parsed.connection.split('/');
  const colon = endpoint.lastIndexOf(':');
  if (token === undefined || colon < 0) {
    return { stdout: '', stderr: `${traceback(joiner, minor, 'IndexError: list index out of range').split('\n').slice(0, 3).join('\n')}\nIndexError: list index out of range\n`, code: 1 };
  }
  const ip = endpoint.slice(0, colon);
  const port = endpoint.slice(colon + 1);
  let stdout = `Contacting cluster at ${ip}\n`;
  const record = (code: number, outcome: string) => {
    w.joins.push({ node: joiner.name, target: `${ip}:${port}`, token, worker: parsed.worker !== undefined, code, outcome, at: Date.now() });
  };
  const done = (code: number, line: string, extra = ''): CommandResult => {
    record(code, line);
    return { stdout: `${stdout}${line}\n${extra}`, stderr: '', code };
  };

  // TCP to the agent
  const target = w.byIp(ip);
  const me = w.host(joiner);
  if (!target || !target.up || me.blocked.has(ip)) {
    await ctx.sleep(ctx.latency.restartMs);
    const error = target || me.blocked.has(ip) ? 'TimeoutError: [Errno 110] Connection timed out' : 'OSError: [Errno 113] No route to host';
    record(1, error);
    return { stdout, stderr: traceback(joiner, minor, error), code: 1 };
  }
  const there = w.host(target);
  if (target.stopped || !there.agentRunning || port !== '25000') {
    const error = 'ConnectionRefusedError: [Errno 111] Connection refused';
    record(1, error);
    return { stdout, stderr: traceback(joiner, minor, error), code: 1 };
  }
  // TLS: the fingerprint, and certificates the joining node's clock cannot accept
  if (fingerprint !== undefined && !parsed.skipVerify) {
    if (fingerprint.length < 12) return done(4, "Joining cluster failed. Fingerprint too short. Use '--skip-verify' to skip server certificate check.");
    if (!certFingerprint(target).startsWith(fingerprint)) {
      return done(4, `Joining cluster failed. Could not verify the identity of ${ip}. Use '--skip-verify' to skip server certificate check.`);
    }
  }
  const skew = joiner.clockSkewSeconds - target.clockSkewSeconds;
  if (Math.abs(skew) > CLOCK_LIMIT_S) {
    const why = skew < 0 ? 'certificate is not yet valid' : 'certificate has expired';
    return done(4, `Peer node verification failed ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ${why} (_ssl.c:1131)).`);
  }

  // the agent on the contacted node
  const targetState = there.view ?? main;
  const targetMinor = minorOf(target.version);
  const goAgent = agentMinorSaysGo(targetMinor);
  const now = ctx.state.now();
  const entry = there.tokens.find((t) => t.token === token && !t.consumed && (t.expiresAt === undefined || t.expiresAt > now));
  const anyEntry = w.issued.find((t) => t.token === token);
  if (anyEntry) anyEntry.uses++;
  await ctx.sleep(ctx.latency.defaultMs);
  if (!entry) return done(6, 'Connection failed. Invalid token (500).');
  if (entry.expiresAt === undefined) entry.consumed = true;
  const joinerHa = isHaNode(w, joiner);
  const targetHa = targetState.addons.has('ha-cluster');
  if (!joinerHa) {
    return done(6, targetHa ? "Connection failed. Failed to join the cluster. This is an HA dqlite cluster.\nPlease retry after enabling HA on this joining node with 'microk8s enable ha-cluster' (501)." : 'mk8s-sim: joins between pre-1.19 (etcd) nodes are not simulated');
  }
  if (!targetHa) return done(6, `Connection failed. Not possible to join. This is not an HA ${goAgent ? 'MicroK8s' : 'dqlite'} cluster (501).`);
  if (joiner.ip === target.ip) return done(6, `Connection failed. The joining node has the same IP (${ip}) as the node we contact (503).`);
  if (there.unresolvable.has(joiner.name)) {
    return done(6, `Connection failed. The hostname (${joiner.name}) of the joining node does not resolve to the IP "${joiner.ip}". Refusing join (400).`);
  }
  const known = targetState.nodeList().some((n) => n.dqliteRole !== undefined && n.ip === joiner.ip && targetState.machines.get(n.name) === n && n !== target);
  if (known) {
    return done(
      6,
      targetMinor >= 28
        ? `Connection failed. Failed to retrieve dqlite cluster nodes: the joining node (${joiner.ip}) is already known to dqlite (500).`
        : `Connection failed. The joining node (${joiner.ip}) is already known to dqlite (504).`,
    );
  }
  const asWorker = parsed.worker !== undefined; // --controlplane takes the worker path too (reference §2)
  if (asWorker && (parsed.worker === 'as-master' || targetMinor < 23)) {
    return done(1, 'Joining process failed. Make sure the cluster you connect to supports joining worker nodes.');
  }

  // joined: the host becomes a member of the target's cluster
  const old = me.view;
  if (old) old.nodes.delete(joiner.name);
  me.view = targetState === main ? undefined : targetState;
  me.legacy = false;
  const stale = targetState.nodes.get(joiner.name);
  joiner.cordoned = stale !== undefined && stale !== joiner ? stale.cordoned : false;
  targetState.nodes.set(joiner.name, joiner);
  if (targetState !== main) targetState.machines.set(joiner.name, joiner);
  joiner.role = asWorker ? 'worker' : 'control-plane';
  joiner.dqliteRole = asWorker ? undefined : 'spare';
  joiner.stopped = false;
  joiner.restartingUntil = now + ctx.latency.restartMs;
  if (!targetState.podsOn(joiner.name).some((p) => p.app === 'calico-node')) {
    targetState.addPod({ namespace: 'kube-system', app: 'calico-node', labels: { 'k8s-app': 'calico-node', 'controller-revision-hash': '7d8f6c4b9', 'pod-template-generation': '1' }, owner: { kind: 'DaemonSet', name: 'calico-node' }, nodeName: joiner.name, image: calicoNodeImage(targetState), hostNetwork: true });
  }
  rebalance(targetState);
  targetState.bump();
  targetState.reconcile();
  await ctx.sleep(ctx.latency.restartMs);
  if (asWorker) {
    const endpoints = targetState.nodeList().filter((n) => n.role === 'control-plane' && n.dqliteRole !== undefined).map((n) => `${n.ip}:16443`);
    joiner.fs.mkdirp(`/var/snap/microk8s/${joiner.revision}/args/traefik`, true);
    joiner.fs.writeFile(PROVIDER_YAML, Buffer.from(providerYaml(endpoints)), true, now);
    await snapRestart({ ...ctx, state: targetState, root: true }, ['microk8s.daemon-apiserver-proxy']);
    if (targetMinor < 25 && minor < 25) {
      const others = endpoints.map((e) => e.replace(/:16443$/, '')).filter((e) => e !== ip);
      stdout += `\nThe node has joined the cluster and will appear in the nodes list in a few seconds.\n\nCurrently this worker node is configured with the following kubernetes API server endpoints:\n    - ${ip} and port 16443, this is the cluster node contacted during the join operation.\n${others.map((o) => `    - ${o} assuming port 16443\n`).join('')}\nIf the above endpoints are incorrect, incomplete or if the API servers are behind a loadbalancer please update\n/var/snap/microk8s/current/args/traefik/provider.yaml\n\n`;
    } else {
      stdout +=
        "\nThe node has joined the cluster and will appear in the nodes list in a few seconds.\n\nThis worker node gets automatically configured with the API server endpoints.\nIf the API servers are behind a loadbalancer please set the '--refresh-interval' to '0s' in:\n    /var/snap/microk8s/current/args/apiserver-proxy\nand replace the API server endpoints with the one provided by the loadbalancer in:\n    /var/snap/microk8s/current/args/traefik/provider.yaml\n\n";
    }
  } else {
    stdout += 'Waiting for this node to finish joining the cluster. .. .. .. .  \n';
  }
  if (minor >= 29) stdout += 'Successfully joined the cluster.\n';
  record(0, 'joined');
  return ok(stdout);
}

// ------------------------------------------------------------------ leave

const ONLY_VOTER =
  "This node currently holds the only copy of the Kubernetes database so it cannot leave the cluster.\nTo remove this node you can either first remove all other nodes with 'microk8s remove-node' or\nform a highly available cluster by adding at least three nodes.\n";

async function leave(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const node = ctx.node;
  const minor = minorOf(node.version);
  if (node.stopped) return fail(1, 'microk8s is not running, try microk8s start\n');
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  if (args.some((a) => a === '-h' || a === '--help')) {
    return ok('Usage: microk8s leave [OPTIONS]\n\n  The node will depart from the cluster it is in.\n\nOptions:\n  -h, --help  Show this message and exit.\n');
  }
  const main = ctxMain(ctx);
  const w = world(main);
  const me = w.host(node);
  const restart = async (): Promise<void> => {
    await ctx.sleep(ctx.latency.restartMs);
    node.restartingUntil = ctx.state.now() + ctx.latency.restartMs;
  };
  const standard = 'Generating new cluster certificates.\nWaiting for node to start. .  \n';
  if (me.view && me.view.nodeList().length === 1) {
    // not in a cluster: 1.28+ says so; before, the dqlite reset runs on the single node
    if (minor >= 28 || !me.view.addons.has('ha-cluster')) return { stdout: 'This MicroK8s deployment is not acting as a node in a cluster.\n', stderr: '', code: 1 };
    await restart();
    return ok(standard);
  }
  const home = me.view ?? main;
  if (me.legacy) {
    // reset_current_etcd_installation: the lock and certificates go, MicroK8s restarts on its own
    await restart();
    detach(w, node, home, false);
    return ok('Stopped.\nStarted.\n');
  }
  if (node.role === 'worker') {
    await restart();
    detach(w, node, home, true);
    return ok(`Configuring services.\n${standard}`);
  }
  const voters = home.nodeList().filter((n) => n.dqliteRole === 'voter' && home.machines.get(n.name) === n);
  const members = home.nodeList().filter((n) => n.dqliteRole !== undefined && home.machines.get(n.name) === n);
  if (voters.length === 1 && voters[0] === node && members.length > 1) return { stdout: ONLY_VOTER, stderr: '', code: 3 };
  await ctx.sleep(ctx.latency.restartMs);
  if (!home.hasQuorum()) {
    const other = members.find((m) => m !== node);
    const b = `/var/snap/microk8s/${node.revision}/var/kubernetes/backend`;
    return {
      stdout: `Contacting node ${other?.dqliteAddress ?? '127.0.0.1:19001'} failed. Error:\nCalledProcessError(1, ['/snap/microk8s/${node.revision}/bin/dqlite', '-s', 'file://${b}/cluster.yaml', '-c', '${b}/cluster.crt', '-k', '${b}/cluster.key', '-f', 'json', 'k8s', '.remove ${node.dqliteAddress}'])\n`,
      stderr: 'Error: remove node: context deadline exceeded\n',
      code: 2,
    };
  }
  detach(w, node, home, true);
  node.restartingUntil = ctx.state.now() + ctx.latency.restartMs;
  return ok(standard);
}

/** The host leaves `home`: a stale Node object stays there, the host runs a single node of its own. */
function detach(w: World, node: SimNode, home: SimState, haCluster: boolean): void {
  const h = w.host(node);
  if (home.nodes.get(node.name) === node) leaveStaleNode(home, node);
  if (home !== w.main) home.machines.delete(node.name);
  h.view = standaloneView(w.main, node, haCluster);
  h.legacy = false;
  node.cordoned = false;
  rebalance(home);
  home.bump();
  home.reconcile();
}

// ------------------------------------------------------------------ remove-node

async function removeNode(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const node = ctx.node;
  const minor = minorOf(node.version);
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  if (node.role === 'worker') return { stdout: 'This MicroK8s deployment is acting as a node in a cluster. Please use microk8s leave.\n', stderr: '', code: 1 };
  if (args.length === 0) return { stdout: 'Please provide the node you want to remove.\n', stderr: '', code: 1 };
  const state = ctx.state;
  const ha = state.addons.has('ha-cluster');
  if (ha && args.length === 2 && args[1] !== '--force') return { stdout: 'Please provide the node and the optional --force flag.\n', stderr: '', code: 1 };
  const force = args.slice(1).includes('--force');
  const given = args[0] ?? '';
  const w = world(ctxMain(ctx));
  await ctx.sleep(ctx.latency.defaultMs);
  if (!node.servicesRunning || !state.hasQuorum()) {
    return { stdout: '', stderr: 'The connection to the server 127.0.0.1:16443 was refused - did you specify the right host or port?\n', code: 1 };
  }
  const byIp = state.nodeList().find((n) => n.ip === given);
  const name = byIp?.name ?? given;
  const target = state.nodes.get(name);
  if (!ha) {
    if (!target) return { stdout: `Node ${name} does not exist.\n`, stderr: '', code: 1 };
    deleteNodeObject(state, name);
    return ok();
  }
  const members = state.nodeList().filter((n) => n.dqliteRole !== undefined && state.machines.get(n.name) === n && n !== node);
  if (!target) {
    let out = `Node ${name} does not exist in Kubernetes.\n`;
    if (force) {
      out += `Attempting to remove ${name} from dqlite.\n`;
      const entry = members.find((m) => m.dqliteAddress.startsWith(`${name}:`));
      if (entry) {
        out += 'Removing node entry found in dqlite.\n';
        cutOff(w, state, entry, false);
      }
    }
    return { stdout: out, stderr: `Error from server (NotFound): nodes "${name}" not found\n`, code: 1 };
  }
  const entry = members.find((m) => m.dqliteAddress.startsWith(`${target.ip}:`));
  if (entry && !force) {
    return {
      stdout: `Removal failed. Node ${name} is registered with dqlite. Please, run first 'microk8s leave' on the departing node. \nIf the node is not available anymore and will never attempt to join the cluster in the future use the '--force' flag \nto unregister the node while removing it.\n`,
      stderr: '',
      code: 1,
    };
  }
  if (entry) cutOff(w, state, entry, true);
  deleteNodeObject(state, name);
  rebalance(state);
  return ok();
}

/** dqlite `.remove`: the host is no longer part of this cluster (it runs on with a datastore of its own). */
function cutOff(w: World, state: SimState, host: SimNode, hasNodeObject: boolean): void {
  const listed = state.nodes.get(host.name) === host;
  // its Node object stays until `kubectl delete no`
  if (listed && hasNodeObject) leaveStaleNode(state, host);
  else if (listed) state.nodes.delete(host.name);
  w.host(host).view = standaloneView(w.main, host, true);
  rebalance(state);
}

// ------------------------------------------------------------------ enable ha-cluster

async function enable(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const node = ctx.node;
  const minor = minorOf(node.version);
  const addons = args.filter((a) => !a.startsWith('-'));
  if (addons.length === 0) return fail(2, "Usage: microk8s enable [OPTIONS] ADDONS...\nTry 'microk8s enable -h' for help.\n\nError: Missing argument 'ADDONS...'.\n");
  const wanted = addons[0]?.replace(/^core\//, '');
  if (wanted !== 'ha-cluster' || addons.length > 1) return fail(1, `mk8s-sim: \`microk8s enable ${addons.join(' ')}\` is not simulated (only ha-cluster)\n`);
  if (node.role === 'worker') return { stdout: 'This MicroK8s deployment is acting as a node in a cluster.\nPlease use the master node.\n', stderr: '', code: 1 };
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  if (node.stopped) return fail(1, 'microk8s is not running, try microk8s start\n');
  const infer = minor >= 24 ? 'Infer repository core for addon ha-cluster\n' : '';
  const state = ctx.state;
  if (state.addons.has('ha-cluster')) {
    return { stdout: minor >= 24 ? 'Addon core/ha-cluster is already enabled\n' : 'Addon ha-cluster is already enabled.\n', stderr: infer, code: 0 };
  }
  const readyNodes = state.nodeList().filter((n) => state.isReady(n)).length;
  await ctx.sleep(ctx.latency.restartMs);
  state.addons.add('ha-cluster');
  node.dqliteRole = 'voter';
  node.restartingUntil = state.now() + ctx.latency.restartMs;
  state.bump();
  state.reconcile();
  let out =
    'Enabling HA\nUpgrading the network CNI\nWaiting for the cluster to restart\nWaiting for the CNI to deploy\ndaemon set "calico-node" successfully rolled out\ndeployment "calico-kube-controllers" successfully rolled out\nConfiguring the datastore\nWaiting for the cluster to start with the new datastore\n\nThe node is now HA ready. Join three or more nodes to form an HA cluster.\n\n';
  if (readyNodes >= 2) out += 'The worker nodes already joined to this master need to be removed them and re-joined.\n';
  return { stdout: out, stderr: infer, code: 0 };
}

// ------------------------------------------------------------------ getent, nc

function resolveName(w: World, from: SimNode, name: string): string | undefined {
  if (w.host(from).unresolvable.has(name)) return undefined;
  if (name === 'localhost') return '127.0.0.1';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return name;
  return w.main.machines.get(name)?.ip;
}

/** `getent hosts [KEY...]` (glibc): `%-15s %s` per address; exit 2 when a key is not found. */
export function getent(ctx: CommandContext, args: string[]): CommandResult {
  const [db, ...keys] = args;
  if (db === undefined) return fail(1, 'Usage: getent [OPTION...] database [key ...]\nTry `getent --help\' or `getent --usage\' for more information.\n');
  if (db !== 'hosts' && db !== 'ahostsv4') return fail(1, `Unknown database: ${db}\nTry \`getent --help' or \`getent --usage' for more information.\n`);
  const w = world(ctxMain(ctx));
  const line = (ip: string, name: string) => `${ip.padEnd(15)} ${name}\n`;
  if (keys.length === 0) {
    let out = line('127.0.0.1', 'localhost');
    for (const m of w.main.machines.values()) if (!w.host(ctx.node).unresolvable.has(m.name)) out += line(m.ip, m.name);
    return ok(out);
  }
  let out = '';
  let missing = false;
  for (const key of keys) {
    const ip = resolveName(w, ctx.node, key);
    if (ip === undefined) {
      missing = true;
      continue;
    }
    const name = /^\d/.test(key) ? ([...w.main.machines.values()].find((m) => m.ip === key)?.name ?? key) : key;
    out += line(ip, name);
  }
  return { stdout: out, stderr: '', code: missing ? 2 : 0 };
}

/** Ports that answer on a simulated host. */
function portOpen(host: SimNode, agentRunning: boolean, port: number): boolean {
  if (!host.up) return false;
  if (port === 22) return true;
  if (host.stopped) return false;
  if (port === 25000) return agentRunning;
  if (port === 10250) return true;
  if (port === 16443 || port === 19001) return host.role === 'control-plane' && host.servicesRunning;
  return false;
}

/** `nc -z [-v] [-w N] HOST PORT` (netcat-openbsd): a TCP connect, nothing sent. */
export async function nc(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  let zero = false;
  let verbose = false;
  let waitS: number | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        if (c === 'z') zero = true;
        else if (c === 'v') verbose = true;
        else if (c === 'n' || c === '4') continue;
        else if (c === 'w') {
          const rest = a.slice(j + 1);
          const v = rest !== '' ? rest : args[++i];
          if (v === undefined || !/^\d+$/.test(v)) return fail(1, `nc: timeout invalid: ${v ?? ''}\n`);
          waitS = Number(v);
          break;
        } else return fail(1, `nc: invalid option -- '${c ?? ''}'\nusage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n\t  [-m minttl] [-O length] [-P proxy_username] [-p source_port]\n\t  [-q seconds] [-s sourceaddr] [-T keyword] [-V rtable] [-W recvlimit]\n\t  [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]]\n\t  [destination] [port]\n`);
      }
    } else positional.push(a);
  }
  if (!zero) return fail(1, 'mk8s-sim: only `nc -z` (a connect check) is simulated\n');
  const [hostArg, portArg] = positional;
  if (hostArg === undefined || portArg === undefined || !/^\d+$/.test(portArg)) return fail(1, 'usage: nc [-46CDdFhklNnrStUuvZz] [destination] [port]\n');
  const w = world(ctxMain(ctx));
  const ip = resolveName(w, ctx.node, hostArg);
  if (ip === undefined) return fail(1, `nc: getaddrinfo for host "${hostArg}" port ${portArg}: Name or service not known\n`);
  const target = w.byIp(ip);
  const port = Number(portArg);
  const me = w.host(ctx.node);
  const say = (s: string) => (verbose ? s : '');
  if (target === ctx.node || ip === '127.0.0.1') {
    return portOpen(ctx.node, me.agentRunning, port) ? ok('', say(`Connection to ${hostArg} ${port} port [tcp/*] succeeded!\n`)) : fail(1, say(`nc: connect to ${hostArg} port ${port} (tcp) failed: Connection refused\n`));
  }
  if (target && !target.up && target.portAnswersWhenDown && port === 19001 && !me.blocked.has(ip)) return ok('', say(`Connection to ${hostArg} ${port} port [tcp/*] succeeded!\n`));
  if (!target || !target.up || me.blocked.has(ip)) {
    await ctx.sleep(Math.min((waitS ?? 5) * 1000, ctx.latency.restartMs));
    if (!target) return fail(1, say(`nc: connect to ${hostArg} port ${port} (tcp) failed: No route to host\n`));
    return fail(1, say(`nc: connect to ${hostArg} port ${port} (tcp) timed out: Operation now in progress\n`));
  }
  if (!portOpen(target, w.host(target).agentRunning, port)) return fail(1, say(`nc: connect to ${hostArg} port ${port} (tcp) failed: Connection refused\n`));
  return ok('', say(`Connection to ${hostArg} ${port} port [tcp/*] succeeded!\n`));
}
