/** `addons` (read-only; nothing is queued): the add-ons and the CNI of one cluster, and what is behind. */
import type { ChatMessage } from '../chat/port.ts';
import type { ClusterConfig } from '../config/inventory.ts';
import { readAddonsReport, renderAddonsReport } from '../ops/addons-report.ts';
import { SshPool } from '../ssh/pool.ts';
import { sshTargetFor } from '../ssh/target.ts';

/** Bounds of the SSH reads (someone waits in chat); the manifests are a few hundred kB each. */
const READ_TIMEOUT_MS = 20_000;

export async function addonsMessage(cluster: ClusterConfig): Promise<ChatMessage> {
  const pool = new SshPool({});
  try {
    const report = await readAddonsReport(cluster, (node) => {
      const target = sshTargetFor(cluster, node);
      return pool.shell({ ...target, connectTimeoutMs: Math.min(target.connectTimeoutMs, READ_TIMEOUT_MS), commandTimeoutMs: READ_TIMEOUT_MS });
    });
    const rendered = renderAddonsReport(report);
    return { text: `add-ons and CNI of ${cluster.name}: ${rendered.headline}`, body: [`*Add-ons and CNI of ${cluster.name}:* ${rendered.headline}`, ...rendered.lines].join('\n') };
  } finally {
    pool.closeAll();
  }
}
