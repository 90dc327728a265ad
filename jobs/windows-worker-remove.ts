import * as z from 'zod';
import { NodeName } from '../src/commands/validators.ts';
import { errorText } from '../src/engine/context.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { pickControlPlane } from '../src/ops/controller.ts';
import { validateWindowsNode } from '../src/ops/windows-cluster.ts';
import { uninstallComponents } from '../src/ops/windows-install.ts';
import { removePlan, windowsTitles } from '../src/ops/windows-plan.ts';
import { deleteWindowsNode, drainWindowsNode } from '../src/ops/windows-verify.ts';

const Args = z.object({ node: NodeName });
const NO_VERSIONS = { kubeVersion: '', calicoVersion: '' };

/**
 * Remove a Windows worker — the seed's "Uninstall the Windows worker node": drain it, on the
 * Windows machine uninstall-kube-services.ps1 and uninstall-calico.ps1, on the MicroK8s
 * machine `kubectl delete node`. Destructive: its own approval.
 */
export default defineRunbook(
  {
    verb: 'windows-worker remove',
    usage: 'windows-worker remove <node>',
    example: 'windows-worker remove w1',
    summary: 'Drain a Windows worker, uninstall kubelet, kube-proxy and Calico on it, and delete it from the cluster',
    positional: ['node'],
    args: Args,
    mutating: true,
    validate: ({ node }, cluster) => validateWindowsNode(node, cluster),
    plan: ({ node }, cluster) => removePlan(cluster, node),
  },
  async (run, { node }) => {
    const t = windowsTitles(node, NO_VERSIONS);
    const pre = await run.step(`preflight: read ${node} and the cluster`, async () => {
      const controller = await pickControlPlane(run, { exclude: [node] });
      const seen = controller.nodes.find((n) => n.name === node);
      let reachable = 'reachable';
      try {
        await run.windowsNode(node).facts();
      } catch (err) {
        reachable = `not reachable (${errorText(err)})`;
      }
      return { controller: controller.name, inCluster: seen !== undefined, ready: seen?.ready === true, reachable };
    }, { describe: (p) => `${node}: ${p.inCluster ? `in the cluster, ${p.ready ? 'Ready' : 'NotReady'}` : 'not in the cluster'}; ${p.reachable} over SSH` });
    run.setPlan(removePlan(run.cluster, node, pre));

    // destructive: always its own gate, whatever the plan policy
    await run.approvePlan({
      title: `Remove the Windows worker ${node} from ${run.cluster.name}`,
      what: `Drain ${node}, uninstall kubelet, kube-proxy and Calico on it, then \`kubectl delete node ${node}\`.`,
      why: `Its pods move to other Windows nodes or stay Pending; ${node} has to be added again (windows-worker add) to run workloads.`,
      nodes: [node],
      destructive: true,
      always: true,
    });

    // 0. Drain (the careful operator's first step before taking a node away).
    await run.step(t.drain, () => drainWindowsNode(run, node), { describe: (s) => s });
    // On the Windows machine, 1–2.
    await run.step(t.uninstall, () => uninstallComponents(run, node), { describe: (s) => s });
    // On the MicroK8s machine, 1.
    await run.step(t.delete, () => deleteWindowsNode(run, node), { describe: (s) => s });
  },
);
