import { defineRunbook } from '../src/engine/define.ts';
import { RunbookFailure } from '../src/engine/errors.ts';
import { pickControlPlane, requireKubeNode } from '../src/ops/controller.ts';
import { podsForReport, renderDrainMoves } from '../src/ops/drain-report.ts';
import { drain, drainCommand } from '../src/ops/drain.ts';
import { kubectlNodeVerb } from '../src/commands/node-verb.ts';
import { describeNodes, workloadPods } from '../src/ops/upgrade.ts';

const KUBECTL = 'microk8s kubectl';

/**
 * Drain a node — the seed's `microk8s kubectl drain <node> --ignore-daemonsets`:
 * cordon it, evict its pods to the other nodes, say where each one went, and
 * check that only DaemonSet pods are left. Safe to repeat: a drained node drains
 * again with nothing to evict. The node stays cordoned (`uncordon` ends that).
 */
export default defineRunbook(
  kubectlNodeVerb({
    verb: 'drain',
    usage: 'drain <node>',
    example: 'drain k8s-2',
    summary: 'Cordon a node and evict its pods to the other nodes (DaemonSet pods stay), showing where each pod went',
    steps: (node, controller) => [
      { title: `read ${node}`, node: controller, commands: [`${KUBECTL} get nodes -o json`, `${KUBECTL} get pods -A -o json --field-selector spec.nodeName=${node}`] },
      {
        title: `drain ${node}`,
        node: controller,
        commands: [drainCommand(node), `${KUBECTL} get pods -A -o json`],
      },
      { title: `check no workload pods are left on ${node}`, node: controller, commands: [`${KUBECTL} get pods -A -o json --field-selector spec.nodeName=${node}`] },
    ],
  }),
  async (run, { node }) => {
    const before = await run.step(`read ${node}`, async () => {
      const controller = await pickControlPlane(run, { avoid: node });
      const kube = requireKubeNode(controller.nodes, node);
      const pods = workloadPods(await controller.ops.pods({ node }));
      return { controller: controller.name, cordoned: kube.unschedulable, ready: kube.ready, pods: pods.map((p) => `${p.namespace}/${p.name}`) };
    }, {
      describe: (b) => `${b.pods.length} workload pod(s) to move; ${b.cordoned ? 'already cordoned' : 'schedulable'}${b.ready ? '' : ', NotReady'}; kubectl via ${b.controller}`,
    });
    const controller = run.node(before.controller);

    await run.approvePlan({
      title: `Drain ${node}`,
      what: `Cordon ${node} and evict its ${before.pods.length} workload pod(s) to the other nodes; DaemonSet pods stay.${before.cordoned ? ` ${node} is already cordoned.` : ''} It stays cordoned until \`uncordon ${node}\`.`,
      nodes: [node],
    });

    await run.step(`drain ${node}`, async () => {
      const all = await podsForReport(controller);
      const evicted = await drain(run, before.controller, node);
      const after = await podsForReport(controller);
      return { evicted: evicted.length, moved: renderDrainMoves(evicted, all, after, node) };
    }, { describe: (r) => (r.evicted === 0 ? 'nothing to evict: no workload pods on it' : `${r.evicted} pod(s) evicted, now running:\n${r.moved}`) });

    await run.step(`check no workload pods are left on ${node}`, async () => {
      const left = workloadPods(await controller.pods({ node }));
      if (left.length > 0) {
        throw new RunbookFailure(`${left.length} pod(s) still on ${node} after the drain: ${left.map((p) => `${p.namespace}/${p.name}`).join(', ')}. ${node} is cordoned.`);
      }
      return 0;
    });
  },
  { describeState: (run, { node }) => describeNodes(run, [node]) },
);
