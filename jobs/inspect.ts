import * as z from 'zod';
import { NodeName } from '../src/commands/validators.ts';
import { nodeInCluster } from '../src/config/inventory.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { fetchInspectReport, inspectPlan, renderFindings, runInspect } from '../src/ops/inspect.ts';

/**
 * `microk8s inspect` on a node (seed: run it for diagnostics before reverting an upgrade): the
 * report tarball it names is fetched over SFTP and uploaded to this thread, and its FAIL and
 * WARNING lines are listed. A service that is not running (exit 1) is a finding, not a failure.
 *
 * Queued as a job (its thread carries the upload) but without the cluster hold: it changes
 * nothing, and it is most wanted while another job holds the cluster (a rollout stopped at a
 * failed node). It needs an operator: the report holds the cluster's configuration and logs.
 */
export default defineRunbook(
  {
    verb: 'inspect',
    usage: 'inspect <node>',
    example: 'inspect k8s-1',
    summary: 'Run `microk8s inspect` on a node, upload its report tarball to the thread and list its FAIL/WARNING lines (runs even while another job holds the cluster)',
    positional: ['node'],
    args: z.object({ node: NodeName }),
    mutating: true,
    hold: false,
    validate: ({ node }, cluster) => nodeInCluster(cluster, node),
    plan: ({ node }) => inspectPlan(node),
  },
  async (run, { node }) => {
    const found = await run.step(`run microk8s inspect on ${node}`, () => runInspect(run, node), {
      describe: (r) => `report at ${r.tarball}; ${r.findings.filter((f) => f.level === 'FAIL').length} FAIL, ${r.findings.filter((f) => f.level === 'WARNING').length} WARNING`,
    });
    const report = await run.step(`fetch the report from ${node}`, () => fetchInspectReport(run, node, found.tarball), {
      describe: (r) => `${r.bytes} bytes, sha256 ${r.sha256} · kept at ${r.localPath}${r.pruned > 0 ? ` · ${r.pruned} older report(s) pruned` : ''}`,
    });
    await run.step('upload the report to this thread', async () => {
      await run.upload(report.localPath, `microk8s inspect report of ${node} (${run.cluster.name})`);
      return report.bytes;
    });
    await run.step('report FAIL and WARNING lines', async () => {
      await run.say(renderFindings(node, found));
      return found.findings.length;
    }, { describe: (n) => `${n} finding(s)` });
  },
);
