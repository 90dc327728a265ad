/**
 * The membership world of the simulated hosts (../membership.ts): one per main SimState — every
 * host's membership facts (its own cluster "view" when it is outside the main one, the pre-1.19
 * lock, what it cannot resolve or reach, its cluster agent, the tokens it issued) and every token
 * and join attempt, for tests. A host outside the cluster runs a single-node MicroK8s of its own
 * (`standaloneView`), or belongs to another cluster with peers the bot cannot reach.
 */
import type { ChannelRelease } from '../catalogue.ts';
import type { CommandContext } from '../context.ts';
import { sha } from '../ids.ts';
import { SimNode } from '../node.ts';
import { SimState } from '../state.ts';

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

export class World {
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

export function world(state: SimState): World {
  let w = worlds.get(state);
  if (!w) {
    w = new World(state);
    worlds.set(state, w);
  }
  return w;
}

/** A single-node MicroK8s of its own for a host outside the cluster. */
export function standaloneView(main: SimState, node: SimNode, haCluster: boolean): SimState {
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
export function otherClusterView(main: SimState, node: SimNode, as: 'control-plane' | 'worker'): SimState {
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

export function certFingerprint(node: SimNode): string {
  return sha(`server.crt:${node.name}:${node.ip}`);
}

export function isHaNode(w: World, node: SimNode): boolean {
  return (w.host(node).view ?? w.main).addons.has('ha-cluster');
}

/** The main state, from a command running on any host (its own view or the cluster). */
export function ctxMain(ctx: CommandContext): SimState {
  return viewOwners.get(ctx.state) ?? ctx.state;
}
