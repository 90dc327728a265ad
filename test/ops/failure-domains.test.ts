/**
 * Failure domains (src/ops/failure-domains.ts): the assignments a request asks for, the inventory
 * checks, the plan, the preflight over SSH and what it refuses, the quorum check before each
 * restart, and the lines of the approval.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { HA_CONF } from '../../src/microk8s/args-files.ts';
import type { HaMember, KubeNode } from '../../src/microk8s/types.ts';
import {
  actionFor,
  assignments,
  describeChanges,
  failureDomainPlan,
  inventoryNotes,
  preflightFailureDomains,
  quorumCheck,
  roleOf,
  titles,
  validateAssignments,
  type FailureDomainPreflight,
} from '../../src/ops/failure-domains.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('failure-domain requests', () => {
  it('takes either <node> <n> or a plan; a plan that does not parse asks for nothing', () => {
    expect(assignments({ node: 'k8s-1', domain: 2 })).toEqual([{ node: 'k8s-1', domain: 2 }]);
    expect(assignments({ plan: 'k8s-2=3,k8s-1=1' })).toEqual([{ node: 'k8s-2', domain: 3 }, { node: 'k8s-1', domain: 1 }]);
    expect(assignments({ plan: 'k8s-2=x' })).toEqual([]);
    expect(assignments({ node: 'k8s-1' })).toEqual([]);
  });

  it('sets domains on known control-plane nodes only', () => {
    const cluster = { name: 'prod', nodes: [{ name: 'k8s-1', role: 'control-plane' }, { name: 'w1', role: 'worker' }] } as Parameters<typeof validateAssignments>[0];
    expect(validateAssignments(cluster, [{ node: 'k8s-1', domain: 2 }])).toBeUndefined();
    expect(validateAssignments(cluster, [{ node: 'k8s-9', domain: 2 }])).toBe("unknown node 'k8s-9' in cluster prod; its nodes are k8s-1, w1");
    expect(validateAssignments(cluster, [{ node: 'k8s-1', domain: 2 }, { node: 'w1', domain: 1 }])).toMatch(/^w1 is a worker node: .* Set it on control-plane nodes only\.$/);
  });

  it('plans per node: quorum check from another control-plane node, write, restart, wait', () => {
    const cluster = { name: 'prod', nodes: [{ name: 'k8s-1', role: 'control-plane' }, { name: 'k8s-2', role: 'control-plane' }] } as Parameters<typeof failureDomainPlan>[1];
    const plan = failureDomainPlan([{ node: 'k8s-1', domain: 2 }, { node: 'k8s-2', domain: 3 }], cluster);
    expect(plan.map((s) => [s.title, s.node])).toEqual([
      [titles.preflight, undefined],
      ['check quorum before restarting k8s-1', 'k8s-2'],
      ["write failure-domain=2 to k8s-1's ha-conf", 'k8s-1'],
      ['restart MicroK8s on k8s-1', 'k8s-1'],
      ['wait for k8s-1 to be Ready in failure domain 2', 'k8s-1'],
      ['check quorum before restarting k8s-2', 'k8s-1'],
      ["write failure-domain=3 to k8s-2's ha-conf", 'k8s-2'],
      ['restart MicroK8s on k8s-2', 'k8s-2'],
      ['wait for k8s-2 to be Ready in failure domain 3', 'k8s-2'],
    ]);
    expect(plan[0]?.commands).toContain(`(k8s-2) sudo cat ${HA_CONF}`);
    expect(plan[4]?.commands.some((c) => c.startsWith('(k8s-2) microk8s kubectl get lease k8s-1'))).toBe(true);
  });

  it('writes when ha-conf differs, restarts when only dqlite differs, skips when both agree', () => {
    expect(actionFor(2, 1, 1)).toBe('write');
    expect(actionFor(2, null, null)).toBe('write');
    expect(actionFor(2, 2, 1)).toBe('restart');
    expect(actionFor(2, 2, 2)).toBe('skip');
    expect(actionFor(2, 2, null)).toBe('skip');
  });

  it('finds a node\'s dqlite role by its InternalIP, IPv6 too', () => {
    const kube = [{ name: 'a', internalIp: '10.0.0.1' }, { name: 'b', internalIp: 'fd00::2' }, { name: 'c' }] as KubeNode[];
    const members: HaMember[] = [{ address: '10.0.0.1:19001', role: 'voter' }, { address: '[fd00::2]:19001', role: 'standby' }];
    expect([roleOf(members, kube, 'a'), roleOf(members, kube, 'b'), roleOf(members, kube, 'c'), roleOf(members, kube, 'zz')]).toEqual(['voter', 'standby', 'unknown', 'unknown']);
  });

  it('words each change for the approval, and what the inventory should say afterwards', () => {
    const pre = {
      nodes: [
        { node: 'k8s-1', domain: 1, configured: 1, applied: 1, role: 'voter', action: 'skip' },
        { node: 'k8s-2', domain: 2, configured: 2, applied: 1, role: 'standby', action: 'restart' },
        { node: 'k8s-3', domain: 3, configured: null, applied: 1, role: 'unknown', action: 'write' },
      ],
    } as FailureDomainPreflight;
    expect(describeChanges(pre)).toEqual([
      'k8s-1: already failure-domain 1 (voter): skipped',
      'k8s-2: ha-conf already says 2 but dqlite uses 1 (standby): restart only',
      'k8s-3: no failure-domain set → 3 (dqlite role unknown): write ha-conf, restart',
    ]);
    const cluster = { nodes: [{ name: 'k8s-1', failureDomain: 1 }, { name: 'k8s-2' }, { name: 'k8s-3', failureDomain: 1 }] } as Parameters<typeof inventoryNotes>[0];
    expect(inventoryNotes(cluster, [{ node: 'k8s-1', domain: 1 }, { node: 'k8s-2', domain: 2 }, { node: 'k8s-3', domain: 3 }])).toEqual([
      'k8s-2: the inventory records no failureDomain; set `failureDomain: 2`',
      'k8s-3: the inventory records failureDomain: 1; set `failureDomain: 3`',
    ]);
  });
});

describe('preflightFailureDomains and quorumCheck', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2', failureDomain: 2 }, { name: 'k8s-3' }, { name: 'w1', role: 'worker' }] });
  afterEach(() => {
    for (const n of rig.sim.state.nodeList()) n.ready = true;
  });

  it('reads ha-conf and what dqlite uses on each node of the plan, its role, and what to do', async () => {
    await rig.run((run) => run.node('k8s-3').writeFile(HA_CONF, 'failure-domain=7\n', run.jobId, true)); // written, not applied
    const pre = await rig.run((run) => preflightFailureDomains(run, [{ node: 'k8s-1', domain: 4 }, { node: 'k8s-2', domain: 2 }, { node: 'k8s-3', domain: 7 }], '20260701T100000Z'));
    expect(pre).toEqual({
      controller: 'k8s-1', stamp: '20260701T100000Z', voters: 3, controlPlanes: 3, warnings: [],
      nodes: [
        { node: 'k8s-1', domain: 4, configured: 1, applied: 1, role: 'voter', action: 'write' },
        { node: 'k8s-2', domain: 2, configured: 2, applied: 2, role: 'voter', action: 'skip' },
        { node: 'k8s-3', domain: 7, configured: 7, applied: 1, role: 'voter', action: 'restart' },
      ],
    });
    expect(rig.commands('k8s-2')).toEqual([`cat ${HA_CONF}`, 'cat /var/snap/microk8s/current/var/kubernetes/backend/failure-domain']);
  });

  it('refuses while another control-plane node is NotReady; a NotReady node of the plan goes first', async () => {
    rig.sim.state.node('k8s-3').ready = false;
    const refused = await rejectionOf(rig.run((run) => preflightFailureDomains(run, [{ node: 'k8s-1', domain: 4 }], 's')), RunbookFailure);
    expect(refused.message).toBe('Control-plane node(s) k8s-3 are NotReady: restarting another control-plane node now could lose the dqlite quorum. Nothing was changed; bring them back first.');
    const pre = await rig.run((run) => preflightFailureDomains(run, [{ node: 'k8s-1', domain: 4 }, { node: 'k8s-3', domain: 5 }], 's'));
    expect(pre.nodes.map((n) => n.node)).toEqual(['k8s-3', 'k8s-1']);
    expect(pre.warnings).toEqual(['k8s-3 is NotReady now; it is restarted first.']);
    rig.sim.state.node('k8s-1').ready = false;
    const both = await rejectionOf(rig.run((run) => preflightFailureDomains(run, [{ node: 'k8s-1', domain: 4 }, { node: 'k8s-3', domain: 5 }], 's')), RunbookFailure);
    expect(both.message).toMatch(/^Nodes k8s-1, k8s-3 of the plan are NotReady: /);
  });

  it('before each restart: another control-plane node answers, all others are Ready, the voters are all there', async () => {
    const pre = { voters: 3, controlPlanes: 3 } as FailureDomainPreflight;
    expect(await rig.run((run) => quorumCheck(run, 'k8s-1', pre, []))).toEqual({ controller: 'k8s-2', role: 'voter', voters: 3 });
    rig.sim.state.node('k8s-2').ready = false;
    const err = await rejectionOf(rig.run((run) => quorumCheck(run, 'k8s-1', pre, ['k8s-3 → 5'])), RunbookFailure);
    expect(err.message).toBe(
      'Not restarting k8s-1: control-plane node(s) k8s-2 are NotReady, and taking k8s-1 down as well could lose the dqlite quorum. Already done: k8s-3 → 5. Bring them back, then request the same change again (nodes already done are skipped).',
    );
    rig.sim.state.node('k8s-2').ready = true;
    const fewer = await rejectionOf(rig.run((run) => quorumCheck(run, 'k8s-1', { voters: 4, controlPlanes: 3 } as FailureDomainPreflight, [])), RunbookFailure);
    expect(fewer.message).toMatch(/^Not restarting k8s-1: the datastore has 3 voter\(s\) now, 4 before this job started; /);
  });
});
