/**
 * Joining and leaving, shared by add-node, remove-node and enable-ha (the seed's 添加节点,
 * 删除节点 and 升级现有集群; ../shared/reference/microk8s-cli.md §1–3, §8):
 *
 * - Cluster-wide commands (`add-node`, `remove-node`, kubectl) run on a control-plane node the
 *   bot picks: a member that answers kubectl, sees itself Ready and carries the control-plane
 *   label — never a worker (which refuses them) and never the node being added or removed.
 * - A join token is made by `microk8s add-node --token-ttl <short>` and used by `microk8s join`
 *   inside ONE step: it never reaches a step result (job data), the thread or the logs, and the
 *   SSH layer masks it (`ExecOptions.secrets`) in errors and the audit trail. Every attempt
 *   makes a fresh token: a default token is consumed even by a join that fails later.
 * - A failed join is reported with the first real error the joining node printed.
 * - `join --controlplane` is never used (it takes the worker path and burns the token); a
 *   control-plane join passes no flag. `remove-node <node> --force` puts the flag after the name.
 */
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import { kubeMinor } from '../microk8s/channels.ts';
import type { HaMember, KubeNode, MicroK8sStatus } from '../microk8s/types.ts';
import { joinCandidates, type JoinUrl } from '../microk8s/parse-join.ts';

/** The cluster agent's port (the same on every node: MK PR #1317). */
export const AGENT_PORT = 25000;
/** Lifetime of a join token, in seconds: long enough for one join, short enough to be useless later. */
export const JOIN_TOKEN_TTL_SECONDS = 300;
/** Join attempts one job makes before it gives up (each asks people first). */
export const MAX_JOIN_ATTEMPTS = 5;

const GRACE_MS = 120_000;

/**
 * A control-plane node by its labels; before 1.23 MicroK8s set no role label (`unknown`): then
 * any node the inventory does not call a worker (1.22 and older had no worker nodes).
 */
export function isControlPlaneNode(node: KubeNode, inventory: ReadonlyArray<{ name: string; role: string }>): boolean {
  if (node.role !== 'unknown') return node.role === 'control-plane';
  return inventory.find((n) => n.name === node.name)?.role !== 'worker';
}

// ---- the datastore's members ------------------------------------------------------------------

export interface Membership {
  /** `kubectl get nodes` from the controller. */
  kube: KubeNode[];
  /** dqlite members (`microk8s status`), with the Kubernetes node each one is, when known. */
  members: Array<HaMember & { node?: string }>;
  /** The ha-cluster addon is enabled (dqlite, 1.19+ HA); false on an old-style cluster. */
  haEnabled: boolean;
}

/** The dqlite member whose address is this node's InternalIP. */
export function memberOf(members: readonly HaMember[], kube: KubeNode | undefined): HaMember | undefined {
  const ip = kube?.internalIp;
  if (!ip) return undefined;
  return members.find((m) => m.address.startsWith(`${ip}:`) || m.address.startsWith(`[${ip}]:`));
}

export function haEnabledIn(status: MicroK8sStatus): boolean {
  const addon = status.addons?.find((a) => a.name === 'ha-cluster');
  return addon ? addon.enabled : status.members.length > 0;
}

/** The datastore as the controller (a control-plane node) sees it. */
export async function readMembership(run: RunContext, controller: string): Promise<Membership> {
  const ops = run.node(controller);
  const status = await ops.status();
  const kube = await ops.nodes();
  if (!status.running) throw new RunbookFailure(`MicroK8s on ${controller} is not ready (${status.message ?? 'microk8s status says it is not running'}).`);
  const members = status.members.map((m) => {
    const node = kube.find((k) => k.internalIp && (m.address.startsWith(`${k.internalIp}:`) || m.address.startsWith(`[${k.internalIp}]:`)))?.name;
    return node ? { ...m, node } : { ...m };
  });
  return { kube, members, haEnabled: haEnabledIn(status) };
}

export function voters(m: Membership): Array<HaMember & { node?: string }> {
  return m.members.filter((x) => x.role === 'voter');
}

/** `high-availability: yes` needs more than 2 voters. */
export function haOf(m: Membership): boolean {
  return voters(m).length > 2;
}

/** "high-availability yes · voters k8s-1, k8s-2, k8s-3 · standby k8s-4" */
export function describeHa(m: Membership): string {
  const names = (role: HaMember['role']) => m.members.filter((x) => x.role === role).map((x) => x.node ?? x.address);
  const parts = [`high-availability ${haOf(m) ? 'yes' : 'no'}`, `voters ${names('voter').join(', ') || 'none'}`];
  if (names('standby').length) parts.push(`standby ${names('standby').join(', ')}`);
  if (names('spare').length) parts.push(`spare ${names('spare').join(', ')}`);
  return parts.join(' · ');
}

// ---- checks on a node before it joins ---------------------------------------------------------

export type Standing = { kind: 'standalone' } | { kind: 'stopped'; message: string } | { kind: 'worker-elsewhere' } | { kind: 'clustered'; members: HaMember[] };

/**
 * Whether a host is free to join: its own single node (one datastore member, or none on an
 * old-style node), a worker of some cluster (`clustered.lock`: it answers "acting as a node"),
 * part of a multi-member datastore, or stopped.
 */
export async function standing(run: RunContext, node: string): Promise<Standing> {
  const status = await run.node(node).status();
  if (status.worker) return { kind: 'worker-elsewhere' };
  if (!status.running) return { kind: 'stopped', message: status.message ?? 'microk8s is not running' };
  if (status.members.length > 1) return { kind: 'clustered', members: status.members };
  return { kind: 'standalone' };
}

export function minorOfVersion(version: string): number | undefined {
  try {
    return kubeMinor(version).minor;
  } catch {
    return undefined;
  }
}

// ---- the join (one step: the token lives and dies in here) -------------------------------------

export interface JoinSpec {
  node: string;
  worker: boolean;
  /** The control-plane node that runs add-node (a member, Ready, not a worker). */
  controller: string;
  /** Its InternalIP: the address the join uses when add-node prints it. */
  controllerIp: string | undefined;
}

export type JoinResult = {
  node: string;
  /** `ip:port` the node contacted (never the token). */
  via: string;
  worker: boolean;
  /** true when the node was already a member (a repeated step). */
  already: boolean;
};

/** Already joined (a step run again after a crash): the controller lists it with the wanted role. */
async function alreadyJoined(run: RunContext, spec: JoinSpec): Promise<boolean> {
  const m = await readMembership(run, spec.controller);
  const seen = m.kube.find((n) => n.name === spec.node);
  if (!seen) return false;
  // a worker answers "acting as a node in a cluster"; a control-plane node is a datastore member
  if (spec.worker) return (await standing(run, spec.node).catch(() => undefined))?.kind === 'worker-elsewhere';
  return memberOf(m.members, seen) !== undefined;
}

/**
 * `microk8s add-node --token-ttl N` on the controller, then `microk8s join <addr>:25000/<token>/<fp>
 * [--worker]` on the node. A failure throws a RunbookFailure with the joining node's first real
 * error; the token is masked everywhere.
 */
export async function joinOnce(run: RunContext, spec: JoinSpec): Promise<JoinResult> {
  if (await alreadyJoined(run, spec)) return { node: spec.node, via: 'already a member', worker: spec.worker, already: true };
  const controller = run.node(spec.controller);
  const target = run.node(spec.node);
  const urls = await controller.membership.addNode(JOIN_TOKEN_TTL_SECONDS);
  const candidates = joinCandidates(urls, spec.controllerIp);
  if (candidates.length === 0) {
    throw new RunbookFailure(`add-node on ${spec.controller} printed no IPv4 address to join (it listed ${urls.map((u) => u.host).join(', ') || 'none'}). ${spec.node} was not changed.`);
  }
  let url = candidates[0]!;
  if (url.host !== spec.controllerIp) {
    // the preflight checked the controller's InternalIP; this address was not checked yet
    const reachable: string[] = [];
    let found: JoinUrl | undefined;
    for (const c of candidates) {
      const r = await target.membership.canReach(c.host, c.port);
      if (r.ok || !r.checked) {
        found = c;
        break;
      }
      reachable.push(`${c.host}: ${r.detail}`);
    }
    if (!found) throw new RunbookFailure(`${spec.node} cannot reach any address add-node printed on ${spec.controller} (${reachable.join('; ')}). ${spec.node} was not changed.`);
    url = found;
  }
  const r = await target.membership.join(url, spec.worker, run.cluster.policy.readyTimeout + GRACE_MS);
  if (!r.ok) throw new RunbookFailure(`${spec.node} did not join via ${url.host}:${url.port} (exit code ${r.code}): ${r.error}`);
  return { node: spec.node, via: `${url.host}:${url.port}`, worker: spec.worker, already: false };
}

/**
 * The join step, with a choice after a failure: "Retry with a new token" (a fresh add-node;
 * the failed attempt may have used its token up) or "Stop". Each attempt is its own step.
 */
export async function joinWithRetry(run: RunContext, spec: JoinSpec, title = `join ${spec.node}${spec.worker ? ' as a worker' : ''}`): Promise<JoinResult> {
  for (let attempt = 1; ; attempt++) {
    const joined = await run.attempt(() =>
      run.step(attempt === 1 ? title : `${title} (attempt ${attempt}, new token)`, () => joinOnce(run, spec), {
        describe: (j) => (j.already ? `${j.node} was already a member` : `joined via ${j.via}`),
      }),
    );
    if (joined.ok) return joined.value;
    const error = errorText(joined.error);
    const left = `${spec.node} is not in the cluster; it still runs MicroK8s on its own.`;
    if (attempt >= MAX_JOIN_ATTEMPTS) throw new RunbookFailure(`${spec.node} did not join after ${attempt} attempts. Last error: ${error} ${left}`);
    const pick = await run.choice({
      title: `${spec.node} did not join (attempt ${attempt})`,
      what: `${error}\n${left} A retry asks ${spec.controller} for a new token first (a token can be used up by a failed join).`,
      nodes: [spec.node],
      options: [
        { id: 'retry', label: 'Retry with a new token', style: 'primary' },
        { id: 'stop', label: 'Stop' },
      ],
      onExpiry: 'stop',
    });
    if (pick !== 'retry') throw new RunbookFailure(`Stopped after a failed join: ${error} ${left}`);
  }
}

// ---- leave and remove-node ---------------------------------------------------------------------

/** `microk8s leave` on the node. "not acting as a node in a cluster" → it had already left. */
export async function leaveCluster(run: RunContext, node: string): Promise<'left' | 'not-joined'> {
  const r = await run.node(node).membership.leave(run.cluster.policy.readyTimeout + GRACE_MS);
  if (r.kind === 'left' || r.kind === 'not-joined') return r.kind;
  if (r.kind === 'only-voter') {
    throw new RunbookFailure(`${node} holds the only copy of the datastore (it is the only voter), so it cannot leave: ${r.message} Nothing was removed; add control-plane nodes first or remove the others.`);
  }
  throw new RunbookFailure(`\`microk8s leave\` failed on ${node} (exit code ${r.code}): ${r.message}`);
}

/**
 * `microk8s leave` unless the node has left already (a step run again): it then runs a single
 * node of its own and the controller sees it NotReady.
 */
export async function leaveIfJoined(run: RunContext, node: string, controller: string): Promise<'left' | 'not-joined'> {
  const st = await standing(run, node).catch(() => undefined);
  const seen = (await run.node(controller).nodes()).find((n) => n.name === node);
  if (st?.kind === 'standalone' && !seen?.ready) return 'not-joined';
  return leaveCluster(run, node);
}

/**
 * `microk8s remove-node <node> [--force]` on the controller. Exit 1 with "does not exist in
 * Kubernetes" is what remove-node says when the Node object is already gone (even when it then
 * removed the dqlite entry): the caller verifies the result.
 */
export async function removeNodeFrom(run: RunContext, controller: string, node: string, force: boolean): Promise<'removed' | 'already-gone'> {
  const r = await run.node(controller).membership.removeNode(node, force);
  if (r.kind === 'removed' || r.kind === 'already-gone') return r.kind;
  if (r.kind === 'still-registered') {
    throw new RunbookFailure(`remove-node refused: ${node} is still registered with dqlite (its leave did not finish). Nothing was removed; run the request again with --force only if ${node} will never come back.`);
  }
  throw new RunbookFailure(`\`microk8s remove-node ${node}${force ? ' --force' : ''}\` failed on ${controller} (exit code ${r.code}): ${r.message}`);
}

// ---- waits -------------------------------------------------------------------------------------

export type NodeWait = 'ready' | 'not-ready' | 'gone';

/** Polls `kubectl get nodes` on the controller (backing off to 2 s) until the node is as wanted. */
export async function waitForNode(run: RunContext, controller: string, node: string, want: NodeWait, timeoutMs: number): Promise<KubeNode | undefined> {
  const ops = run.node(controller);
  const deadline = Date.now() + timeoutMs;
  let pause = 100;
  let last: KubeNode | undefined;
  for (;;) {
    last = (await ops.nodes()).find((n) => n.name === node);
    if (want === 'ready' && last?.ready) return last;
    if (want === 'not-ready' && (!last || !last.ready)) return last;
    if (want === 'gone' && !last) return undefined;
    if (Date.now() >= deadline) {
      const now = last ? (last.ready ? 'Ready' : 'NotReady') : 'not listed';
      const wanted = want === 'ready' ? 'Ready' : want === 'not-ready' ? 'NotReady' : 'gone';
      throw new RunbookFailure(`${node} did not become ${wanted} within ${Math.round(timeoutMs / 1000)} s (kubectl on ${controller} shows it ${now}).`);
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 2_000);
  }
}

/**
 * Polls the datastore until `done(membership)` holds (a new member listed, a stand-by promoted),
 * or the time is up; returns the last membership either way.
 */
export async function settleMembership(run: RunContext, controller: string, done: (m: Membership) => boolean, timeoutMs: number): Promise<Membership> {
  const deadline = Date.now() + timeoutMs;
  let pause = 100;
  for (;;) {
    const m = await readMembership(run, controller);
    if (done(m) || Date.now() >= deadline) return m;
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 2_000);
  }
}

// ---- quorum --------------------------------------------------------------------------------------

export interface QuorumImpact {
  /** The node's datastore role now (undefined: not a member — a worker). */
  role?: HaMember['role'];
  votersBefore: number;
  /** dqlite keeps 3 voters when it can: a leaving voter is replaced by a stand-by or spare. */
  votersAfter: number;
  /** Voters after the removal whose nodes are Ready now. */
  readyVotersAfter: number;
  /** A majority of votersAfter. */
  majority: number;
  haBefore: boolean;
  haAfter: boolean;
  /** Warnings for the first line of the approval, most serious first. */
  warnings: string[];
}

/** What removing `node` does to the datastore's voters and majority. */
export function quorumImpact(m: Membership, node: string): QuorumImpact {
  const kube = m.kube.find((k) => k.name === node);
  const mine = memberOf(m.members, kube);
  const others = m.members.filter((x) => x !== mine);
  const readyOf = (x: { node?: string }) => (x.node ? (m.kube.find((k) => k.name === x.node)?.ready ?? false) : false);
  const votersBefore = voters(m).length;
  let afterVoters = others.filter((x) => x.role === 'voter');
  if (mine?.role === 'voter') {
    // the best remaining stand-by (Ready first), else a spare, takes the empty seat
    const next = [...others.filter((x) => x.role === 'standby'), ...others.filter((x) => x.role === 'spare')].toSorted((a, b) => Number(readyOf(b)) - Number(readyOf(a)))[0];
    if (next) afterVoters = [...afterVoters, next];
  }
  const votersAfter = afterVoters.length;
  const readyVotersAfter = afterVoters.filter(readyOf).length;
  const majority = Math.floor(votersAfter / 2) + 1;
  const haBefore = votersBefore > 2;
  const haAfter = votersAfter > 2;
  const warnings: string[] = [];
  if (mine && votersAfter > 0 && readyVotersAfter < majority) {
    warnings.push(`⚠️ QUORUM LOSS: after removing ${node} the datastore has ${votersAfter} voter(s) but only ${readyVotersAfter} Ready — fewer than the ${majority} a majority needs`);
  }
  if (mine && votersAfter < 2) warnings.push(`⚠️ ONE VOTER LEFT: removing ${node} leaves ${votersAfter} datastore voter(s); losing that node loses the cluster`);
  if (haBefore && !haAfter) warnings.push(`⚠️ HA LOST: high-availability goes from yes to no (${votersBefore} → ${votersAfter} voters)`);
  const impact: QuorumImpact = { votersBefore, votersAfter, readyVotersAfter, majority, haBefore, haAfter, warnings };
  if (mine) impact.role = mine.role;
  return impact;
}
