/**
 * After a rolling upgrade, the Windows workers it left (src/ops/windows-offers.ts), over the real
 * run context: each with its kubelet version, an `Upgrade <node>` button for each one behind the
 * control plane (none for one not in the cluster or up to date), the text when the versions
 * cannot be read, and nothing at all in a cluster without Windows nodes.
 */
import { describe, expect, it } from 'vitest';
import { WINDOWS_UPGRADE_ACTION } from '../../src/engine/offers.ts';
import { uninstallComponents } from '../../src/ops/windows-install.ts';
import { offerWindowsUpgrades } from '../../src/ops/windows-offers.ts';
import { useOpsRig, type OpsRig } from '../support/ops-rig.ts';
import { joinWindowsNode, windowsCluster, WINDOWS_SETTINGS } from '../support/windows.ts';

/** The buttons of the last run's thread message that says `text`, once it is posted. */
async function buttonsOf(rig: OpsRig, text: string) {
  const msg = await rig.chat.waitFor(() => {
    const parent = rig.chat.parents().find((m) => m.message.text.startsWith(`job ${rig.jobId} `));
    return parent && rig.chat.thread(parent.ts).find((m) => m.message.text === text);
  });
  return msg.message.buttons ?? [];
}

describe('offerWindowsUpgrades on 1.27 (k8s-1, k8s-2, w1 joined, w2 not)', () => {
  const rig = useOpsRig({ nodes: [...windowsCluster(), { name: 'w2', os: 'windows' }], extra: WINDOWS_SETTINGS });

  it('w1 at the control plane\'s version: listed with its kubelet, none behind, no button', async () => {
    await joinWindowsNode(rig, 'w1');
    const text = await rig.run((run) => offerWindowsUpgrades(run));
    expect(text).toBe('Not upgraded (Windows workers run no snap): w1 (kubelet v1.27.5, Ready), w2 (not in the cluster). The control plane now runs v1.27.5; none is behind it.');
    expect(await buttonsOf(rig, text!)).toEqual([]);
    expect(rig.commands('w1')).toEqual([]);
  });

  it('w1 behind the control plane (kubelet 1.26.1): a button that requests windows-worker upgrade w1, bound to this job', async () => {
    await rig.run((run) => uninstallComponents(run, 'w1'));
    await joinWindowsNode(rig, 'w1', '1.26.1');
    expect(rig.sim.state.nodes.get('w1')?.kubeletVersion).toBe('v1.26.1');
    const text = await rig.run((run) => offerWindowsUpgrades(run));
    expect(text).toBe('Not upgraded (Windows workers run no snap): w1 (kubelet v1.26.1, Ready), w2 (not in the cluster). The control plane now runs v1.27.5; reinstall each behind it with `windows-worker upgrade <node>`:');
    expect(await buttonsOf(rig, text!)).toEqual([{ label: 'Upgrade w1', actionId: WINDOWS_UPGRADE_ACTION, value: `${rig.jobId}/w1` }]);
  });

  it('no control-plane node answering: names the Windows workers and says their versions could not be read', async () => {
    for (const n of ['k8s-1', 'k8s-2']) await rig.sim.setDown(n, true);
    try {
      const text = await rig.run((run) => offerWindowsUpgrades(run));
      expect(text).toMatch(/^Not upgraded \(Windows workers run no snap\): w1, w2; their versions could not be read \(.+\)\. Reinstall each with `windows-worker upgrade <node>`\.$/s);
      expect(await buttonsOf(rig, text!)).toEqual([]);
    } finally {
      for (const n of ['k8s-1', 'k8s-2']) await rig.sim.setDown(n, false);
    }
  });
});

describe('offerWindowsUpgrades without Windows nodes', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }] });

  it('says nothing and reads nothing', async () => {
    expect(await rig.run((run) => offerWindowsUpgrades(run))).toBeUndefined();
    expect(rig.thread().filter((t) => t.includes('Windows'))).toEqual([]);
    expect(rig.commands()).toEqual([]);
  });
});
