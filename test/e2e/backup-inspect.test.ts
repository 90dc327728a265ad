import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatBytes, listBackups } from '../../src/store/backup-store.ts';
import { inspectFlags } from '../../src/sim/index.ts';
import { controlPlanes, requestApproved, workers } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** `backup`, `backups` and `inspect` through Slack against the simulator. */
describe('backup, backups and inspect through Slack', () => {
  let h: Harness;
  let backupDir: string;
  const commandCount = () => h.sim.commandLog.length;
  const since = (from: number) => h.sim.commandLog.slice(from).map((c) => `${c.node}: ${c.sudo ? 'sudo ' : ''}${c.argv.join(' ')}`);

  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        {
          name: 'prod',
          channel: 'C0PROD00001',
          nodes: [...controlPlanes(3), ...workers(1)],
          extra: { backups: { keep: 3 } },
        },
      ],
    });
    backupDir = join(h.dir, 'backups');
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => h.sim.clearFaults());

  /** An older backup (tarball + manifest, or a bare tarball) as an earlier job would have left it. */
  function seed(node: string, stamp: string, manifest = true): string {
    const dir = join(backupDir, 'prod', node);
    mkdirSync(dir, { recursive: true });
    const file = `mk8s-backup-${stamp}.tar.gz`;
    const data = Buffer.from(`old backup ${stamp}`);
    writeFileSync(join(dir, file), data);
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp)!;
    const time = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z`;
    if (manifest) writeFileSync(join(dir, `${file}.json`), JSON.stringify({ cluster: 'prod', node, file, sha256: sha256(data), bytes: data.length, job: '7', time, remotePath: `/var/snap/microk8s/common/${file}` }));
    return join(dir, file);
  }

  it('refuses bad backup and inspect requests before any SSH command', async () => {
    const before = commandCount();
    const cases: Array<[string, string, RegExp]> = [
      [alice, 'backup --node w1', /w1 is a worker: it has no datastore\. Back up a control-plane node \(k8s-1, k8s-2, k8s-3\)/],
      [alice, 'backup --node k8s-9', /unknown node 'k8s-9' in cluster prod/],
      [alice, 'backup k8s-1', /`backup` takes no arguments/],
      [alice, 'backup --node', /--node needs a value/],
      [alice, 'inspect k8s-9', /unknown node 'k8s-9' in cluster prod/],
      [alice, 'inspect', /missing <node>/],
      [bob, 'inspect k8s-1', /Not allowed/],
      [alice, 'backups --dry-run', /changes nothing/],
    ];
    for (const [user, text, expected] of cases) {
      const answer = await h.command(user, text);
      expect(answer.jobId, text).toBeUndefined();
      expect(answer.text, text).toMatch(expected);
    }
    const dry = await h.command(alice, 'backup --dry-run');
    expect(dry.full).toContain('sudo rm -f <backup>');
    expect(dry.full).toContain('keep the newest 3 backups of the cluster');
    const dryInspect = await h.command(alice, 'inspect k8s-2 --dry-run');
    expect(dryInspect.full).toContain('sudo microk8s inspect');
    expect(commandCount()).toBe(before);
  });

  it('backup --node: fetched and verified, a manifest beside it, removed from the node, pruned to the newest K', async () => {
    const oldest = seed('k8s-1', '20200101T000000Z');
    const bare = seed('k8s-3', '20200102T000000Z', false);
    const older = seed('k8s-3', '20200103T000000Z');
    const old = seed('k8s-1', '20200104T000000Z');
    const from = commandCount();
    const id = await requestApproved(h, 'backup --node k8s-2');

    const step = h.thread(id).map((m) => m.text).find((t) => t.startsWith('✅') && t.includes('back up the datastore'))!;
    const [, sha, localPath] = /sha256 ([0-9a-f]{64}) · \d+ bytes · kept at (\S+)/.exec(step) ?? [];
    expect(step).toContain('removed from the node; 2 older backup(s) pruned');
    const data = readFileSync(localPath!);
    expect(sha256(data)).toBe(sha);
    const manifest = JSON.parse(readFileSync(`${localPath!}.json`, 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ cluster: 'prod', node: 'k8s-2', sha256: sha, bytes: data.length, job: id });
    expect(Date.parse(String(manifest.time))).toBeGreaterThan(Date.now() - 60_000);
    const remote = String(manifest.remotePath);
    expect(remote).toMatch(/^\/var\/snap\/microk8s\/common\/mk8s-backup-\d{8}T\d{6}Z\.tar\.gz$/);
    expect(h.sim.state.node('k8s-2').fs.files.has(remote)).toBe(false);
    expect(since(from)).toContain(`k8s-2: sudo rm -f ${remote}`);
    // Private on the node from the start: made 0600 for the SSH user before tar writes into it.
    const made = since(from).indexOf(`k8s-2: sudo install -m 0600 -o ${h.sim.user} /dev/null ${remote}`);
    expect(made).toBeGreaterThanOrEqual(0);
    expect(since(from).indexOf(`k8s-2: sudo tar -czf ${remote} -C /var/snap/microk8s/current/var/kubernetes backend`)).toBe(made + 1);
    // Private here: 0600 files in 0700 directories.
    expect([localPath!, `${localPath!}.json`].map(modeOf)).toEqual(['600', '600']);
    expect([backupDir, join(backupDir, 'prod'), join(backupDir, 'prod', 'k8s-2')].map(modeOf)).toEqual(['700', '700', '700']);

    // keep: 3 → the new one and the two newest of the four older ones
    expect(existsSync(oldest) || existsSync(bare)).toBe(false);
    expect(existsSync(`${oldest}.json`)).toBe(false);
    expect(existsSync(older) && existsSync(old)).toBe(true);
    expect((await listBackups(backupDir, 'prod')).map((b) => b.node)).toEqual(['k8s-2', 'k8s-1', 'k8s-3']);
  });

  it('removes the tarball from the node when the fetch cannot be verified, and when a check after tar fails', async () => {
    const tarballs = (node: string) => [...h.sim.state.node(node).fs.files.keys()].filter((p) => p.includes('mk8s-backup-'));
    const before = (await listBackups(backupDir, 'prod')).map((b) => b.path);
    // The tarball changes on the node between its sha256sum and the fetch: a mismatch.
    const from = commandCount();
    const { jobId: mismatch } = await h.command(alice, 'backup --node k8s-2');
    await h.waitState(mismatch!, 'awaiting approval');
    h.sim.inject({ node: 'k8s-2', match: /^stat -c %s \/var\/snap\/microk8s\/common\/mk8s-backup-/, kind: 'delay', ms: 500, times: 1 });
    expect(await h.click(bob, await h.waitButton(mismatch!, 'Approve'))).toBe(200);
    await h.slack.waitFor(() => h.sim.commandLog.slice(from).some((c) => c.node === 'k8s-2' && c.argv[0] === 'sha256sum') || undefined);
    const [path] = tarballs('k8s-2');
    h.sim.state.node('k8s-2').fs.files.get(path!)!.data = Buffer.from('changed under our feet');
    await h.waitState(mismatch!, 'failed');
    expect(h.thread(mismatch!).map((m) => m.text).join('\n')).toContain('Backup checksum mismatch');
    expect(h.thread(mismatch!).map((m) => m.text).join('\n')).toContain('The copy was discarded. Nothing on the cluster was changed. The tarball was removed from k8s-2.');
    expect(tarballs('k8s-2')).toEqual([]);
    // stat fails after tar wrote the tarball: removed as well.
    h.sim.inject({ node: 'k8s-2', match: /^stat -c %s \/var\/snap\/microk8s\/common\/mk8s-backup-/, kind: 'fail', exitCode: 1, times: 1, stderr: 'stat: cannot statx: Input/output error\n' });
    await requestApproved(h, 'backup --node k8s-2', 'failed');
    expect(tarballs('k8s-2')).toEqual([]);
    expect(h.sim.commandLog.filter((c) => c.node === 'k8s-2' && c.argv[0] === 'rm').length).toBeGreaterThanOrEqual(3);
    // Nothing new kept here, nothing pruned.
    expect((await listBackups(backupDir, 'prod')).map((b) => b.path)).toEqual(before);
  });

  it('backups lists them newest first with age, node, size and sha256 prefix', async () => {
    const [newest] = await listBackups(backupDir, 'prod');
    const answer = await h.command(bob, 'backups');
    expect(answer.text).toBe('3 datastore backup(s) of prod, newest first (kept: the newest 3)');
    const lines = /1\. .*\\n2\. .*\\n3\. [^"]*/.exec(answer.full)?.[0].split('\\n') ?? [];
    expect(lines[0]).toMatch(new RegExp(`^1\\. \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\(\\d+ s ago\\) · k8s-2 · ${formatBytes(newest!.bytes)} · sha256 ${newest!.sha256!.slice(0, 12)} · job \\d+$`));
    expect(lines[1]).toMatch(/^2\. 2020-01-04 00:00 UTC \(\d+ d ago\) · k8s-1 · 27 B · sha256 [0-9a-f]{12} · job 7$/);
    expect(lines[2]).toMatch(/^3\. 2020-01-03 00:00 UTC .* · k8s-3 · /);
  });

  it('backup without --node picks a Ready control-plane node; an upgrade takes the same backup step and prunes too', async () => {
    const id = await requestApproved(h, 'backup');
    expect(h.thread(id).some((m) => m.text.startsWith('✅') && m.text.includes('choose the node to back up') && m.text.includes('k8s-1'))).toBe(true);
    await requestApproved(h, 'upgrade k8s-3 1.22/stable');
    const all = await listBackups(backupDir, 'prod');
    expect(all.length).toBe(3);
    expect(all.map((b) => b.node)).toEqual(['k8s-3', 'k8s-1', 'k8s-2']);
    expect(all.every((b) => b.hasManifest && b.takenAt > Date.now() - 120_000)).toBe(true);
  });

  it('inspect: no approval, the report tarball is uploaded to the thread, findings listed', async () => {
    // Three older reports; keep is 3, so after this one the oldest goes.
    const inspectDir = join(backupDir, 'prod', 'inspect');
    mkdirSync(inspectDir, { recursive: true });
    const olds = ['20200101_000000', '20200102_000000', '20200103_000000'].map((stamp, i) => {
      const path = join(inspectDir, `k8s-1-inspection-report-${stamp}.tar.gz`);
      writeFileSync(path, `old report ${stamp}`);
      utimesSync(path, new Date(Date.UTC(2020, 0, i + 1)), new Date(Date.UTC(2020, 0, i + 1)));
      return path;
    });
    const from = commandCount();
    const { jobId, text } = await h.command(alice, 'inspect k8s-1');
    expect(text).toMatch(/^Queued as job \d+/);
    const parent = await h.waitState(jobId!, 'succeeded');
    const upload = await h.slack.waitFor(() => h.slack.uploads.find((u) => u.thread_ts === parent.ts));
    expect(upload.channel).toBe('C0PROD00001');
    expect(upload.title).toBe('microk8s inspect report of k8s-1 (prod)');
    expect(upload.filename).toMatch(/^k8s-1-inspection-report-\d{8}_\d{6}\.tar\.gz$/);
    // the bytes Slack got are the tarball on the node
    const remote = h.sim.commandLog.slice(from).find((c) => c.argv[0] === 'sha256sum')!.argv[1]!;
    expect(remote).toMatch(/^\/var\/snap\/microk8s\/2551\/inspection-report-\d{8}_\d{6}\.tar\.gz$/);
    const onNode = h.sim.state.node('k8s-1').fs.readFile(remote, true) as Buffer;
    expect(upload.bytes.equals(onNode)).toBe(true);
    expect(readFileSync(join(backupDir, 'prod', 'inspect', upload.filename)).equals(onNode)).toBe(true);
    expect([modeOf(join(inspectDir, upload.filename)), modeOf(inspectDir)]).toEqual(['600', '700']);
    expect(existsSync(olds[0]!)).toBe(false);
    expect(readdirSync(inspectDir).toSorted()).toEqual([upload.filename, 'k8s-1-inspection-report-20200102_000000.tar.gz', 'k8s-1-inspection-report-20200103_000000.tar.gz'].toSorted());
    expect(h.thread(jobId!).map((m) => m.text).join('\n')).toContain('1 older report(s) pruned');
    const thread = h.thread(jobId!).map((m) => m.text);
    expect(thread.some((t) => t.includes('No FAIL or WARNING lines in the inspect report of k8s-1'))).toBe(true);
    expect(since(from).filter((c) => c.includes('microk8s inspect'))).toEqual(['k8s-1: sudo microk8s inspect']);
  });

  it('inspect with a service down: exit 1 is a finding; FAIL and WARNING lines in the thread', async () => {
    const node = h.sim.state.node('k8s-2');
    inspectFlags(node).down.add('kubelite');
    inspectFlags(node).warnings.push('IPtables FORWARD policy is DROP. Consider enabling traffic forwarding with: sudo iptables -P FORWARD ACCEPT');
    try {
      const { jobId } = await h.command(alice, 'inspect k8s-2');
      const parent = await h.waitState(jobId!, 'succeeded');
      const thread = h.thread(jobId!).map((m) => m.text);
      expect(thread.some((t) => t.startsWith('✅') && t.includes('run microk8s inspect on k8s-2') && t.includes('1 FAIL, 1 WARNING'))).toBe(true);
      const findings = thread.find((t) => t.startsWith('Inspect report of k8s-2'))!;
      expect(findings).toContain('1 FAIL, 1 WARNING (exit 1: a service is not running)');
      expect(findings).toContain('❌ FAIL: Service snap.microk8s.daemon-kubelite is not running For more details look at: sudo journalctl -u snap.microk8s.daemon-kubelite');
      expect(findings).toContain('⚠️ WARNING: IPtables FORWARD policy is DROP.');
      expect(h.slack.uploads.some((u) => u.thread_ts === parent.ts && u.bytes.length > 0)).toBe(true);
    } finally {
      inspectFlags(node).down.clear();
      inspectFlags(node).warnings.length = 0;
    }
  });

  it('inspect runs while another job holds the cluster (it takes no hold)', async () => {
    const held = await h.command(alice, 'backup --node k8s-3');
    await h.waitState(held.jobId!, 'awaiting approval');
    const busy = await h.command(alice, 'backup');
    expect(busy.text).toMatch(new RegExp(`busy: job ${held.jobId} \\(backup, awaiting approval`));
    const { jobId, text } = await h.command(alice, 'inspect k8s-3');
    expect(text).toMatch(/^Queued as job \d+/);
    await h.waitState(jobId!, 'succeeded');
    expect(h.parent(held.jobId!)?.text).toMatch(/awaiting approval$/);
    await h.click(bob, await h.waitButton(held.jobId!, 'Reject'));
    await h.waitState(held.jobId!, 'rejected');
  });

  it('inspect that names no report fails and shows its output', async () => {
    h.sim.inject({ node: 'k8s-1', match: 'microk8s inspect', kind: 'fail', exitCode: 1, stderr: 'cp: cannot create directory: No space left on device\n' });
    const { jobId } = await h.command(alice, 'inspect k8s-1');
    await h.waitState(jobId!, 'failed');
    const text = h.thread(jobId!).map((m) => m.text).join('\n');
    expect(text).toContain('`microk8s inspect` on k8s-1 exited 1 without naming a report tarball');
    expect(text).toContain('No space left on device');
  });
});
