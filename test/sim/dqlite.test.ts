/**
 * The simulated dqlite backend and shell, driven by hand over SSH as a person following the seed
 * would: `.reconfigure`'s messages, and a survivor that keeps its leftover files (or lacks the
 * template's) failing to rejoin — the mistakes the runbook exists to avoid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { SUDO, clientFiles, connect, type Conn } from './helpers.ts';

const B = '/var/snap/microk8s/current/var/kubernetes/backend';
const RECONF = `${SUDO}/snap/microk8s/current/bin/dqlite -s 127.0.0.1:19001 -c ${B}/cluster.crt -k ${B}/cluster.key k8s`;

function sftpWrite(conn: Conn, path: string, data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.client.sftp((err, sftp) => {
      if (err) return reject(err);
      sftp.writeFile(path, data, (e) => {
        sftp.end();
        if (e) reject(e);
        else resolve();
      });
    });
  });
}

function sftpRead(conn: Conn, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    conn.client.sftp((err, sftp) => {
      if (err) return reject(err);
      sftp.readFile(path, (e, data) => {
        sftp.end();
        if (e) reject(e);
        else resolve(data);
      });
    });
  });
}

describe('sim: the dqlite backend through a lost-quorum recovery done by hand', () => {
  let cluster: SimCluster;
  const conns = new Map<string, Conn>();
  const on = (n: string) => conns.get(n)!;

  beforeAll(async () => {
    // k8s-1..3 voters, k8s-4 stand-by
    cluster = await startSimCluster({ nodes: ['k8s-1', 'k8s-2', 'k8s-3', 'k8s-4'].map((name) => ({ name, channel: '1.28/stable' })), latency: { defaultMs: 0, restartMs: 20 } });
    const files = await clientFiles(cluster);
    for (const n of ['k8s-3', 'k8s-4']) conns.set(n, await connect(cluster, n, { privateKey: files.privateKey }));
    await cluster.setDown('k8s-1', true);
    await cluster.setDown('k8s-2', true);
  });
  afterAll(async () => {
    for (const c of conns.values()) c.close();
    await cluster.stop();
  });

  it('shows the lost quorum: kubectl times out with context deadline exceeded, status is not running', async () => {
    const k = await on('k8s-3').exec(`${SUDO}microk8s kubectl get nodes`);
    expect(k.code).toBe(1);
    expect(k.stderr).toMatch(/context deadline exceeded/);
    expect((await on('k8s-3').exec(`${SUDO}microk8s status`)).stdout).toMatch(/^microk8s is not running\. Use microk8s inspect/);
  });

  it('.reconfigure refuses while the node runs, and on a wrong command line prints the error and the usage', async () => {
    const running = await on('k8s-3').exec(`${RECONF} '.reconfigure ${B}/ ${B}/cluster.yaml'`);
    expect(running.code).toBe(1);
    expect(running.stderr.split('\n')[0]).toBe('Error: failed to reconfigure membership :recover failed with error code 1, error details: ');
    expect(running.stderr).toMatch(/\nUsage:\n {2}dqlite -s <servers> <database> \[command\] \[flags\]/);
    const arity = await on('k8s-3').exec(`${RECONF} '.reconfigure ${B}/'`);
    expect(arity.stderr.split('\n')[0]).toBe('Error: bad command format, should be: .reconfigure <dir> <clusteryaml>');
    expect(arity.stderr).toMatch(/4\. Run the \.reconfigure <dir> <clusteryaml> command, it should return "OK"\./);
  });

  it('a survivor that keeps its leftovers fails to rejoin; deleting them and copying the template files again fixes it', async () => {
    for (const n of ['k8s-3', 'k8s-4']) expect((await on(n).exec(`${SUDO}microk8s stop`)).code).toBe(0);
    const before = (await on('k8s-4').exec(`${SUDO}ls -1 ${B}`)).stdout.split('\n');
    expect(before).toEqual(expect.arrayContaining(['cluster.yaml', 'info.yaml', 'metadata1', 'metadata2', 'open-1', 'open-2']));
    expect(before.some((n) => /^snapshot-\d+-\d+-\d+\.meta$/.test(n))).toBe(true);
    expect(before.some((n) => /^\d{16}-\d{16}$/.test(n))).toBe(true);
    const missingDir = await on('k8s-3').exec(`${RECONF} '.reconfigure /nowhere/ ${B}/cluster.yaml'`);
    expect(missingDir.stderr.split('\n')[0]).toBe("Error: failed to reconfigure membership :raft_init(): io: directory '/nowhere' does not exist");

    // cluster.yaml with the two survivors (IDs from their info.yaml), then .reconfigure on k8s-3 only
    const id = async (n: string) => /ID: (\d+)/.exec((await on(n).exec(`${SUDO}cat ${B}/info.yaml`)).stdout)![1];
    const yaml = `- Address: 10.0.0.13:19001\n  ID: ${await id('k8s-3')}\n  Role: 0\n- Address: 10.0.0.14:19001\n  ID: ${await id('k8s-4')}\n  Role: 0\n`;
    await sftpWrite(on('k8s-3'), '/tmp/new.yaml', yaml);
    expect((await on('k8s-3').exec(`${SUDO}cp /tmp/new.yaml ${B}/cluster.yaml`)).code).toBe(0);
    expect(await on('k8s-3').exec(`${RECONF} '.reconfigure ${B}/ ${B}/cluster.yaml'`)).toEqual({ stdout: 'OK\n', stderr: '', code: 0 });
    const after = (await on('k8s-3').exec(`${SUDO}ls -1 ${B}`)).stdout.split('\n');
    expect(after.some((n) => n.startsWith('open-'))).toBe(false);
    const single = after.filter((n) => /^(\d{16})-\1$/.test(n));
    expect(single).toHaveLength(1);

    // the mistake: copy the template's files to k8s-4 but keep its own leftovers
    const files = after.filter((n) => /^\d{16}-\d{16}$/.test(n) || n.startsWith('snapshot-'));
    expect((await on('k8s-3').exec(`${SUDO}tar -czf /tmp/t.tar.gz -C ${B} cluster.yaml ${files.join(' ')}`)).code).toBe(0);
    await sftpWrite(on('k8s-4'), '/tmp/t.tar.gz', await sftpRead(on('k8s-3'), '/tmp/t.tar.gz'));
    expect((await on('k8s-4').exec(`${SUDO}tar -xzf /tmp/t.tar.gz -C ${B}`)).code).toBe(0);
    for (const n of ['k8s-3', 'k8s-4']) expect((await on(n).exec(`${SUDO}microk8s start`)).code).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    const s = cluster.state;
    expect(s.node('k8s-3').datastoreFault).toBeUndefined();
    expect(s.node('k8s-4').datastoreFault).toMatch(/^leftover (open-1|metadata1|\d{16}-\d{16}|snapshot-\S+) from before the recovery/);
    expect((await on('k8s-4').exec(`${SUDO}microk8s kubectl get nodes`)).stderr).toMatch(/connection to the server 127\.0\.0\.1:16443 was refused/);
    expect((await on('k8s-4').exec(`${SUDO}microk8s status`)).stdout).toMatch(/^microk8s is not running/);

    // without the template's data at all, it fails too
    expect((await on('k8s-4').exec(`${SUDO}microk8s stop`)).code).toBe(0);
    const leftovers = (await on('k8s-4').exec(`${SUDO}ls -1 ${B}`)).stdout.split('\n').filter((n) => /^(\d{16}-\d{16}|open-\d+|snapshot-.*|metadata[12])$/.test(n));
    expect((await on('k8s-4').exec(`${SUDO}rm -f ${leftovers.map((n) => `${B}/${n}`).join(' ')}`)).code).toBe(0);
    expect((await on('k8s-4').exec(`${SUDO}microk8s start`)).code).toBe(0);
    expect(s.node('k8s-4').datastoreFault).toMatch(/^its log still holds the old configuration|of the template is missing/);

    // done right: leftovers gone, the template's files copied → it rejoins as a voter
    expect((await on('k8s-4').exec(`${SUDO}microk8s stop`)).code).toBe(0);
    expect((await on('k8s-4').exec(`${SUDO}tar -xzf /tmp/t.tar.gz -C ${B}`)).code).toBe(0);
    expect((await on('k8s-4').exec(`${SUDO}microk8s start`)).code).toBe(0);
    expect(s.node('k8s-4').datastoreFault).toBeUndefined();
    expect(['k8s-3', 'k8s-4'].map((n) => s.node(n).dqliteRole)).toEqual(['voter', 'voter']);
    expect(s.node('k8s-1').dqliteRole).toBeUndefined();
    await new Promise((r) => setTimeout(r, 50));
    expect((await on('k8s-3').exec(`${SUDO}microk8s kubectl get nodes`)).code).toBe(0);
  });
});
