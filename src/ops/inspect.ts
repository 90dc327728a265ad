/**
 * `microk8s inspect` on a node (seed: "For diagnostic purposes, you may wish to run microk8s
 * inspect …before reverting the upgrade"): run it, then fetch the report tarball it names over
 * SFTP into `MK8S_BACKUP_DIR/<cluster>/inspect/` (0600 in 0700 directories; the newest
 * `backups.keep` of the cluster are kept), checked against sha256 and size on the node.
 */
import { basename, join } from 'node:path';
import type { RunContext } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import type { InspectFinding } from '../microk8s/parse-inspect.ts';
import { privateDir, pruneInspectReports } from '../store/backup-store.ts';
import { escapeMrkdwn } from '../util/mrkdwn.ts';

export type InspectRun = {
  node: string;
  /** Where the report is on the node. */
  tarball: string;
  /** 0: every service running; 1: at least one is not (a finding, not a failure). */
  exitCode: number;
  findings: InspectFinding[];
  servicesDown: string[];
  servicesRunning: number;
};

export type FetchedReport = {
  localPath: string;
  bytes: number;
  sha256: string;
  /** Older reports of the cluster deleted to keep the newest `backups.keep`. */
  pruned: number;
};

/** Runs `sudo microk8s inspect` and reads its report; exit 1 (a service down) is accepted. */
export async function runInspect(run: RunContext, node: string): Promise<InspectRun> {
  const r = await run.node(node).inspect();
  const { report } = r;
  if (!report) {
    throw new RunbookFailure(`\`microk8s inspect\` on ${node} exited ${r.code} without naming a report tarball. Its last output:\n\`\`\`\n${r.outputTail}\n\`\`\``);
  }
  return {
    node,
    tarball: report.tarball,
    exitCode: r.code,
    findings: report.findings.slice(0, 50),
    servicesDown: report.services.filter((s) => !s.running).map((s) => s.name),
    servicesRunning: report.services.filter((s) => s.running).length,
  };
}

/** Fetches the report over SFTP and checks it against `sha256sum` and `stat` on the node. */
export async function fetchInspectReport(run: RunContext, node: string, remotePath: string): Promise<FetchedReport> {
  if (!/^\/[A-Za-z0-9._/-]+\/inspection-report-[0-9_]+\.tar\.gz$/.test(remotePath)) {
    throw new RunbookFailure(`${node} named an unexpected report path (${remotePath.slice(0, 120)}); nothing was fetched.`);
  }
  const ops = run.node(node);
  const expected = await ops.checksum(remotePath);
  const dir = await privateDir(run.backupDir, run.cluster.name, 'inspect');
  const localPath = join(dir, `${node}-${basename(remotePath)}`);
  const copy = await ops.fetchChecked(remotePath, localPath, expected);
  if (!copy.ok) {
    throw new RunbookFailure(`The report fetched from ${node} does not match: ${node} says sha256 ${expected.sha256} (${expected.bytes} bytes), the copy is ${copy.sha256} (${copy.bytes} bytes). It is still on ${node} at ${remotePath}.`);
  }
  // Reports are kept like backups: the newest `backups.keep` of the cluster.
  const pruned = await pruneInspectReports(run.backupDir, run.cluster.name, run.cluster.backups.keep);
  return { localPath, bytes: copy.bytes, sha256: expected.sha256, pruned: pruned.length };
}

/** The findings as thread lines: FAIL first, then WARNING. */
export function renderFindings(node: string, found: InspectRun): string {
  if (found.findings.length === 0) return `No FAIL or WARNING lines in the inspect report of ${node}: ${found.servicesRunning} service(s) running.`;
  const ordered = [...found.findings.filter((f) => f.level === 'FAIL'), ...found.findings.filter((f) => f.level === 'WARNING')];
  // A finding is the node's own text: escaped, so it cannot mention, link or open a code block.
  const lines = ordered.map((f) => `${f.level === 'FAIL' ? '❌ FAIL' : '⚠️ WARNING'}: ${escapeMrkdwn(f.text.length > 400 ? `${f.text.slice(0, 400)}…` : f.text)}`);
  const fails = found.findings.filter((f) => f.level === 'FAIL').length;
  const head = `Inspect report of ${node}: ${fails} FAIL, ${found.findings.length - fails} WARNING${found.exitCode !== 0 ? ` (exit ${found.exitCode}: a service is not running)` : ''}`;
  return `${head}\n${lines.join('\n')}`;
}

export function inspectPlan(node: string): PlanStep[] {
  return [
    { title: `run microk8s inspect on ${node}`, node, commands: ['sudo microk8s inspect'] },
    { title: `fetch the report from ${node}`, node, commands: ['sudo sha256sum <report>; sudo stat -c %s <report>', '(fetch over SFTP into MK8S_BACKUP_DIR/<cluster>/inspect/, compare sha256 and size, keep the newest reports)'] },
    { title: 'upload the report to this thread', commands: ['(Slack files.uploadV2 into the thread; the console prints the path)'] },
    { title: 'report FAIL and WARNING lines', commands: [] },
  ];
}
