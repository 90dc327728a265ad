/**
 * `microk8s inspect` on a node (src/ops/inspect.ts): the run and its report (a service down is a
 * finding, not a failure), the fetch into the backup folder checked against sha256 and size, the
 * refusals (no report named, an odd path, a copy that does not match), pruning, the findings.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { fetchInspectReport, inspectPlan, renderFindings, runInspect } from '../../src/ops/inspect.ts';
import { inspectFlags } from '../../src/sim/index.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const REPORT = /^\/var\/snap\/microk8s\/\d+\/inspection-report-\d{8}_\d{6}\.tar\.gz$/;

describe('inspect', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }], extra: { backups: { keep: 2 } } });
  const inspectDir = () => join(rig.backupDir, rig.cluster.name, 'inspect');

  it('runs inspect, then fetches the report it names into a private folder, checked against the node', async () => {
    const found = await rig.run((run) => runInspect(run, 'k8s-1'));
    expect(found).toMatchObject({ node: 'k8s-1', exitCode: 0, findings: [], servicesDown: [], servicesRunning: 4 });
    expect(found.tarball).toMatch(REPORT);
    expect(rig.commands('k8s-1')).toEqual(['microk8s inspect']);
    expect(renderFindings('k8s-1', found)).toBe('No FAIL or WARNING lines in the inspect report of k8s-1: 4 service(s) running.');

    const copy = await rig.run((run) => fetchInspectReport(run, 'k8s-1', found.tarball));
    expect(copy.localPath).toBe(join(inspectDir(), `k8s-1-${basename(found.tarball)}`));
    const local = await readFile(copy.localPath);
    expect(local.equals(rig.sim.state.node('k8s-1').fs.files.get(found.tarball)!.data)).toBe(true);
    expect(copy).toMatchObject({ bytes: local.length, sha256: createHash('sha256').update(local).digest('hex'), pruned: 0 });
    expect([(await stat(copy.localPath)).mode & 0o777, (await stat(dirname(copy.localPath))).mode & 0o777]).toEqual([0o600, 0o700]);
    expect(rig.commands('k8s-1')).toEqual([`sha256sum ${found.tarball}`, `stat -c %s ${found.tarball}`]);
  });

  it('a service down is a finding (exit 1): FAIL lines first, then WARNING, the node\'s text escaped', async () => {
    const node = rig.sim.state.node('k8s-2');
    inspectFlags(node).warnings.push('IPtables FORWARD policy is DROP <!channel> ```x```');
    inspectFlags(node).down.add('kubelite');
    try {
      const found = await rig.run((run) => runInspect(run, 'k8s-2'));
      expect(found.exitCode).toBe(1);
      expect(found.servicesDown).toEqual(['snap.microk8s.daemon-kubelite']);
      expect(found.servicesRunning).toBe(3);
      const text = renderFindings('k8s-2', found);
      const [head, ...lines] = text.split('\n');
      expect(head).toBe('Inspect report of k8s-2: 1 FAIL, 1 WARNING (exit 1: a service is not running)');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^❌ FAIL: .*kubelite/);
      expect(lines[1]).toMatch(/^⚠️ WARNING: IPtables FORWARD policy is DROP /);
      expect(lines[1]).not.toContain('<!channel>');
      expect(lines[1]).toContain('&lt;!channel&gt;');
      expect(lines[1]).not.toContain('```'); // cannot open a code block
    } finally {
      inspectFlags(node).down.clear();
      inspectFlags(node).warnings.length = 0;
    }
  });

  it('fails showing the output when inspect names no report', async () => {
    rig.sim.inject({ node: 'k8s-1', match: 'microk8s inspect', kind: 'fail', exitCode: 1, stderr: 'cp: cannot create directory: No space left on device\n' });
    const err = await rejectionOf(rig.run((run) => runInspect(run, 'k8s-1')), RunbookFailure);
    expect(err.message).toMatch(/^`microk8s inspect` on k8s-1 exited 1 without naming a report tarball\. Its last output:\n```\n[^]*No space left on device[^]*\n```$/);
  });

  it('refuses an unexpected report path before any command', async () => {
    const err = await rejectionOf(rig.run((run) => fetchInspectReport(run, 'k8s-1', '/etc/shadow')), RunbookFailure);
    expect(err.message).toBe('k8s-1 named an unexpected report path (/etc/shadow); nothing was fetched.');
    expect(rig.commands()).toEqual([]);
  });

  it('discards a copy that does not match what the node says, leaving the report on the node', async () => {
    const found = await rig.run((run) => runInspect(run, 'k8s-3'));
    rig.sim.inject({ node: 'k8s-3', match: 'stat -c %s', kind: 'fail', exitCode: 0, stdout: '7\n', stderr: '' });
    const err = await rejectionOf(rig.run((run) => fetchInspectReport(run, 'k8s-3', found.tarball)), RunbookFailure);
    expect(err.message).toMatch(new RegExp(`^The report fetched from k8s-3 does not match: k8s-3 says sha256 [0-9a-f]{64} \\(7 bytes\\), the copy is [0-9a-f]{64} \\(\\d+ bytes\\)\\. It is still on k8s-3 at ${found.tarball.replace(/\./g, '\\.')}\\.$`));
    expect(rig.sim.state.node('k8s-3').fs.files.has(found.tarball)).toBe(true);
  });

  it('keeps the cluster\'s newest `backups.keep` reports (here 2)', async () => {
    const kept = () => readdir(inspectDir());
    const before = await kept();
    expect(before.filter((f) => f.startsWith('k8s-1-'))).toHaveLength(1);
    for (const node of ['k8s-2', 'k8s-3']) {
      const found = await rig.run((run) => runInspect(run, node));
      const copy = await rig.run((run) => fetchInspectReport(run, node, found.tarball));
      expect(copy.pruned).toBe(node === 'k8s-2' ? 0 : 1);
    }
    expect((await kept()).map((f) => f.split('-inspection-')[0] ?? '').toSorted((a, b) => a.localeCompare(b))).toEqual(['k8s-2', 'k8s-3']);
  });

  it('plans the run, the fetch, the upload and the findings', () => {
    const plan = inspectPlan('k8s-2');
    expect(plan.map((s) => s.title)).toEqual(['run microk8s inspect on k8s-2', 'fetch the report from k8s-2', 'upload the report to this thread', 'report FAIL and WARNING lines']);
    expect(plan[0]).toEqual({ title: 'run microk8s inspect on k8s-2', node: 'k8s-2', commands: ['sudo microk8s inspect'] });
  });
});
