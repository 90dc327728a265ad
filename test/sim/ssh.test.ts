import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519, startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { SUDO, clientFiles, connect, type Conn } from './helpers.ts';

let cluster: SimCluster;
let key: Buffer;
let knownHostsPath: string;

beforeAll(async () => {
  cluster = await startSimCluster();
  const files = await clientFiles(cluster);
  key = files.privateKey;
  knownHostsPath = files.knownHostsPath;
});
afterAll(async () => {
  await cluster.stop();
});

function connectError(opts: Record<string, unknown>): Promise<Error> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('ready', () => {
      c.end();
      reject(new Error('unexpectedly authenticated'));
    })
      .on('error', (err) => resolve(err))
      .connect({ readyTimeout: 5000, hostVerifier: () => true, ...opts });
  });
}

describe('SSH endpoint', () => {
  it('accepts the generated client key for the configured user, and answers exec', async () => {
    const conn = await connect(cluster, 'k8s-2', { privateKey: key });
    expect(await conn.exec('hostname')).toEqual({ stdout: 'k8s-2\n', stderr: '', code: 0 });
    conn.close();
  });

  it('refuses another key and another user', async () => {
    const node = cluster.nodes[0];
    if (!node) throw new Error('no node');
    const other = generateEd25519();
    const wrongKey = await connectError({ host: node.host, port: node.port, username: 'ubuntu', privateKey: other.private });
    expect(wrongKey.message).toMatch(/authentication methods failed/);
    const wrongUser = await connectError({ host: node.host, port: node.port, username: 'root', privateKey: key });
    expect(wrongUser.message).toMatch(/authentication methods failed/);
    const password = await connectError({ host: node.host, port: node.port, username: 'ubuntu', password: 'ubuntu' });
    expect(password.message).toMatch(/authentication methods failed/);
  });

  it('presents the host key whose fingerprint and known_hosts line it advertises', async () => {
    const conn = await connect(cluster, 'k8s-1', { privateKey: key });
    const info = cluster.nodes.find((n) => n.name === 'k8s-1');
    expect(conn.seenFingerprint).toBe(info?.hostKeyFingerprint);
    expect(info?.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    conn.close();
    const lines = (await readFile(knownHostsPath, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const [i, line] of lines.entries()) {
      expect(line).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${cluster.nodes[i]?.port} ssh-ed25519 AAAA[A-Za-z0-9+/=]+$`));
    }
  });

  it('rotates a host key so the pinned one no longer matches', async () => {
    const before = cluster.nodes.find((n) => n.name === 'k8s-3')?.hostKeyFingerprint;
    cluster.rotateHostKey('k8s-3');
    const after = cluster.nodes.find((n) => n.name === 'k8s-3')?.hostKeyFingerprint;
    expect(after).not.toBe(before);
    const conn = await connect(cluster, 'k8s-3', { privateKey: key });
    expect(conn.seenFingerprint).toBe(after);
    conn.close();
    expect(cluster.knownHosts()).toContain(`:${cluster.nodes[2]?.port} ssh-ed25519`);
  });

  it('refuses shell operators and unknown programs the way bash reports them', async () => {
    const conn = await connect(cluster, 'k8s-1', { privateKey: key });
    const injected = await conn.exec(`${SUDO}microk8s kubectl drain k8s-1; rm -rf /`);
    expect(injected.code).toBe(2);
    expect(injected.stderr).toContain("syntax error near unexpected token `;'");
    expect((await conn.exec('echo $(id)')).code).toBe(2);
    expect(await conn.exec('kubectl get nodes')).toEqual({ stdout: '', stderr: 'bash: line 1: kubectl: command not found\n', code: 127 });
    expect((await conn.exec(`${SUDO}nosuch`)).stderr).toBe('sudo: nosuch: command not found\n');
    // nothing ran: k8s-1 is still schedulable
    expect(cluster.state.node('k8s-1').cordoned).toBe(false);
    const rec = cluster.commandLog.find((r) => r.command.includes('rm -rf'));
    expect(rec).toMatchObject({ node: 'k8s-1', code: 2 });
    conn.close();
  });

  it('limits sessions per connection to 10, like OpenSSH MaxSessions', async () => {
    cluster.inject({ node: 'k8s-2', match: 'sleep-forever', kind: 'hang' });
    const conn: Conn = await connect(cluster, 'k8s-2', { privateKey: key });
    const hung = Array.from({ length: 10 }, () => conn.exec('sleep-forever', 60_000).catch((e: unknown) => e));
    // wait until all ten are running
    for (let i = 0; i < 100 && cluster.commandLog.filter((r) => r.command === 'sleep-forever').length < 10; i++) await new Promise((r) => setTimeout(r, 10));
    await expect(conn.exec('hostname')).rejects.toThrow(/open failed|Channel open failure/i);
    conn.close();
    await Promise.all(hung);
    cluster.clearFaults();
  });

  it('setDown refuses connections and makes the node NotReady for the others', async () => {
    await cluster.setDown('k8s-3', true);
    const node = cluster.nodes.find((n) => n.name === 'k8s-3');
    const err = await connectError({ host: node?.host, port: node?.port, username: 'ubuntu', privateKey: key });
    expect(err.message).toMatch(/ECONNREFUSED/);
    const conn = await connect(cluster, 'k8s-1', { privateKey: key });
    const nodes = await conn.exec(`${SUDO}microk8s kubectl get nodes`);
    expect(nodes.stdout).toMatch(/^k8s-3\s+NotReady\s/m);
    const json = JSON.parse((await conn.exec(`${SUDO}microk8s kubectl get node k8s-3 -o json`)).stdout) as { status: { conditions: Array<{ type: string; status: string; reason: string }> } };
    expect(json.status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown' });
    await cluster.setDown('k8s-3', false);
    const back = await connect(cluster, 'k8s-3', { privateKey: key });
    expect((await back.exec('hostname')).stdout).toBe('k8s-3\n');
    expect((await conn.exec(`${SUDO}microk8s kubectl get nodes`)).stdout).toMatch(/^k8s-3\s+Ready\s/m);
    back.close();
    conn.close();
  });

  it('cuts open connections of a node that goes down', async () => {
    const conn = await connect(cluster, 'k8s-2', { privateKey: key });
    const closed = new Promise<void>((resolve) => conn.client.on('close', () => resolve()));
    await cluster.setDown('k8s-2', true);
    await closed;
    await cluster.setDown('k8s-2', false);
  });

  it('shifts date +%s by the clock skew', async () => {
    cluster.setClockSkew('k8s-2', 120);
    const a = await connect(cluster, 'k8s-1', { privateKey: key });
    const b = await connect(cluster, 'k8s-2', { privateKey: key });
    const ta = Number((await a.exec('date +%s')).stdout);
    const tb = Number((await b.exec('date +%s')).stdout);
    expect(tb - ta).toBeGreaterThanOrEqual(119);
    expect(tb - ta).toBeLessThanOrEqual(121);
    cluster.setClockSkew('k8s-2', 0);
    a.close();
    b.close();
  });
});
