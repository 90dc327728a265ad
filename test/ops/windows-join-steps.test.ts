/**
 * The Windows side `windows-worker add` and `upgrade` share (src/ops/windows-join-steps.ts), as
 * one sequence of checkpointed steps over the real run context: every step in the seed's order
 * with its thread line, the kubeconfig in no step result, a failing step stops the sequence there,
 * and a reinstall at an older Kubernetes (the upgrade's `--to`) with no kubelet flag to remove.
 */
import { describe, expect, it } from 'vitest';
import { WindowsStepError } from '../../src/errors/user-facing.ts';
import { preflightWindows, prepareCalico, type WindowsPreflight } from '../../src/ops/windows-cluster.ts';
import { installContainerd, uninstallComponents } from '../../src/ops/windows-install.ts';
import { installAndVerifyWindowsNode } from '../../src/ops/windows-join-steps.ts';
import { windowsTitles } from '../../src/ops/windows-plan.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';
import { windowsCluster, WINDOWS_SETTINGS } from '../support/windows.ts';

describe('installAndVerifyWindowsNode on 1.27 (k8s-1, k8s-2, w1)', () => {
  const rig = useOpsRig({ nodes: windowsCluster(), extra: { windows: { ...WINDOWS_SETTINGS.windows, podTimeout: '2m' } } });
  const win = () => rig.sim.state.node('w1').windows!;
  let pre: WindowsPreflight;
  const sequence = (t: ReturnType<typeof windowsTitles>) => [t.kubeconfig, t.download, t.calico, t.services, t.firewall, t.kubelet, t.start, t.ready, t.pod];

  it('runs the seed\'s steps in order, each with its line in the thread; w1 joins Ready and the test pod is gone', async () => {
    pre = await rig.run(async (run) => {
      const p = await preflightWindows(run, 'w1');
      await prepareCalico(run, p);
      await installContainerd(run, 'w1', p.lastBoot);
      return p;
    });
    const t = windowsTitles('w1', pre);
    await rig.run((run) => installAndVerifyWindowsNode(run, 'w1', pre, t));
    expect(rig.doneSteps()).toEqual(sequence(t));
    expect(await rig.line(`✅ ${t.kubelet} — `)).toMatch(/^✅ set InterfaceName and the kubelet flags for 1\.27\.5 — InterfaceName "vEthernet \(Ethernet\)"; removed --logtostderr=true, --container-runtime=remote · /);
    expect(await rig.line(`✅ ${t.download} — `)).toMatch(/— Calico for Windows v3\.25\.0 and Kubernetes 1\.27\.5 binaries downloaded · /);
    expect(await rig.line(`✅ ${t.pod} — `)).toMatch(/— win-verify-\S+ ran on w1 and reached https:\/\/kubernetes \(the API server answered 401 Unauthorized\); deleted · /);
    expect(rig.sim.state.nodes.get('w1')).toMatchObject({ ready: true, kubeletVersion: 'v1.27.5' });
    expect(rig.sim.state.pods.some((p) => p.name.startsWith('win-verify-'))).toBe(false);
  });

  it('keeps the kubeconfig out of every step result, the thread and the job data', () => {
    const config = win().fs.text('c:\\k\\config')!;
    const secret = /client-key-data: (\S+)/.exec(config)?.[1] ?? /token: (\S+)/.exec(config)![1]!;
    expect(JSON.stringify(rig.data())).not.toContain(secret);
    expect(rig.thread().join('\n')).not.toContain(secret);
    expect(Object.values(rig.data().steps).find((s) => s.title.startsWith('write c:\\k\\config'))).toBeDefined();
  });

  it('stops at a failing step (the Calico installer\'s early exit 0): later steps are not run', async () => {
    await rig.run((run) => uninstallComponents(run, 'w1'));
    win().faults.calicoSaysStillRunning = true;
    const t = windowsTitles('w1', pre);
    try {
      const err = await rejectionOf(rig.run((run) => installAndVerifyWindowsNode(run, 'w1', pre, t)), WindowsStepError);
      expect(err.message).toMatch(/^download Calico and Kubernetes on w1 failed: it stopped early and exited 0:\n[\s\S]*Calico services are still running/);
    } finally {
      win().faults.calicoSaysStillRunning = false;
    }
    expect(rig.doneSteps()).toEqual([t.kubeconfig]);
    expect(await rig.line(`❌ ${t.download}`)).toContain('Calico services are still running');
    expect(win().running('kubelet')).toBe(false);
  });

  it('reinstalls at an older Kubernetes (an upgrade\'s --to 1.25.2): no kubelet flag to remove, kubelet v1.25.2', async () => {
    const older = { ...pre, kubeVersion: '1.25.2' };
    const t = windowsTitles('w1', older);
    await rig.run((run) => installAndVerifyWindowsNode(run, 'w1', older, t));
    expect(rig.doneSteps()).toEqual(sequence(t));
    expect(await rig.line(`✅ ${t.kubelet} — `)).toMatch(/^✅ set InterfaceName and the kubelet flags for 1\.25\.2 — InterfaceName "vEthernet \(Ethernet\)"; no flag to remove · /);
    const ps1 = win().fs.text('c:\\CalicoWindows\\kubernetes\\kubelet-service.ps1')!;
    expect(ps1).toContain('"--logtostderr=true"');
    expect(ps1).toContain('"--container-runtime=remote"');
    expect(rig.sim.state.nodes.get('w1')).toMatchObject({ ready: true, kubeletVersion: 'v1.25.2' });
  });
});
