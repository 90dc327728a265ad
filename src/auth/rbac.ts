/**
 * src/auth — who may request a verb and who may approve (the inventory's rbac lists). The bot core
 * asks before anything is queued; the engine asks again when a button is clicked.
 */
import { clusterConfig, rbacFor, type ClusterConfig, type Inventory, type RbacConfig } from '../config/inventory.ts';
import type { VerbSpec } from '../engine/runbook.ts';

/**
 * Who may request and who may approve, from the inventory's rbac lists
 * (a cluster's own `rbac` replaces the top-level lists for that cluster).
 *
 * Three independent lists: viewers, operators, approvers. An operator or an
 * approver may also view; an approver is not an operator unless listed there too.
 * Entries: Slack user ids (U…, W…), user-group ids (S…, expanded through
 * `members`), `*` (everyone), or console user names (lowercase words).
 */

export type Role = 'viewer' | 'operator' | 'approver';
export type AuthResult = { ok: true } | { ok: false; reason: string };
/** Expands a Slack user-group id into user ids (ChatPort.usergroupMembers). */
export type MembersLookup = (groupId: string) => Promise<string[]>;

const GROUP_ID = /^S[A-Z0-9]{2,20}$/;

/**
 * Wraps a user-group lookup with a short cache (default 60 s) so a burst of
 * requests costs one API call per group. Failed lookups are not cached.
 * Create it once (per chat port) and pass it to every check.
 */
export function cachedMembers(lookup: MembersLookup, opts: { ttlMs?: number; now?: () => number } = {}): MembersLookup {
  const ttl = opts.ttlMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { at: number; members: Promise<string[]> }>();
  return (groupId) => {
    const hit = cache.get(groupId);
    if (hit && now() - hit.at < ttl) return hit.members;
    const members = lookup(groupId);
    cache.set(groupId, { at: now(), members });
    members.catch(() => {
      if (cache.get(groupId)?.members === members) cache.delete(groupId);
    });
    return members;
  };
}

interface ListCheck {
  found: boolean;
  /** User groups that could not be expanded (the Slack API failed). */
  failedGroups: string[];
}

async function inList(user: string, list: readonly string[], members: MembersLookup | undefined): Promise<ListCheck> {
  const failedGroups: string[] = [];
  if (list.includes('*') || list.includes(user)) return { found: true, failedGroups };
  for (const entry of list) {
    if (!GROUP_ID.test(entry) || !members) continue;
    try {
      if ((await members(entry)).includes(user)) return { found: true, failedGroups };
    } catch {
      failedGroups.push(entry);
    }
  }
  return { found: false, failedGroups };
}

function listsFor(role: Role, rbac: RbacConfig): string[] {
  const lists: Record<Role, string[]> = {
    viewer: [...rbac.viewers, ...rbac.operators, ...rbac.approvers],
    operator: rbac.operators,
    approver: rbac.approvers,
  };
  return lists[role];
}

function clusterName(cluster: ClusterConfig | string | undefined): string | undefined {
  return typeof cluster === 'string' ? cluster : cluster?.name;
}

export interface RoleQuery {
  user: string;
  /** The cluster (its config or name); undefined → the top-level lists. */
  cluster?: ClusterConfig | string;
  inventory: Inventory;
  members?: MembersLookup;
}

/** Whether `user` holds `role` for the cluster (or the top level). */
export async function hasRole(role: Role, q: RoleQuery): Promise<boolean> {
  return (await check(role, q)).found;
}

async function check(role: Role, q: RoleQuery): Promise<ListCheck> {
  const name = clusterName(q.cluster);
  const rbac = name === undefined ? q.inventory.rbac : rbacFor(q.inventory, name);
  return inList(q.user, listsFor(role, rbac), q.members);
}

function groupNote(failed: string[]): string {
  return failed.length === 0 ? '' : ` (could not read the members of user group ${failed.join(', ')}; try again shortly)`;
}

/** The role a verb needs: its `role`, else operator for mutating verbs and viewer for the rest. */
export function requiredRole(spec: VerbSpec): 'anyone' | 'viewer' | 'operator' {
  return spec.role ?? (spec.mutating ? 'operator' : 'viewer');
}

export interface RequestQuery extends RoleQuery {
  spec: VerbSpec;
}

/**
 * May `user` run `spec` on the cluster? Read-only verbs need a viewer (or an
 * operator or approver), mutating verbs and `cancel` an operator. Global verbs
 * (no cluster) are checked against the top-level lists.
 */
export async function mayRequest(q: RequestQuery): Promise<AuthResult> {
  const role = requiredRole(q.spec);
  if (role === 'anyone') return { ok: true };
  const result = await check(role, q);
  if (result.found) return { ok: true };
  const name = clusterName(q.cluster);
  const where = name === undefined ? 'this bot' : `cluster ${name}`;
  if (role === 'viewer') {
    return { ok: false, reason: `you are not allowed to use \`${q.spec.verb}\` on ${where}: you are not in its viewers, operators or approvers${groupNote(result.failedGroups)}` };
  }
  const why = q.spec.mutating ? 'changes the cluster' : 'acts on jobs';
  return { ok: false, reason: `\`${q.spec.verb}\` ${why} and needs an operator; you are not an operator for ${where}${groupNote(result.failedGroups)}` };
}

export interface ApproveQuery {
  user: string;
  /** Who requested the job. */
  requester: string;
  cluster: ClusterConfig | string;
  inventory: Inventory;
  members?: MembersLookup;
}

/**
 * May `user` approve (or reject) a gate of a job on the cluster? They must be an
 * approver for that cluster and, under the two-person rule (the cluster's
 * `policy.twoPerson`, default true), not the requester.
 */
export async function mayApprove(q: ApproveQuery): Promise<AuthResult> {
  const name = typeof q.cluster === 'string' ? q.cluster : q.cluster.name;
  const result = await check('approver', q);
  if (!result.found) return { ok: false, reason: `you are not an approver for cluster ${name}${groupNote(result.failedGroups)}` };
  const policy = clusterConfig(q.inventory, name)?.policy ?? (typeof q.cluster === 'string' ? undefined : q.cluster.policy);
  const twoPerson = policy?.twoPerson ?? true;
  if (twoPerson && q.user === q.requester) {
    return { ok: false, reason: 'two-person rule: the requester cannot approve their own job; ask another approver' };
  }
  return { ok: true };
}
