import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInspect } from '../../src/microk8s/parse-inspect.ts';
import { inspectFlags, startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { SUDO, clientFiles, connect, type Conn } from './helpers.ts';

/** `microk8s inspect` on the simulator: reference §7 output, the tarball on the node, FAIL → exit 1. */

let cluster: SimCluster;
let k1: Conn;
let w1: Conn;

beforeAll(async () => {
  cluster = await startSimCluster({
    latency: { defaultMs: 0 },
    nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3', channel: '1.28/stable' }, { name: 'w1', role: 'worker' }],
  });
  const files = await clientFiles(cluster);
  k1 = await connect(cluster, 'k8s-1', { privateKey: files.privateKey });
  w1 = await connect(cluster, 'w1', { privateKey: files.privateKey });
});
afterAll(async () => {
  k1?.close();
  w1?.close();
  await cluster?.stop();
});

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

function names(tarGz: Buffer): string[] {
  const buf = gunzipSync(tarGz);
  const out: string[] = [];
  for (let off = 0; off + 512 <= buf.length; ) {
    const name = buf.subarray(off, off + 100).toString('utf8').replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(buf.subarray(off + 124, off + 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0', 8);
    out.push(name);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('microk8s inspect (simulated)', () => {
  it('needs sudo: without it, sudo cannot prompt over a non-interactive session', async () => {
    const r = await k1.exec('microk8s inspect');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sudo: a terminal is required to read the password');
  });

  it('prints the 1.22 report and writes the tarball it names under the numeric revision', async () => {
    const r = await k1.exec(`${SUDO}microk8s inspect`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Inspecting Certificates\nInspecting services\n {2}Service snap\.microk8s\.daemon-cluster-agent is running\n/);
    expect(r.stdout).toContain('Inspecting juju\n  Inspect Juju\nInspecting kubeflow\n  Inspect Kubeflow\n');
    expect(r.stdout).not.toContain('Inspecting system');
    const m = /\n {2}Report tarball is at (\/var\/snap\/microk8s\/2551\/inspection-report-\d{8}_\d{6}\.tar\.gz)\n$/.exec(r.stdout);
    expect(m).not.toBeNull();
    const report = parseInspect(r.stdout, r.stderr);
    expect(report.tarball).toBe(m?.[1]);
    expect(report.findings).toEqual([]);
    expect(report.services.map((s) => s.name)).toEqual(['snap.microk8s.daemon-cluster-agent', 'snap.microk8s.daemon-containerd', 'snap.microk8s.daemon-apiserver-kicker', 'snap.microk8s.daemon-kubelite']);
    const tarball = await sftpRead(k1, report.tarball);
    expect(names(tarball)).toEqual(expect.arrayContaining(['inspection-report/', 'inspection-report/snap.microk8s.daemon-kubelite/journal.log', 'inspection-report/sys/snap-list', 'inspection-report/k8s/version']));
    const size = Number((await k1.exec(`stat -c %s ${report.tarball}`)).stdout.trim());
    expect(size).toBe(tarball.length);
  });

  it('a service down: a FAIL line with the journalctl hint, exit 1, still a tarball', async () => {
    const node = cluster.state.node('k8s-1');
    inspectFlags(node).down.add('kubelite');
    inspectFlags(node).warnings.push('IPtables FORWARD policy is DROP. Consider enabling traffic forwarding with: sudo iptables -P FORWARD ACCEPT');
    try {
      const r = await k1.exec(`${SUDO}microk8s inspect`);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('  \x1b[31m FAIL: \x1b[0m Service snap.microk8s.daemon-kubelite is not running\nFor more details look at: sudo journalctl -u snap.microk8s.daemon-kubelite\n');
      const report = parseInspect(r.stdout, r.stderr);
      expect(report.findings).toEqual([
        { level: 'FAIL', text: 'Service snap.microk8s.daemon-kubelite is not running For more details look at: sudo journalctl -u snap.microk8s.daemon-kubelite' },
        { level: 'WARNING', text: 'IPtables FORWARD policy is DROP. Consider enabling traffic forwarding with: sudo iptables -P FORWARD ACCEPT' },
      ]);
      expect(report.services.find((s) => s.name === 'snap.microk8s.daemon-kubelite')?.running).toBe(false);
      expect((await k1.exec(`test -f ${report.tarball}`)).code).toBe(0);
    } finally {
      inspectFlags(node).down.clear();
      inspectFlags(node).warnings.length = 0;
    }
  });

  it('1.28 prints "Inspecting system" and dqlite; a worker checks the API-server proxy', async () => {
    const k3 = await connect(cluster, 'k8s-3', { privateKey: (await clientFiles(cluster)).privateKey });
    const r = await k3.exec(`${SUDO}microk8s inspect`);
    k3.close();
    expect(r.stdout).toMatch(/^Inspecting system\nInspecting Certificates\n/);
    expect(r.stdout).toContain('Inspecting dqlite\n  Inspect dqlite\n');
    expect(r.stdout).toContain('/var/snap/microk8s/6089/inspection-report-');
    const w = await w1.exec(`${SUDO}microk8s inspect`);
    expect(w.code).toBe(0);
    expect(parseInspect(w.stdout).services.map((s) => s.name)).toEqual(['snap.microk8s.daemon-cluster-agent', 'snap.microk8s.daemon-containerd', 'snap.microk8s.daemon-kubelite', 'snap.microk8s.daemon-apiserver-proxy']);
  });
});
