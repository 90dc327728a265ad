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
 *
 * Where (src/sim/membership/): the world of hosts, tokens and join attempts (world.ts), dqlite
 * roles and what a departing host leaves behind (roles.ts), `add-node` (add-node.ts), `join`
 * (join.ts), `leave` and `remove-node` (leave.ts), `enable ha-cluster` (ha-cluster.ts), `getent`
 * and `nc` (network.ts). This file sets the world up (initMembership), hands tests its knobs
 * (simMembership) and dispatches the subcommands.
 */
import type { CommandContext, CommandResult } from './context.ts';
import { addNode } from './membership/add-node.ts';
import { join } from './membership/join.ts';
import { enable } from './membership/ha-cluster.ts';
import { leave, removeNode } from './membership/leave.ts';
import { certFingerprint, otherClusterView, standaloneView, world, type IssuedToken, type JoinAttempt } from './membership/world.ts';
import type { SimNode } from './node.ts';
import type { SimState } from './state.ts';

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
