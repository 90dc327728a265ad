/**
 * A node's upgrade after its preflight (src/ops/node-upgrade.ts): the steps in order, each on the
 * right node, what a repeated refresh skips, what the drain check and the uncordon refuse.
 */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { checkDrainedStep, preflightStep, refreshStep, uncordonStep, upgradeNodes, type UpgradePhase } from '../../src/ops/node-upgrade.ts';
import { readNodeRecord } from '../../src/store/node-records.ts';
import { upgradeTitles, type UpgradePreflight } from '../../src/ops/upgrade.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('upgradeNodes', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }, { name: 'w1', role: 'worker' }, { name: 'w2', role: 'worker' }, { name: 'w3', role: 'worker' }] });

  it('upgrades a batch: preflight, drain, check, refresh, wait, uncordon, record — each one step, through the guard in order', async () => {
    const phases: UpgradePhase[] = [];
    const ready = await rig.run(async (run) => {
      const pres = await preflightStep(run, ['w1', 'w2'], '1.23/stable');
      return upgradeNodes(run, pres, '1.23/stable', (phase, step) => {
        phases.push(phase);
        return step();
      });
    });
    expect(phases).toEqual(['drain', 'check', 'refresh', 'wait', 'uncordon', 'record']);
    const t = upgradeTitles('w1, w2', '1.23/stable');
    expect(rig.doneSteps()).toEqual([t.preflight, t.drain, t.check, t.refresh, t.wait, t.uncordon, t.record]);
    expect(Object.keys(ready)).toEqual(['w1', 'w2']);
    expect(ready.w1?.kubeletVersion).toMatch(/^v1\.23\./);
    for (const n of ['w1', 'w2']) {
      expect(rig.commands(n)).toContain('snap refresh microk8s --channel 1.23/stable');
      expect(rig.sim.state.node(n).revision).toBe(2948);
      expect(rig.sim.state.node(n).cordoned).toBe(false);
      expect(await readNodeRecord(rig.redis, rig.cluster.name, n)).toMatchObject({ revision: '2948', channel: '1.23/stable', previous: { revision: '2551', version: 'v1.22.3', channel: '1.22/stable' } });
    }
    expect(rig.commands('w3')).toEqual([]);
    expect(await rig.line(`✅ ${t.refresh}`)).toMatch('w1: now v1.23.3; w2: now v1.23.3');
  });

  it('does not refresh a node that already moved to the channel (a repeated step)', async () => {
    const pre: UpgradePreflight = { node: 'w1', role: 'worker', fromVersion: 'v1.22.3', fromRevision: '2551', fromChannel: '1.22/stable', wasCordoned: false, controller: 'k8s-1', backupNode: 'k8s-1', voters: 3, warnings: [] };
    const r = await rig.run((run) => refreshStep(run, [pre], '1.23/stable'));
    expect(r).toEqual({ w1: { skipped: true, version: 'v1.23.3' } });
    expect(rig.commands('w1')).toEqual(['snap list microk8s']);
  });

  it('refuses to refresh while workload pods are left on the node, naming them', async () => {
    const pre: UpgradePreflight = { node: 'w3', role: 'worker', fromVersion: 'v1.22.3', fromRevision: '2551', fromChannel: '1.22/stable', wasCordoned: false, controller: 'k8s-2', backupNode: 'k8s-2', voters: 3, warnings: [] };
    const left = rig.sim.state.podsOn('w3').filter((p) => p.owner?.kind !== 'DaemonSet' && !p.mirror).map((p) => `${p.namespace}/${p.name}`);
    expect(left.length).toBeGreaterThan(0);
    const err = await rejectionOf(rig.run((run) => checkDrainedStep(run, [pre])), RunbookFailure);
    expect(err.message).toContain(`${left.length} pod(s) still on w3 after the drain: `);
    for (const p of left) expect(err.message).toContain(p);
    expect(err.message).toMatch(/\. w3 is cordoned; nothing was refreshed\.$/);
    expect(rig.commands('k8s-2')).toEqual(['microk8s kubectl get pods -A -o json --field-selector spec.nodeName=w3']);
  });

  it('leaves a node cordoned that was cordoned before the upgrade, and uncordons the others', async () => {
    rig.sim.state.node('w2').cordoned = true;
    rig.sim.state.node('w3').cordoned = true;
    const base = { role: 'worker' as const, fromVersion: 'v1.22.3', fromRevision: '2551', fromChannel: '1.22/stable', controller: 'k8s-1', backupNode: 'k8s-1', voters: 3, warnings: [] };
    const r = await rig.run((run) => uncordonStep(run, [{ ...base, node: 'w2', wasCordoned: true }, { ...base, node: 'w3', wasCordoned: false }]));
    expect(r).toEqual({ w2: 'left cordoned: it was cordoned before the upgrade', w3: 'uncordoned' });
    expect(rig.commands('k8s-1')).toEqual(['microk8s kubectl uncordon w3']);
    expect(rig.sim.state.node('w2').cordoned).toBe(true);
    expect(rig.sim.state.node('w3').cordoned).toBe(false);
  });
});
