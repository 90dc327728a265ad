/**
 * The datastore backup step (src/ops/backup.ts): tar on the node, private from the start, fetched
 * over SFTP and checked on both ends, a manifest, the tarball never left on the node.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { backupDatastore, backupPlanStep, describeBackup } from '../../src/ops/backup.ts';
import { listBackups } from '../../src/store/backup-store.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('backupDatastore', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }], extra: { backups: { keep: 1 } } });
  const onNode = (node: string, path: string) => rig.sim.state.node(node).fs.entry(path);

  it('tars the backend into a 0600 file of the SSH user, fetches and checks it, writes its manifest, removes it from the node', async () => {
    const b = await rig.run((run) => backupDatastore(run, 'k8s-1'));
    expect(b.remotePath).toMatch(/^\/var\/snap\/microk8s\/common\/mk8s-backup-\d{8}T\d{6}Z\.tar\.gz$/);
    expect(dirname(b.localPath)).toBe(join(rig.backupDir, rig.cluster.name, 'k8s-1'));
    const local = await readFile(b.localPath);
    expect(createHash('sha256').update(local).digest('hex')).toBe(b.sha256);
    expect(local.length).toBe(b.bytes);
    expect((await stat(b.localPath)).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(b.localPath))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(b.manifestPath, 'utf8'))).toMatchObject({ cluster: rig.cluster.name, node: 'k8s-1', sha256: b.sha256, bytes: b.bytes, job: rig.jobId, remotePath: b.remotePath });
    expect(b).toMatchObject({ node: 'k8s-1', remoteRemoved: true, pruned: 0 });
    expect(rig.commands('k8s-1')).toEqual([
      `install -m 0600 -o ${rig.sim.user} /dev/null ${b.remotePath}`,
      `tar -czf ${b.remotePath} -C /var/snap/microk8s/current/var/kubernetes backend`,
      `sha256sum ${b.remotePath}`,
      `stat -c %s ${b.remotePath}`,
      `rm -f ${b.remotePath}`,
    ]);
    expect(onNode('k8s-1', b.remotePath)).toBeUndefined();
    expect(describeBackup(b)).toBe(`sha256 ${b.sha256} · ${b.bytes} bytes · kept at ${b.localPath} · removed from the node`);
  });

  it('discards a copy that does not match what the node reported, and removes the tarball from the node too', async () => {
    rig.sim.inject({ node: 'k8s-2', match: 'stat -c %s', kind: 'fail', exitCode: 0, stdout: '7\n', stderr: '' });
    const err = await rejectionOf(rig.run((run) => backupDatastore(run, 'k8s-2')), RunbookFailure);
    expect(err.message).toMatch(/^Backup checksum mismatch: k8s-2 says sha256 [0-9a-f]{64} \(7 bytes\), the copy fetched here is [0-9a-f]{64} \(\d+ bytes\)\. The copy was discarded\. Nothing on the cluster was changed\. The tarball was removed from k8s-2\.$/);
    const remote = rig.commands('k8s-2').find((c) => c.startsWith('tar -czf '))!.split(' ')[2]!;
    expect(rig.commands('k8s-2').at(-1)).toBe(`rm -f ${remote}`);
    expect(onNode('k8s-2', remote)).toBeUndefined();
    expect((await listBackups(rig.backupDir, rig.cluster.name)).filter((x) => x.node === 'k8s-2')).toEqual([]);
  });

  it('keeps the cluster\'s newest `backups.keep` (here 1), across its nodes, and says how many it pruned', async () => {
    const [older] = await listBackups(rig.backupDir, rig.cluster.name);
    expect(older?.node).toBe('k8s-1');
    const newer = await rig.run((run) => backupDatastore(run, 'k8s-2'));
    expect(newer.pruned).toBe(1);
    expect((await listBackups(rig.backupDir, rig.cluster.name)).map((x) => x.path)).toEqual([newer.localPath]);
    expect(describeBackup(newer)).toMatch(/ · removed from the node; 1 older backup\(s\) pruned$/);
  });

  it('plans the same commands, with the keep count', () => {
    const step = backupPlanStep('k8s-1', 2);
    expect(step.node).toBe('k8s-1');
    expect(backupPlanStep(undefined, 3)).not.toHaveProperty('node');
    expect(backupPlanStep(undefined, 3).commands.at(-1)).toBe('(keep the newest 3 backups of the cluster)');
  });
});
