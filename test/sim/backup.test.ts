import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInventory } from '../../src/config/inventory.ts';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { SUDO, clientFiles, connect, type Conn } from './helpers.ts';

let cluster: SimCluster;
let k1: Conn;
let files: Awaited<ReturnType<typeof clientFiles>>;
const BACKUP = '/tmp/mk8s-backup-1.tar.gz';
const TAR = `tar -czf ${BACKUP} -C /var/snap/microk8s/current/var/kubernetes backend`;

beforeAll(async () => {
  cluster = await startSimCluster({ latency: { defaultMs: 0 } });
  files = await clientFiles(cluster);
  k1 = await connect(cluster, 'k8s-1', { privateKey: files.privateKey });
});
afterAll(async () => {
  k1.close();
  await cluster.stop();
});

function download(conn: Conn, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    conn.client.sftp((err, sftp) => {
      if (err) {
        reject(err);
        return;
      }
      sftp.readFile(path, (e, data) => {
        sftp.end();
        if (e) reject(e);
        else resolve(data);
      });
    });
  });
}

/** Names and contents of the entries of an uncompressed ustar archive. */
function untar(buf: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  while (off + 512 <= buf.length) {
    const name = buf.subarray(off, off + 100).toString('utf8').replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(buf.subarray(off + 124, off + 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0', 8);
    out.set(name, buf.subarray(off + 512, off + 512 + size).toString('utf8'));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('datastore backup', () => {
  it('cannot read the backend without sudo', async () => {
    const r = await k1.exec('tar -czf /tmp/user.tar.gz -C /var/snap/microk8s/current/var/kubernetes backend');
    expect(r).toEqual({ stdout: '', stderr: 'tar: backend: Cannot open: Permission denied\ntar: Exiting with failure status due to previous errors\n', code: 2 });
    // like GNU tar, the (useless) archive was still written, owned by the user
    expect((await k1.exec('stat -c %U /tmp/user.tar.gz')).stdout).toBe('ubuntu\n');
    expect((await k1.exec('rm -f /tmp/user.tar.gz')).code).toBe(0);
  });

  it('tars the backend with sudo; sha256sum, stat and an SFTP download agree', async () => {
    expect(await k1.exec(`${SUDO}${TAR}`)).toEqual({ stdout: '', stderr: '', code: 0 });
    const sum = await k1.exec(`sha256sum ${BACKUP}`);
    const m = /^([0-9a-f]{64}) {2}(\S+)\n$/.exec(sum.stdout);
    expect(m?.[2]).toBe(BACKUP);
    const size = Number((await k1.exec(`stat -c %s ${BACKUP}`)).stdout.trim());
    const data = await download(k1, BACKUP);
    expect(data.length).toBe(size);
    expect(createHash('sha256').update(data).digest('hex')).toBe(m?.[1]);
    const entries = untar(gunzipSync(data));
    expect([...entries.keys()]).toEqual(expect.arrayContaining(['backend/', 'backend/cluster.yaml', 'backend/info.yaml', 'backend/failure-domain', 'backend/metadata1']));
    expect(entries.get('backend/cluster.yaml')).toBe(
      '- Address: 10.0.0.11:19001\n  ID: 3297041220608546238\n  Role: 0\n' + cluster.state.nodeList().slice(1).map((n) => `- Address: ${n.ip}:19001\n  ID: ${n.dqliteId}\n  Role: 0\n`).join(''),
    );
    expect(entries.get('backend/info.yaml')).toBe('Address: 10.0.0.11:19001\nID: 3297041220608546238\nRole: 0\n');
  });

  it('makes the same archive for the same state, a different one after a change', async () => {
    const sum = async () => (await k1.exec(`sha256sum ${BACKUP}`)).stdout.split(' ')[0];
    const first = await sum();
    await k1.exec(`${SUDO}${TAR}`);
    expect(await sum()).toBe(first);
    await k1.exec(`${SUDO}microk8s kubectl cordon k8s-2`);
    await k1.exec(`${SUDO}${TAR}`);
    expect(await sum()).not.toBe(first);
    await k1.exec(`${SUDO}microk8s kubectl uncordon k8s-2`);
  });

  it('removes the root-owned file only with sudo', async () => {
    expect(await k1.exec(`rm -f ${BACKUP}`)).toEqual({ stdout: '', stderr: `rm: cannot remove '${BACKUP}': Operation not permitted\n`, code: 1 });
    expect((await k1.exec(`${SUDO}rm -f ${BACKUP}`)).code).toBe(0);
    expect(await k1.exec(`sha256sum ${BACKUP}`)).toEqual({ stdout: '', stderr: `sha256sum: ${BACKUP}: No such file or directory\n`, code: 1 });
    expect((await k1.exec(`${SUDO}rm -f ${BACKUP}`)).code).toBe(0);
    await expect(download(k1, BACKUP)).rejects.toThrow(/No such file/);
  });

  it('creates directories and refuses a tarball in a missing one', async () => {
    const bad = await k1.exec(`${SUDO}tar -czf /var/backups/mk8s/x.tar.gz -C /var/snap/microk8s/current/var/kubernetes backend`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('tar (child): /var/backups/mk8s/x.tar.gz: Cannot open: No such file or directory');
    expect((await k1.exec('mkdir -p /var/backups/mk8s')).stderr).toBe('mkdir: cannot create directory ‘/var/backups/mk8s’: Permission denied\n');
    expect((await k1.exec(`${SUDO}mkdir -p /var/backups/mk8s`)).code).toBe(0);
    expect((await k1.exec(`${SUDO}tar -czf /var/backups/mk8s/x.tar.gz -C /var/snap/microk8s/current/var/kubernetes backend`)).code).toBe(0);
    expect((await k1.exec('test -f /var/backups/mk8s/x.tar.gz')).code).toBe(0);
  });
});

describe('inventory', () => {
  it('writes an inventory the config loader accepts', () => {
    const text = cluster.inventoryYaml({
      clusterName: 'sim',
      channel: 'C0123456789',
      privateKeyPath: files.privateKeyPath,
      knownHostsPath: files.knownHostsPath,
      rbac: { operators: ['U0OPERATOR1'], approvers: ['U0APPROVER1'] },
      policy: { approvalTtl: '15m' },
    });
    const inv = parseInventory(text, `${files.dir}/inventory.yml`);
    const c = inv.clusters.sim;
    expect(c?.nodes.map((n) => [n.name, n.host, n.port, n.role])).toEqual(cluster.nodes.map((n) => [n.name, '127.0.0.1', n.port, 'control-plane']));
    expect(c?.ssh).toMatchObject({ user: 'ubuntu', privateKeyPath: files.privateKeyPath, knownHostsPath: files.knownHostsPath, sudo: true });
    expect(c?.policy.approvalTtl).toBe(15 * 60_000);
    expect(inv.rbac.approvers).toEqual(['U0APPROVER1']);
  });
});

describe('sudoRequired: false', () => {
  it('lets the user (in the microk8s group) run microk8s, snap and the backup without sudo', async () => {
    const c = await startSimCluster({ sudoRequired: false, workloads: false, nodes: [{ name: 'solo' }], latency: { defaultMs: 0, refreshMs: 1, restartMs: 1 } });
    try {
      const key = (await clientFiles(c)).privateKey;
      const conn = await connect(c, 'solo', { privateKey: key });
      expect((await conn.exec('microk8s status --format short')).stdout).toMatch(/^microk8s is running\n/);
      expect((await conn.exec('microk8s status')).stdout).toContain('high-availability: no\n  datastore master nodes: 10.0.0.11:19001\n');
      expect((await conn.exec('tar -czf /tmp/b.tar.gz -C /var/snap/microk8s/current/var/kubernetes backend')).code).toBe(0);
      expect((await conn.exec('snap refresh microk8s --channel=1.23/stable')).code).toBe(0);
      expect(c.commandLog.every((r) => !r.sudo)).toBe(true);
      conn.close();
    } finally {
      await c.stop();
    }
  });
});
