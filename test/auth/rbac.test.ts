import { describe, expect, it } from 'vitest';
import { cachedMembers, hasRole, mayApprove, mayRequest, requiredRole, type MembersLookup } from '../../src/auth/rbac.ts';
import { auditVerb, cancelVerb, clustersVerb, helpVerb, statusVerb } from '../../src/commands/builtin-verbs.ts';
import { clusterConfig, parseInventory, type ClusterConfig } from '../../src/config/inventory.ts';
import { upgradeVerb } from '../commands/fixtures.ts';

const inventory = parseInventory(
  `
clusters:
  prod:
    channel: C0PROD0001
    ssh: { user: ubuntu, agent: true, knownHostsPath: ./kh }
    nodes: [{ name: k8s-1, host: 10.0.0.1, role: control-plane }]
  lab:
    channel: lab
    ssh: { user: ubuntu, agent: true, knownHostsPath: ./kh }
    nodes: [{ name: k8s-1, host: 10.0.1.1, role: control-plane }]
    policy: { twoPerson: false }
    rbac:
      operators: [carol]
      approvers: [carol, dave]
      viewers: [erin]
rbac:
  operators: [U0OPERATOR, alice, S0OPSTEAM]
  approvers: [U0APPROVER, bob, S0LEADS]
  viewers: [U0VIEWER, S0READERS]
`,
  '/tmp/inventory.yml',
);
function cluster(name: string): ClusterConfig {
  const found = clusterConfig(inventory, name);
  if (!found) throw new Error(`fixture has no cluster ${name}`);
  return found;
}
const prod = cluster('prod');
const lab = cluster('lab');

/** A user-group directory that counts its lookups. */
function directory(groups: Record<string, string[]>): MembersLookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = (id: string): Promise<string[]> => {
    calls.push(id);
    const members = groups[id];
    return members ? Promise.resolve(members) : Promise.reject(new Error(`usergroups.users.list: no_such_subteam ${id}`));
  };
  return Object.assign(lookup, { calls });
}

const groups = { S0OPSTEAM: ['U0OPS1', 'U0OPS2'], S0LEADS: ['U0LEAD1'], S0READERS: ['U0READ1'] };

describe('mayRequest', () => {
  it('read-only verbs need a viewer; operators and approvers may view too', async () => {
    const members = directory(groups);
    for (const user of ['U0VIEWER', 'U0READ1', 'alice', 'bob', 'U0OPS1', 'U0LEAD1']) {
      expect(await mayRequest({ user, spec: statusVerb, cluster: prod, inventory, members }), user).toEqual({ ok: true });
    }
    const no = await mayRequest({ user: 'U0STRANGER', spec: auditVerb, cluster: prod, inventory, members });
    expect(no).toEqual({ ok: false, reason: 'you are not allowed to use `audit` on cluster prod: you are not in its viewers, operators or approvers' });
  });

  it('mutating verbs and cancel need an operator; an approver is not one', async () => {
    const members = directory(groups);
    expect(requiredRole(upgradeVerb)).toBe('operator');
    expect(requiredRole(cancelVerb)).toBe('operator');
    expect(requiredRole(statusVerb)).toBe('viewer');
    expect(await mayRequest({ user: 'alice', spec: upgradeVerb, cluster: prod, inventory, members })).toEqual({ ok: true });
    expect(await mayRequest({ user: 'U0OPS2', spec: cancelVerb, cluster: 'prod', inventory, members })).toEqual({ ok: true });
    expect(await mayRequest({ user: 'bob', spec: upgradeVerb, cluster: prod, inventory, members })).toEqual({
      ok: false,
      reason: '`upgrade` changes the cluster and needs an operator; you are not an operator for cluster prod',
    });
    expect(await mayRequest({ user: 'U0VIEWER', spec: cancelVerb, cluster: prod, inventory, members })).toEqual({
      ok: false,
      reason: '`cancel` acts on jobs and needs an operator; you are not an operator for cluster prod',
    });
  });

  it('global verbs use the top-level lists; help is open to anyone', async () => {
    expect(await mayRequest({ user: 'U0STRANGER', spec: helpVerb, inventory })).toEqual({ ok: true });
    expect(await mayRequest({ user: 'U0VIEWER', spec: clustersVerb, inventory })).toEqual({ ok: true });
    const no = await mayRequest({ user: 'U0STRANGER', spec: clustersVerb, inventory });
    expect(no).toMatchObject({ ok: false, reason: expect.stringMatching(/on this bot: you are not in its viewers/) });
  });

  it("a cluster's own rbac replaces the top-level lists", async () => {
    const members = directory(groups);
    expect(await mayRequest({ user: 'carol', spec: upgradeVerb, cluster: lab, inventory, members })).toEqual({ ok: true });
    expect(await mayRequest({ user: 'erin', spec: statusVerb, cluster: lab, inventory, members })).toEqual({ ok: true });
    // alice operates prod through the top-level list, not lab, which has its own.
    expect(await mayRequest({ user: 'alice', spec: upgradeVerb, cluster: lab, inventory, members })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not an operator for cluster lab/),
    });
    expect(await mayRequest({ user: 'U0VIEWER', spec: statusVerb, cluster: lab, inventory, members })).toMatchObject({ ok: false });
    // lab's lists have no groups: the top-level groups were never consulted.
    expect(members.calls).toEqual([]);
    expect(await mayRequest({ user: 'erin', spec: statusVerb, cluster: prod, inventory, members })).toMatchObject({ ok: false });
    expect(members.calls).toEqual(['S0READERS', 'S0OPSTEAM', 'S0LEADS']);
  });

  it('"*" lets everyone in', async () => {
    const open = parseInventory(
      `
clusters:
  dev:
    channel: dev
    ssh: { user: ubuntu, agent: true, knownHostsPath: ./kh }
    nodes: [{ name: n1, host: 10.0.0.1, role: control-plane }]
rbac:
  operators: ["*"]
`,
      '/tmp/open.yml',
    );
    expect(await mayRequest({ user: 'anyone', spec: upgradeVerb, cluster: 'dev', inventory: open })).toEqual({ ok: true });
    // The default viewers list is ["*"].
    expect(await mayRequest({ user: 'U0SOMEONE', spec: statusVerb, cluster: 'dev', inventory: open })).toEqual({ ok: true });
    expect(await mayApprove({ user: 'U0SOMEONE', requester: 'anyone', cluster: 'dev', inventory: open })).toMatchObject({ ok: false });
  });

  it('user groups are expanded through the lookup; a failing lookup is named, not fatal', async () => {
    const members = directory({ S0LEADS: ['U0LEAD1'], S0READERS: ['U0READ1'] }); // S0OPSTEAM lookup fails
    const no = await mayRequest({ user: 'U0OPS1', spec: upgradeVerb, cluster: prod, inventory, members });
    expect(no).toMatchObject({ ok: false, reason: expect.stringMatching(/could not read the members of user group S0OPSTEAM; try again shortly/) });
    expect(await mayRequest({ user: 'U0READ1', spec: statusVerb, cluster: prod, inventory, members })).toEqual({ ok: true });
    // Without a lookup, groups match nobody.
    expect(await mayRequest({ user: 'U0READ1', spec: statusVerb, cluster: prod, inventory })).toMatchObject({ ok: false });
    expect(await hasRole('approver', { user: 'U0LEAD1', cluster: prod, inventory, members })).toBe(true);
    expect(await hasRole('operator', { user: 'U0LEAD1', cluster: prod, inventory, members })).toBe(false);
  });
});

describe('mayApprove', () => {
  it('approvers of the cluster only', async () => {
    const members = directory(groups);
    expect(await mayApprove({ user: 'bob', requester: 'alice', cluster: prod, inventory, members })).toEqual({ ok: true });
    expect(await mayApprove({ user: 'U0LEAD1', requester: 'alice', cluster: 'prod', inventory, members })).toEqual({ ok: true });
    expect(await mayApprove({ user: 'alice', requester: 'U0OPERATOR', cluster: prod, inventory, members })).toEqual({
      ok: false,
      reason: 'you are not an approver for cluster prod',
    });
    expect(await mayApprove({ user: 'bob', requester: 'carol', cluster: lab, inventory, members })).toEqual({
      ok: false,
      reason: 'you are not an approver for cluster lab',
    });
  });

  it('two-person rule by default; off when the cluster policy says so', async () => {
    expect(await mayApprove({ user: 'bob', requester: 'bob', cluster: prod, inventory })).toEqual({
      ok: false,
      reason: 'two-person rule: the requester cannot approve their own job; ask another approver',
    });
    expect(await mayApprove({ user: 'carol', requester: 'carol', cluster: lab, inventory })).toEqual({ ok: true });
    expect(await mayApprove({ user: 'dave', requester: 'carol', cluster: 'lab', inventory })).toEqual({ ok: true });
  });
});

describe('cachedMembers', () => {
  it('asks once per group within the TTL, again after it, and does not cache failures', async () => {
    let clock = 1_000;
    const inner = directory({ S0A: ['U1'] });
    const members = cachedMembers(inner, { ttlMs: 60_000, now: () => clock });
    expect(await members('S0A')).toEqual(['U1']);
    expect(await members('S0A')).toEqual(['U1']);
    expect(inner.calls).toEqual(['S0A']);
    clock += 60_000;
    expect(await members('S0A')).toEqual(['U1']);
    expect(inner.calls).toEqual(['S0A', 'S0A']);
    await expect(members('S0B')).rejects.toThrow(/no_such_subteam/);
    await expect(members('S0B')).rejects.toThrow(/no_such_subteam/);
    expect(inner.calls.filter((g) => g === 'S0B')).toHaveLength(2);
  });

  it('serves several checks from one lookup', async () => {
    const inner = directory(groups);
    const members = cachedMembers(inner);
    for (let i = 0; i < 5; i++) await mayRequest({ user: 'U0OPS1', spec: upgradeVerb, cluster: prod, inventory, members });
    expect(inner.calls).toEqual(['S0OPSTEAM']);
  });
});
