/**
 * The seed's "Verify the Windows node" and the cluster side of "Uninstall"
 * (src/ops/windows-verify.ts) over the real run context, on a Windows host joined by the
 * install helpers: Ready with its Windows OS image (or why not, with kubelet's last log lines),
 * the nanoserver test pod (a leftover deleted first; it cannot reach the kubernetes service; it
 * never starts — deleted every time), the drain, and `kubectl delete node`.
 */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { uninstallComponents } from '../../src/ops/windows-install.ts';
import { deleteWindowsNode, drainWindowsNode, testPodName, verifyTestPod, waitWindowsReady } from '../../src/ops/windows-verify.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';
import { joinWindowsNode, windowsCluster, WINDOWS_SETTINGS } from '../support/windows.ts';

const KUBELET_SERVICE = 'c:\\CalicoWindows\\kubernetes\\kubelet-service.ps1';
const IMAGE = 'mcr.microsoft.com/windows/nanoserver:ltsc2022';

describe('windows-verify on 1.27 (k8s-1, k8s-2, w1)', () => {
  const rig = useOpsRig({ nodes: windowsCluster(), policy: { readyTimeout: '2s' }, extra: WINDOWS_SETTINGS });
  const win = () => rig.sim.state.node('w1').windows!;
  const testPods = () => rig.sim.state.pods.filter((p) => p.name.startsWith('win-verify-'));

  it('once kubelet runs: w1 Ready with its Windows image, kernel and kubelet version, read from the other nodes', async () => {
    await joinWindowsNode(rig, 'w1');
    expect(await rig.run((run) => waitWindowsReady(run, 'w1'))).toBe('w1 Ready: Windows Server 2022 Datacenter Evaluation, kernel 10.0.20348.587, kubelet v1.27.5');
    expect(rig.commands('w1')).toEqual([]);
    expect(testPodName('Job_42.X')).toBe('win-verify-job-42-x');
    expect(testPodName('9'.repeat(80))).toHaveLength(63);
  });

  it('a kubelet that stops at flag parsing: NotReady past readyTimeout, with the last lines of kubelet.err.log', async () => {
    const good = win().fs.text(KUBELET_SERVICE)!;
    win().fs.put(KUBELET_SERVICE, `${good}\r\n    "--logtostderr=true", \``, Date.now());
    try {
      await rig.run((run) => run.windowsNode('w1').startKubeServices());
      expect(rig.sim.state.nodes.get('w1')?.ready).toBe(false);
      const err = await rejectionOf(rig.run((run) => waitWindowsReady(run, 'w1')), RunbookFailure);
      expect(err.message).toMatch(/ kubelet's log on w1 \(c:\\k\\kubelet\.err\.log\) ends with: E\d{4} [\d:.]+ +\d+ run\.go:74\] "command failed" err="failed to parse kubelet flag: unknown flag: --logtostderr"$/);
    } finally {
      win().fs.put(KUBELET_SERVICE, good, Date.now());
      await rig.run((run) => run.windowsNode('w1').startKubeServices());
    }
    expect(rig.sim.state.nodes.get('w1')?.ready).toBe(true);
  });

  it('the test pod runs on w1 and reaches https://kubernetes, a leftover of the same job deleted first; it is deleted after', async () => {
    const text = await rig.run(async (run) => {
      await run.node('k8s-1').windows.runTestPod(testPodName(run.jobId), IMAGE, 'w1'); // an interrupted run's pod
      return verifyTestPod(run, 'w1');
    });
    const pod = testPodName(rig.jobId);
    expect(text).toBe(`${pod} ran on w1 and reached https://kubernetes (the API server answered 401 Unauthorized); deleted`);
    const kubectl = rig.commands('k8s-1').filter((c) => c.includes(pod));
    expect(kubectl[0]).toMatch(new RegExp(`^microk8s kubectl run ${pod} `));
    expect(kubectl[1]).toMatch(new RegExp(`^microk8s kubectl delete pod ${pod}`));
    expect(kubectl.at(-1)).toMatch(new RegExp(`^microk8s kubectl delete pod ${pod}`));
    expect(kubectl.some((c) => c.startsWith(`microk8s kubectl wait --for=condition=Ready pod/${pod} --timeout=300s`))).toBe(true);
    expect(testPods()).toEqual([]);
  });

  it('fails when the pod cannot reach the kubernetes service (kube-proxy stopped), or never starts; the pod is deleted either way', async () => {
    win().services.get('kube-proxy')!.status = 'Stopped';
    try {
      const err = await rejectionOf(rig.run((run) => verifyTestPod(run, 'w1')), RunbookFailure);
      expect(err.message).toMatch(/^The test pod on w1 started but cannot reach the kubernetes service \(curl https:\/\/kubernetes answered .*\): check kube-proxy and Calico on w1\.$/s);
      expect(testPods()).toEqual([]);
    } finally {
      win().services.get('kube-proxy')!.status = 'Running';
    }
    rig.sim.inject({ node: '*', match: 'wait --for=condition=Ready pod/', kind: 'fail', exitCode: 1, stderr: 'error: timed out waiting for the condition on pods/win-verify' });
    const slow = await rejectionOf(rig.run((run) => verifyTestPod(run, 'w1')), RunbookFailure);
    expect(slow.message).toMatch(new RegExp(`^The test pod ${testPodName(rig.jobId)} \\(${IMAGE.replaceAll('.', '\\.')}\\) did not start on w1 within 300 s: .*timed out waiting for the condition`, 's'));
    expect(testPods()).toEqual([]);
  });

  it('drains w1, then deletes it once uninstalled; a drain after that finds nothing to do', async () => {
    expect(await rig.run((run) => drainWindowsNode(run, 'w1'))).toMatch(/^(no pods to evict|evicted .+)$/);
    expect(rig.commands('k8s-1')).toContainEqual(expect.stringMatching(/^microk8s kubectl drain w1 /));
    expect(rig.sim.state.node('w1').cordoned).toBe(true);
    await rig.run((run) => uninstallComponents(run, 'w1'));
    expect(await rig.run((run) => deleteWindowsNode(run, 'w1'))).toBe('w1 deleted from the cluster (kubectl on k8s-1)');
    expect(rig.commands('k8s-1')).toContainEqual(expect.stringMatching(/^microk8s kubectl delete node w1/));
    expect(rig.sim.state.nodes.has('w1')).toBe(false);
    expect(await rig.run((run) => drainWindowsNode(run, 'w1'))).toBe('w1 is not in the cluster; nothing to drain');
    expect(rig.commands().some((c) => c.includes('drain'))).toBe(false);
  });
});
