import { defineRunbook } from '../src/engine/define.ts';
import { pickControlPlane, requireKubeNode } from '../src/ops/controller.ts';
import { kubectlNodeVerb } from '../src/commands/node-verb.ts';
import { describeNodes } from '../src/ops/upgrade.ts';

/** Uncordon a node: pods may be scheduled on it again. Already schedulable is fine. */
export default defineRunbook(
  kubectlNodeVerb({
    verb: 'uncordon',
    usage: 'uncordon <node>',
    example: 'uncordon k8s-2',
    summary: 'Make a cordoned or drained node schedulable again',
    steps: (node, controller) => [
      { title: `read ${node}`, node: controller, commands: ['microk8s kubectl get nodes -o json'] },
      { title: `uncordon ${node}`, node: controller, commands: [`microk8s kubectl uncordon ${node}`] },
    ],
  }),
  async (run, { node }) => {
    const before = await run.step(`read ${node}`, async () => {
      const controller = await pickControlPlane(run, { avoid: node });
      const kube = requireKubeNode(controller.nodes, node);
      return { controller: controller.name, cordoned: kube.unschedulable, ready: kube.ready };
    }, { describe: (b) => `${b.cordoned ? 'cordoned' : 'already schedulable'}${b.ready ? ', Ready' : ', NotReady'}; kubectl via ${b.controller}` });

    await run.approvePlan({
      title: `Uncordon ${node}`,
      what: `Make ${node} schedulable again: new pods may be placed on it.${before.cordoned ? '' : ' It is not cordoned, so this changes nothing.'}${before.ready ? '' : ` ⚠️ ${node} is NotReady.`}`,
      nodes: [node],
    });

    await run.step(`uncordon ${node}`, async () => ((await run.node(before.controller).uncordon(node)).changed ? 'uncordoned' : 'was already schedulable'), {
      describe: (r) => r,
    });
  },
  { describeState: (run, { node }) => describeNodes(run, [node]) },
);
