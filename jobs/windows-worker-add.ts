import * as z from 'zod';
import { NodeName } from '../src/commands/validators.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { RunbookFailure } from '../src/engine/errors.ts';
import { pickControlPlane } from '../src/ops/controller.ts';
import { preflightWindows, prepareCalico, validateWindowsNode, type WindowsPreflight } from '../src/ops/windows-cluster.ts';
import { installContainerd } from '../src/ops/windows-install.ts';
import { installAndVerifyWindowsNode } from '../src/ops/windows-join-steps.ts';
import { addPlan, windowsTitles } from '../src/ops/windows-plan.ts';

const Args = z.object({ node: NodeName });

/**
 * Add a Windows worker — the seed's 向 MicroK8s 添加 Windows 工作节点, step by step: the cluster
 * side on a control-plane node, then the Windows side over SSH and PowerShell, then the seed's
 * verification.
 */
export default defineRunbook(
  {
    verb: 'windows-worker add',
    usage: 'windows-worker add <node>',
    example: 'windows-worker add w1',
    summary: 'Join a Windows Server node (os: windows in the inventory) as a worker: containerd, Calico for Windows, kubelet and kube-proxy at the cluster\'s versions, then a nanoserver test pod',
    positional: ['node'],
    args: Args,
    mutating: true,
    validate: ({ node }, cluster) => validateWindowsNode(node, cluster),
    plan: ({ node }, cluster) => addPlan(cluster, node),
  },
  async (run, { node }) => {
    // 0. Preflight (reads only): the versions, the Windows node, calicoctl.
    const pre: WindowsPreflight = await run.step(`preflight: ${node} can join as a Windows worker`, () => preflightWindows(run, node), {
      describe: (p) => `Kubernetes ${p.kubeVersion}, Calico ${p.calicoVersion} (from ${p.calicoFrom}); ${node}: ${p.productName}, OS build ${p.osBuild}; calicoctl ${p.calicoctl === 'present' ? `v${p.calicoctlVersion} on ${p.controller}` : 'to be downloaded'}`,
    });
    if (pre.inCluster) throw new RunbookFailure(`${node} is already a node of the cluster (kubectl on ${pre.controller} lists it). To reinstall it at the cluster's versions use \`windows-worker upgrade ${node}\`. Nothing was changed.`);
    for (const w of pre.warnings) await run.say(`:warning: ${w}`);
    run.setPlan(addPlan(run.cluster, node, pre));
    const t = windowsTitles(node, pre);

    await run.approvePlan({
      title: `Add the Windows worker ${node} to ${run.cluster.name}`,
      what: `Install containerd (${node} may restart), Calico for Windows v${pre.calicoVersion} and Kubernetes ${pre.kubeVersion} on ${node}, join it as a worker, then run a nanoserver test pod on it.${pre.warnings.length ? ` Warning: ${pre.warnings.join(' ')}` : ''}`,
      nodes: [node],
      recheck: async () => {
        const controller = await pickControlPlane(run, { exclude: [node] });
        if (controller.nodes.some((n) => n.name === node)) throw new RunbookFailure(`${node} joined the cluster meanwhile. Nothing was done.`);
        return controller.name;
      },
    });

    // Prepare the MicroK8s cluster, 4: strict affinity (calicoctl of the cluster's version).
    await run.step(t.affinity, () => prepareCalico(run, pre), { describe: (s) => s });
    // Prepare the Windows node, 1: containerd (the machine may restart).
    await run.step(t.containerd, () => installContainerd(run, node, pre.lastBoot), { describe: (r) => (r.reboots > 0 ? `installed after ${r.reboots} restart(s)` : 'installed') });
    // Prepare the Windows node, 2: c:\k\config. Install Calico, 1–8; start; verify the Windows node, 1–3.
    await installAndVerifyWindowsNode(run, node, pre, t);
  },
);
