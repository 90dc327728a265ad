/**
 * Seed "Verify the Windows node": the node Ready in kubectl with a Windows OS image, a
 * nanoserver pod on it that starts (a bounded wait, longer than kubectl run's 60 s) and reaches
 * the `kubernetes` service; the pod is always deleted again. And the cluster side of "Uninstall".
 */
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import { pickControlPlane } from './controller.ts';
import { drain } from './drain.ts';
import { waitForNode } from './membership.ts';

/** The Node object Ready with a Windows OS image; else why, with kubelet's own last words. */
export async function waitWindowsReady(run: RunContext, node: string): Promise<string> {
  const controller = await pickControlPlane(run, { exclude: [node] });
  let seen;
  try {
    seen = await waitForNode(run, controller.name, node, 'ready', run.cluster.policy.readyTimeout);
  } catch (err) {
    let log = '';
    try {
      const lines = await run.windowsNode(node).kubeletLog();
      log = lines.length > 0 ? ` kubelet's log on ${node} (c:\\k\\kubelet.err.log) ends with: ${lines.slice(-3).join(' ⏎ ').slice(0, 600)}` : '';
    } catch {
      log = '';
    }
    throw new RunbookFailure(`${errorText(err)}${log}`);
  }
  if (!seen?.osImage?.includes('Windows') && seen?.operatingSystem !== 'windows') {
    throw new RunbookFailure(`${node} is Ready but kubectl reports the OS image "${seen?.osImage ?? '?'}", not Windows: another machine registered under this name.`);
  }
  return `${node} Ready: ${seen.osImage ?? 'Windows'}, kernel ${seen.kernelVersion ?? '?'}, kubelet ${seen.kubeletVersion}`;
}

export function testPodName(jobId: string): string {
  return `win-verify-${jobId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63);
}

/** The nanoserver pod: scheduled on the node, Ready within windows.podTimeout, curl of https://kubernetes from it. */
export async function verifyTestPod(run: RunContext, node: string): Promise<string> {
  const controller = await pickControlPlane(run, { exclude: [node] });
  const side = controller.ops.windows;
  const pod = testPodName(run.jobId);
  const seconds = Math.max(61, Math.round(run.cluster.windows.podTimeout / 1000));
  await side.deletePod(pod); // a leftover of an interrupted run
  try {
    await side.runTestPod(pod, run.cluster.windows.testImage, node);
    try {
      await side.waitPodReady(pod, seconds);
    } catch (err) {
      throw new RunbookFailure(`The test pod ${pod} (${run.cluster.windows.testImage}) did not start on ${node} within ${seconds} s: ${errorText(err)}`);
    }
    const answer = await side.curlKubernetesFromPod(pod);
    if (!answer.ok) throw new RunbookFailure(`The test pod on ${node} started but cannot reach the kubernetes service (curl https://kubernetes answered ${answer.answer}): check kube-proxy and Calico on ${node}.`);
    return `${pod} ran on ${node} and reached https://kubernetes (the API server answered ${answer.answer.includes('401') ? '401 Unauthorized' : 'with a Status'}); deleted`;
  } finally {
    await side.deletePod(pod).catch(() => undefined);
  }
}

/** Seed "Uninstall", on the MicroK8s machine: `kubectl delete node`. */
export async function deleteWindowsNode(run: RunContext, node: string): Promise<string> {
  const controller = await pickControlPlane(run, { exclude: [node] });
  await controller.ops.windows.deleteNode(node);
  await waitForNode(run, controller.name, node, 'gone', 60_000);
  return `${node} deleted from the cluster (kubectl on ${controller.name})`;
}

/** Drain before removal: the node's pods go elsewhere (DaemonSet pods stay). Not in the cluster: nothing to do. */
export async function drainWindowsNode(run: RunContext, node: string): Promise<string> {
  const controller = await pickControlPlane(run, { exclude: [node] });
  if (!controller.nodes.some((n) => n.name === node)) return `${node} is not in the cluster; nothing to drain`;
  const evicted = await drain(run, controller.name, node);
  return evicted.length > 0 ? `evicted ${evicted.join(', ')}` : 'no pods to evict';
}
