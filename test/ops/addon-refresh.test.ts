/**
 * addon-refresh's helpers (src/ops/addon-refresh.ts): the name checks and refusals made before
 * anything is queued, the plan (destructive where the disable is), and the read of the add-on on
 * the first control-plane node that answers (its repository and version; for hostpath-storage,
 * whether its PV data is on the node).
 */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { HOSTPATH_DATA, addonNameProblem, addonRefreshPlan, addonRefusal, bareAddon, readAddon } from '../../src/ops/addon-refresh.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('addon-refresh', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1', channel: '1.26/stable' }, { name: 'k8s-2', channel: '1.26/stable' }, { name: 'w1', role: 'worker', channel: '1.26/stable' }] });

  it('checks the name: no arguments, one add-on, an add-on name', () => {
    expect(bareAddon('core/dns')).toBe('dns');
    expect(bareAddon('dns')).toBe('dns');
    expect(addonNameProblem('dns')).toBeUndefined();
    expect(addonNameProblem('core/dns')).toBeUndefined();
    expect(addonNameProblem('hostpath-storage:destroy-storage')).toBe("'hostpath-storage:destroy-storage': addon-refresh passes no add-on arguments (such as hostpath-storage:destroy-storage); give the add-on's name only");
    expect(addonNameProblem('dns,ingress')).toBe(`'dns,ingress': one add-on per command, as MicroK8s asks ("Do not enable or disable multiple addons in one command")`);
    expect(addonNameProblem('../dns')).toBe(`'../dns' is not an add-on name: lowercase letters, digits and "-", optionally with its repository (core/dns)`);
    expect(addonNameProblem('<@U1>')).toMatch(/^'&lt;@U1&gt;' is not an add-on name/);
  });

  it('refuses built-in add-ons and those whose disable loses data or the cluster; allows the rest', () => {
    expect(addonRefusal('core/helm3', rig.cluster)).toBe('helm3 comes pre-installed with MicroK8s; disabling and enabling it does nothing. Nothing was queued.');
    expect(addonRefusal('ha-cluster', rig.cluster)).toBe(`addon-refresh refuses ha-cluster on ${rig.cluster.name}: \`microk8s disable ha-cluster\` migrates the cluster off dqlite to flannel and etcd ("Disabling HA will reset your cluster in a clean state"), losing the high-availability datastore and every joined node. Upgrade it by its own procedure (its release notes). Nothing was queued.`);
    expect(addonRefusal('mayastor', rig.cluster)).toMatch(/losing all data on Mayastor volumes\./);
    expect(addonRefusal('dns', rig.cluster)).toBeUndefined();
    expect(addonRefusal('hostpath-storage', rig.cluster)).toBeUndefined();
  });

  it('plans disable then enable on a control-plane node, the disable marked destructive where it is', () => {
    const plan = addonRefreshPlan('core/dns', rig.cluster);
    expect(plan.map((s) => [s.title, s.node, s.commands])).toEqual([
      ['check core/dns is enabled', 'k8s-1', ['microk8s status --format yaml']],
      [expect.stringMatching(/^disable core\/dns: deletes CoreDNS, /), 'k8s-1', ['microk8s disable core/dns']],
      ['enable core/dns', 'k8s-1', ['microk8s enable core/dns']],
      ['check core/dns is enabled again', 'k8s-1', ['microk8s status --format yaml']],
    ]);
    expect(plan[1]?.destructive).toBe(true);
    expect(addonRefreshPlan('metallb', rig.cluster)[1]?.destructive).toBe(false);
  });

  it('reads the add-on as the first control-plane node lists it, matching its repository', async () => {
    expect(await rig.run((run) => readAddon(run, 'core/dns'))).toEqual({ controller: 'k8s-1', name: 'dns', repository: 'core', version: '1.10.1', enabled: true });
    expect(rig.commands()).toEqual(['microk8s status --format yaml']);
    expect(await rig.run((run) => readAddon(run, 'ingress'))).toMatchObject({ controller: 'k8s-1', name: 'ingress', enabled: false });
    const err = await rejectionOf(rig.run((run) => readAddon(run, 'community/dns')), RunbookFailure);
    expect(err.message).toMatch(/^k8s-1's MicroK8s has no add-on community\/dns \(microk8s status lists \d+\)\. Nothing was changed\.$/);
  });

  it('for hostpath-storage, says whether the PV data is on the node', async () => {
    expect(await rig.run((run) => readAddon(run, 'hostpath-storage'))).toMatchObject({ controller: 'k8s-1', enabled: false, dataKept: false });
    expect(rig.commands('k8s-1')).toEqual(['microk8s status --format yaml', `test -e ${HOSTPATH_DATA}`]);
    rig.sim.state.node('k8s-1').fs.mkdirp(HOSTPATH_DATA, true);
    expect(await rig.run((run) => readAddon(run, 'hostpath-storage'))).toMatchObject({ dataKept: true });
  });

  it('asks the next control-plane node when one does not answer, and fails naming each when none does', async () => {
    rig.sim.inject({ node: 'k8s-1', match: 'microk8s status', kind: 'fail', exitCode: 1, stderr: 'Connection refused\n' });
    expect(await rig.run((run) => readAddon(run, 'dns'))).toMatchObject({ controller: 'k8s-2', enabled: true });
    rig.sim.inject({ node: 'k8s-2', match: 'microk8s status', kind: 'fail', exitCode: 1, stderr: 'Connection refused\n' });
    const err = await rejectionOf(rig.run((run) => readAddon(run, 'dns')), RunbookFailure);
    expect(err.message).toMatch(/^no control-plane node answered microk8s status \(k8s-1: .*Connection refused.*; k8s-2: .*Connection refused.*\)$/s);
    expect(rig.commands('w1')).toEqual([]);
  });
});
