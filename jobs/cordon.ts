import { defineRunbook } from '../src/engine/define.ts';
import { pickControlPlane, requireKubeNode } from '../src/ops/controller.ts';
import { kubectlNodeVerb } from '../src/commands/node-verb.ts';
import { describeNodes } from '../src/ops/upgrade.ts';

/** Cordon a node: no new pods are scheduled on it; those running stay. Already cordoned is fine. */
export default defineRunbook(
  kubectlNodeVerb({
    verb: 'cordon',
    usage: 'cordon <node>',
    example: 'cordon k8s-2',
    summary: 'Mark a node unschedulable (pods already on it keep running); a node cordoned on purpose stays cordoned through later runbooks',
    steps: (node, controller) => [
      { title: `read ${node}`, node: controller, commands: ['microk8s kubectl get nodes -o json'] },
      { title: `cordon ${node}`, node: controller, commands: [`microk8s kubectl cordon ${node}`] },
    ],
  }),
  async (run, { node }) => {
    const before = await run.step(`read ${node}`, async () => {
      const controller = await pickControlPlane(run, { avoid: node });
      const kube = requireKubeNode(controller.nodes, node);
      return { controller: controller.name, cordoned: kube.unschedulable };
    }, { describe: (b) => `${b.cordoned ? 'already cordoned' : 'schedulable'}; kubectl via ${b.controller}` });

    await run.approvePlan({
      title: `Cordon ${node}`,
      what: `Mark ${node} unschedulable: no new pods go there; the pods on it keep running.${before.cordoned ? ` It is already cordoned, so this changes nothing.` : ''}`,
      nodes: [node],
    });

    await run.step(`cordon ${node}`, async () => ((await run.node(before.controller).cordon(node)).changed ? 'cordoned' : 'was already cordoned'), {
      describe: (r) => r,
    });
  },
  { describeState: (run, { node }) => describeNodes(run, [node]) },
);
