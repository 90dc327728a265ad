/**
 * One node's turn in failure-domain (src/ops/failure-domain.ts): the preflight as a step, the
 * approval and its re-check, ha-conf written (backed up; skipped when already so), stop/start and
 * the wait until Ready in the new domain; a node that does not come back asks — Restart again
 * goes on, Stop here fails saying what to do — and the state a failed job leaves, described.
 */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { BACKEND_FAILURE_DOMAIN, HA_CONF } from '../../src/microk8s/args-files.ts';
import { describeDomains, domainsUnchanged, notesText, preflightStep, restartApproval, restartUntilReady, setDomainOn, writeHaConf } from '../../src/ops/failure-domain.ts';
import { preflightFailureDomains, titles, type Assignment } from '../../src/ops/failure-domains.ts';
import { readNodeFile } from '../../src/sim/node-config.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const STAMP = '20260101T000000Z';
const START_FAILS = 'error: cannot perform the following tasks:\n- start of [microk8s.daemon-kubelite] (systemctl command failed)\n';

describe('failure-domain', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3', failureDomain: 3 }, { name: 'w1', role: 'worker' }] });
  const file = (node: string, path: string) => readNodeFile(rig.sim.state, rig.sim.state.node(node), path);
  const preflight = (wanted: Assignment[]) => rig.run((run) => preflightStep(run, () => preflightFailureDomains(run, wanted, STAMP)));

  it('the preflight step and the approval say what changes; nodes already so add no inventory note', async () => {
    const pre = await preflight([{ node: 'k8s-1', domain: 2 }, { node: 'k8s-3', domain: 3 }]);
    expect(pre.nodes.map((n) => [n.node, n.configured, n.applied, n.role, n.action])).toEqual([['k8s-1', 1, 1, 'voter', 'write'], ['k8s-3', 3, 3, 'voter', 'skip']]);
    expect(await rig.line(`✅ ${titles.preflight}`)).toMatch(`✅ ${titles.preflight} — k8s-1: failure-domain 1 → 2 (voter): write ha-conf, restart; k8s-3: already failure-domain 3 (voter): skipped; 3 voter(s) · `);
    await rig.run(async (run) => {
      const approval = restartApproval(run, pre, pre.nodes.filter((n) => n.action !== 'skip'));
      expect(approval).toMatchObject({ always: true, title: 'Set failure domains and restart MicroK8s on k8s-1', nodes: ['k8s-1'] });
      expect(approval.what).toBe('k8s-1: failure-domain 1 → 2 (voter): write ha-conf, restart\nk8s-3: already failure-domain 3 (voter): skipped\nOne node at a time: the next one stops only when the previous is Ready again and the quorum is intact.');
      expect(await approval.recheck()).toBe(true);
      expect(notesText(run, pre)).toBe('\nUpdate the inventory so it matches the nodes: k8s-1: the inventory records no failureDomain; set `failureDomain: 2`.');
      expect(notesText(run, { ...pre, nodes: pre.nodes.filter((n) => n.node === 'k8s-3') })).toBe('');
    });
    expect(rig.commands().some((c) => /^(microk8s (stop|start)|cp |mv |sftp put)/.test(c))).toBe(false);
  });

  it('the re-check after the approval refuses when ha-conf changed meanwhile', async () => {
    const pre = await preflight([{ node: 'k8s-1', domain: 2 }]);
    await rig.run((run) => run.node('k8s-1').writeFile(HA_CONF, 'failure-domain=5\n', run.jobId, true));
    try {
      const err = await rejectionOf(rig.run((run) => domainsUnchanged(run, pre)), RunbookFailure);
      expect(err.message).toBe('The nodes changed since the plan was approved: k8s-1 now has ha-conf 5 and dqlite 1 (was 1 and 1). Nothing was done; request the change again.');
    } finally {
      await rig.run((run) => run.node('k8s-1').writeFile(HA_CONF, 'failure-domain=1\n', run.jobId, true));
    }
  });

  it('sets the domain on one node: quorum, ha-conf (backed up), stop and start, Ready in the new domain', async () => {
    const pre = await preflight([{ node: 'k8s-1', domain: 2 }]);
    await rig.run((run) => setDomainOn(run, pre, pre.nodes[0]!, []));
    expect(rig.doneSteps()).toEqual([titles.quorum('k8s-1'), titles.write('k8s-1', 2), titles.restart('k8s-1'), titles.wait('k8s-1', 2)]);
    expect(file('k8s-1', HA_CONF)).toBe('failure-domain=2\n');
    expect(file('k8s-1', BACKEND_FAILURE_DOMAIN)).toBe('2\n');
    expect(file('k8s-1', `${HA_CONF}.mk8s-${STAMP}`)).toBe('failure-domain=1\n');
    const mine = rig.commands('k8s-1');
    expect(mine.indexOf('microk8s stop')).toBeGreaterThan(-1);
    expect(mine.indexOf('microk8s start')).toBeGreaterThan(mine.indexOf('microk8s stop'));
    expect(mine.some((c) => c.startsWith('microk8s kubectl get lease k8s-1'))).toBe(false); // the heartbeat is read from another node
    expect(await rig.line(`✅ ${titles.write('k8s-1', 2)}`)).toMatch(`✅ ${titles.write('k8s-1', 2)} — written; the old file is kept as ${HA_CONF}.mk8s-${STAMP} · `);
    expect(await rig.line(`✅ ${titles.wait('k8s-1', 2)}`)).toMatch(/ — Ready; kubelet heartbeat at \S+ \(seen from k8s-[23]\); dqlite uses failure domain 2 · /);
    // writing again changes nothing
    expect(await rig.run((run) => writeHaConf(run, pre.nodes[0]!, STAMP))).toEqual({ changed: false, backup: null });
    expect(rig.commands('k8s-1')).toEqual([`cat ${HA_CONF}`]);
    expect(await rig.run((run) => describeDomains(run, ['k8s-1', 'k8s-3']))).toBe('k8s-1: ha-conf failure-domain=2, dqlite uses 2, Ready; k8s-3: ha-conf failure-domain=3, dqlite uses 3, Ready');
  });

  it('a node that does not come back asks; Restart again runs stop and start again and goes on', async () => {
    rig.sim.inject({ node: 'k8s-2', match: 'microk8s start', kind: 'fail', exitCode: 1, stderr: START_FAILS, times: 1 });
    const asked: string[] = [];
    await rig.run((run) => restartUntilReady(run, { node: 'k8s-2', domain: 1, configured: 1, applied: 1, role: 'voter', action: 'restart' }, []), {
      decide: (g) => (asked.push(g.title), { choice: 'retry' }),
    });
    expect(asked).toEqual(['k8s-2 is not back']);
    const parent = rig.chat.parents().find((m) => m.message.text.startsWith(`job ${rig.jobId} `))!;
    const gate = await rig.chat.waitFor(() => rig.chat.thread(parent.ts).find((m) => m.message.buttons?.some((b) => b.label === 'Restart again'))?.message);
    expect(gate.buttons?.map((b) => b.label)).toEqual(['Restart again', 'Stop here']);
    expect(gate.body).toContain('systemctl command failed');
    expect(gate.body).toContain("k8s-2's ha-conf says failure-domain=1; MicroK8s on it may still be stopped or starting. *Restart again* runs `microk8s stop` and `microk8s start` on k8s-2 again and waits; *Stop here* leaves it as it is.");
    expect(rig.doneSteps()).toEqual([`${titles.restart('k8s-2')} (attempt 2)`, `${titles.wait('k8s-2', 1)} (attempt 2)`]);
    expect(rig.commands('k8s-2').filter((c) => c === 'microk8s start')).toHaveLength(2);
    expect(rig.sim.state.node('k8s-2').stopped).toBe(false);
  });

  it('Stop here fails saying what was done and how to go on; the node is left as it is', async () => {
    rig.sim.inject({ node: 'k8s-2', match: 'microk8s start', kind: 'fail', exitCode: 1, stderr: START_FAILS, times: 1 });
    const target = { node: 'k8s-2', domain: 7, configured: 1, applied: 1, role: 'voter' as const, action: 'write' as const };
    await rig.run((run) => writeHaConf(run, target, STAMP));
    const err = await rejectionOf(rig.run((run) => restartUntilReady(run, target, ['k8s-1 → 2']), { decide: () => ({ choice: 'stop' }) }), RunbookFailure);
    expect(err.message).toMatch(/^Stopped at k8s-2: .*systemctl command failed/s);
    expect(err.message).toContain("Done before it: k8s-1 → 2. k8s-2's ha-conf says failure-domain=7; check it with `sudo microk8s status --wait-ready` (run `sudo microk8s start` if it is stopped), then request the same change again: nodes already done are skipped.");
    expect(rig.sim.state.node('k8s-2').stopped).toBe(true);
    expect(await rig.run((run) => describeDomains(run, ['k8s-2']))).toBe('k8s-2: ha-conf failure-domain=7, dqlite uses 1, NotReady');

    // as it says: the same change again restarts it, and it is Ready in domain 7
    await rig.run((run) => restartUntilReady(run, target, []));
    expect(file('k8s-2', BACKEND_FAILURE_DOMAIN)).toBe('7\n');
    expect(await rig.run((run) => describeDomains(run, ['k8s-2']))).toBe('k8s-2: ha-conf failure-domain=7, dqlite uses 7, Ready');
  });

  it('a node Ready again whose dqlite still uses another domain is not back either', async () => {
    rig.sim.inject({ node: 'k8s-3', match: 'backend/failure-domain', kind: 'fail', exitCode: 0, stdout: '9\n', stderr: '' });
    const target = { node: 'k8s-3', domain: 3, configured: 3, applied: 9, role: 'voter' as const, action: 'restart' as const };
    const err = await rejectionOf(rig.run((run) => restartUntilReady(run, target, []), { decide: () => ({ choice: 'stop' }) }), RunbookFailure);
    expect(err.message).toMatch(new RegExp(`^Stopped at k8s-3: k8s-3 is Ready, but dqlite on it still uses failure domain 9 \\(${BACKEND_FAILURE_DOMAIN.replace(/\./g, '\\.')}\\) although ha-conf says 3\\. k8s-3's ha-conf says failure-domain=3;`));
    expect(rig.doneSteps()).toEqual([titles.restart('k8s-3')]);
  });
});
