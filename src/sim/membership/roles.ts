/**
 * dqlite roles and what a departing host leaves behind (../membership.ts): at most 3 voters and
 * 3 stand-bys, promoted as members come and go; a host that leaves keeps a stale NotReady Node
 * object in the cluster until `remove-node` deletes it (its pods go with it); a host cut off
 * from the cluster runs on with a datastore of its own.
 */
import type { ChannelRelease } from '../catalogue.ts';
import { SimNode } from '../node.ts';
import type { SimState } from '../state.ts';
import { standaloneView, type World } from './world.ts';

/** At most 3 voters and 3 stand-bys among the control-plane members; promotes, never demotes. */
export function rebalance(state: SimState): void {
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
export function leaveStaleNode(main: SimState, node: SimNode): void {
  const release: ChannelRelease = { version: node.version, revision: node.revision, kubeletVersion: node.kubeletVersion, released: '', sizeMb: 0 };
  const stale = new SimNode(node.name, node.role, node.index, node.ip, release, node.tracking, node.failureDomain, node.fs.user, main.now(), main);
  stale.up = false;
  stale.cordoned = node.cordoned;
  stale.dqliteRole = undefined;
  main.nodes.set(node.name, stale);
  main.reconcile();
}

/** Deletes a Node object: its pods go (the controllers start replacements elsewhere). */
export function deleteNodeObject(state: SimState, name: string): void {
  state.nodes.delete(name);
  for (const pod of state.podsOn(name)) state.evict(pod);
  state.bump();
  state.reconcile();
}

/** The host leaves `home`: a stale Node object stays there, the host runs a single node of its own. */
export function detach(w: World, node: SimNode, home: SimState, haCluster: boolean): void {
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

/** dqlite `.remove`: the host is no longer part of this cluster (it runs on with a datastore of its own). */
export function cutOff(w: World, state: SimState, host: SimNode, hasNodeObject: boolean): void {
  const listed = state.nodes.get(host.name) === host;
  // its Node object stays until `kubectl delete no`
  if (listed && hasNodeObject) leaveStaleNode(state, host);
  else if (listed) state.nodes.delete(host.name);
  w.host(host).view = standaloneView(w.main, host, true);
  rebalance(state);
}
