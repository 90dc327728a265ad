/** `addons` (read-only; nothing is queued): the add-ons and the CNI of one cluster, and what is behind. */
import type { ChatMessage } from '../chat/port.ts';
import type { ClusterConfig } from '../config/inventory.ts';
import { plain, readAddonsReport, renderAddonsReport } from '../ops/addons-report.ts';
import { buildCniPlan, diffBlock } from '../ops/upgrade-cni.ts';
import { MicroK8sNode } from '../microk8s/node.ts';
import { SshPool } from '../ssh/pool.ts';
import { sshTargetFor } from '../ssh/target.ts';

/** Bounds of the SSH reads (someone waits in chat); the manifests are a few hundred kB each. */
const READ_TIMEOUT_MS = 20_000;

function boundedNodes(pool: SshPool, cluster: ClusterConfig): (node: string) => MicroK8sNode {
  return (node) => {
    const target = sshTargetFor(cluster, node);
    return new MicroK8sNode(pool.shell({ ...target, connectTimeoutMs: Math.min(target.connectTimeoutMs, READ_TIMEOUT_MS), commandTimeoutMs: READ_TIMEOUT_MS }));
  };
}

/** Over the process's warm pool when it has one (as `status`), else over connections of its own, closed after. */
export async function addonsMessage(cluster: ClusterConfig, warm?: SshPool): Promise<ChatMessage> {
  const pool = warm ?? new SshPool({});
  try {
    const report = await readAddonsReport({ cluster, node: boundedNodes(pool, cluster) });
    const rendered = renderAddonsReport(report);
    return { text: `add-ons and CNI of ${cluster.name}: ${rendered.headline}`, body: [`*Add-ons and CNI of ${cluster.name}:* ${rendered.headline}`, ...rendered.lines].join('\n') };
  } finally {
    if (pool !== warm) pool.closeAll();
  }
}

/**
 * `upgrade-cni --dry-run`: reads the nodes (nothing is changed) and shows the new manifest as a
 * diff against the deployed one, or why `upgrade-cni` would refuse.
 */
export async function upgradeCniPreviewMessage(cluster: ClusterConfig, warm?: SshPool): Promise<ChatMessage> {
  const pool = warm ?? new SshPool({});
  try {
    const { plan } = await buildCniPlan({ cluster, node: boundedNodes(pool, cluster) });
    if (plan.refusal) return { text: `Dry run of upgrade-cni on ${cluster.name}: it would refuse. ${plan.refusal} Nothing was run.` };
    return {
      text: `Dry run of upgrade-cni on ${cluster.name}: Calico ${plan.running} → ${plan.to}; nothing will run.`,
      body: [
        `*Calico ${plan.running} → ${plan.to}* (the manifest MicroK8s ships, with cni.yaml's customisations carried over), as a diff against the deployed cni.yaml of ${plan.controller}:`,
        diffBlock(plan, 60),
        `Kept: ${plan.kept.length > 0 ? plan.kept.map((k) => plain(k, 160)).join('; ') : 'no customisations'}.`,
        `\`upgrade-cni\` backs up cni.yaml on ${plan.nodes.map((n) => n.node).join(', ')}, writes the new one, applies it from ${plan.controller} after an approval and waits for calico-node to roll out on every node.`,
      ].join('\n'),
    };
  } finally {
    if (pool !== warm) pool.closeAll();
  }
}
