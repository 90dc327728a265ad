import * as z from 'zod';
import { NodeName } from '../src/commands/validators.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { kubeVersionOf } from '../src/microk8s/parse-windows.ts';
import { pickControlPlane } from '../src/ops/controller.ts';
import { preflightWindows, upgradeTarget, validateWindowsNode } from '../src/ops/windows-cluster.ts';
import { uninstallComponents } from '../src/ops/windows-install.ts';
import { installAndVerifyWindowsNode } from '../src/ops/windows-join-steps.ts';
import { upgradePlan, windowsTitles } from '../src/ops/windows-plan.ts';

const KubeVersion = z.string().regex(/^v?1\.\d{1,2}\.\d{1,3}$/, { error: (iss) => `'${String(iss.input).slice(0, 40)}' is not a Kubernetes version; use one such as 1.27.5` });
const Args = z.object({ node: NodeName, to: KubeVersion.optional() });

/**
 * Upgrade a Windows worker — the seed's "no specific upgrade path": uninstall the node
 * components, then install them again at the cluster's current Kubernetes and Calico
 * versions (or --to), and verify as after an add.
 */
export default defineRunbook(
  {
    verb: 'windows-worker upgrade',
    usage: 'windows-worker upgrade <node> [--to <version>]',
    example: 'windows-worker upgrade w1',
    summary: "Reinstall kubelet, kube-proxy and Calico on a Windows worker at the cluster's current versions (uninstall, then install again)",
    positional: ['node'],
    flags: { to: { key: 'to', type: 'string', describe: 'the Kubernetes version to install (default: the control plane\'s)' } },
    args: Args,
    mutating: true,
    validate: ({ node }, cluster) => validateWindowsNode(node, cluster),
    plan: ({ node }, cluster) => upgradePlan(cluster, node),
  },
  async (run, { node, to }) => {
    const read = await run.step(`preflight: ${node} and the cluster's versions`, async () => {
      const p = await preflightWindows(run, node);
      const kube = (await pickControlPlane(run, { exclude: [node] })).nodes.find((n) => n.name === node);
      return { ...p, kubeVersion: upgradeTarget(p, to), nodeKubelet: kubeVersionOf(kube?.kubeletVersion ?? '') ?? '' };
    }, { describe: (p) => `${node} runs kubelet ${p.nodeKubelet || '(not in the cluster)'}; install Kubernetes ${p.kubeVersion}, Calico ${p.calicoVersion}` });
    const { nodeKubelet, ...pre } = read;
    if (nodeKubelet === pre.kubeVersion) {
      await run.say(`${node} already runs kubelet ${nodeKubelet}, the version asked for; nothing to do.`);
      return;
    }
    for (const w of pre.warnings) await run.say(`:warning: ${w}`);
    run.setPlan(upgradePlan(run.cluster, node, pre));
    const t = windowsTitles(node, pre);

    await run.approvePlan({
      always: true,
      title: `Upgrade the Windows worker ${node} to Kubernetes ${pre.kubeVersion}`,
      what: `Uninstall kubelet, kube-proxy and Calico on ${node} (it leaves the cluster's workloads meanwhile), then install Kubernetes ${pre.kubeVersion} and Calico for Windows v${pre.calicoVersion} again and verify with a nanoserver pod.`,
      why: `${node} is NotReady from the uninstall until the new kubelet joins.`,
      nodes: [node],
      destructive: true,
    });

    // 1. Uninstall the node components (seed "Uninstall", Windows side).
    await run.step(t.uninstall, () => uninstallComponents(run, node), { describe: (s) => s });
    // 2.–3. Install them again at the new versions (seed "Prepare the Windows node" 2, "Install Calico" 1–8), then verify.
    await installAndVerifyWindowsNode(run, node, pre, t);
  },
);
