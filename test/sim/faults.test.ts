import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { SUDO, clientFiles, connect, type Conn } from './helpers.ts';

let cluster: SimCluster;
let key: Buffer;
let k1: Conn;

beforeAll(async () => {
  cluster = await startSimCluster({ latency: { defaultMs: 0, refreshMs: 5, restartMs: 5 } });
  key = (await clientFiles(cluster)).privateKey;
  k1 = await connect(cluster, 'k8s-1', { privateKey: key });
});
afterAll(async () => {
  k1.close();
  await cluster.stop();
});

describe('fault injection', () => {
  it('fails a matching command a given number of times, then runs it for real', async () => {
    cluster.inject({ node: 'k8s-1', match: /^snap refresh microk8s/, kind: 'fail', exitCode: 1, stderr: 'error: unable to contact snap store\n', times: 1 });
    // the client may quote every word: the fault still matches
    const failed = await k1.exec(`'sudo' '-n' '--' 'snap' 'refresh' 'microk8s' '--channel' '1.23/stable'`);
    expect(failed).toEqual({ stdout: '', stderr: 'error: unable to contact snap store\n', code: 1 });
    expect(cluster.state.node('k8s-1').revision).toBe(2551);
    const ok = await k1.exec(`${SUDO}snap refresh microk8s --channel 1.23/stable`);
    expect(ok.code).toBe(0);
    expect(cluster.state.node('k8s-1').revision).toBe(2948);
    const recs = cluster.commandLog.filter((r) => r.argv[1] === 'refresh');
    expect(recs.map((r) => [r.sudo, r.code, r.fault])).toEqual([
      [true, 1, 'fail'],
      [true, 0, undefined],
    ]);
    expect(recs[0]?.argv).toEqual(['snap', 'refresh', 'microk8s', '--channel', '1.23/stable']);
  });

  it('applies only to its node, or to every node with *', async () => {
    cluster.inject({ node: 'k8s-2', match: 'hostname', kind: 'fail', exitCode: 7, stderr: 'boom\n' });
    expect((await k1.exec('hostname')).code).toBe(0);
    const k2 = await connect(cluster, 'k8s-2', { privateKey: key });
    expect((await k2.exec('hostname')).code).toBe(7);
    expect((await k2.exec('hostname')).code).toBe(7);
    cluster.clearFaults();
    expect((await k2.exec('hostname')).code).toBe(0);
    cluster.inject({ node: '*', match: 'hostname', kind: 'fail', exitCode: 3, stderr: '', times: 2 });
    expect((await k1.exec('hostname')).code).toBe(3);
    expect((await k2.exec('hostname')).code).toBe(3);
    expect((await k2.exec('hostname')).code).toBe(0);
    k2.close();
  });

  it('hangs: the command never answers, the client has to time out', async () => {
    cluster.inject({ node: 'k8s-1', match: 'kubectl drain', kind: 'hang', times: 1 });
    await expect(k1.exec(`${SUDO}microk8s kubectl drain k8s-1 --ignore-daemonsets`, 150)).rejects.toThrow(/timeout/);
    expect(cluster.state.node('k8s-1').cordoned).toBe(false);
    expect(cluster.commandLog.at(-1)).toMatchObject({ fault: 'hang', code: null });
    // the connection is still usable
    expect((await k1.exec('hostname')).stdout).toBe('k8s-1\n');
  });

  it('drops the connection mid-command', async () => {
    cluster.inject({ node: 'k8s-1', match: 'status', kind: 'drop', times: 1 });
    const conn = await connect(cluster, 'k8s-1', { privateKey: key });
    const closed = new Promise<void>((resolve) => conn.client.on('close', () => resolve()));
    conn.client.on('error', () => {});
    const r = await conn.exec(`${SUDO}microk8s status`).then(
      (out) => out.code,
      () => null,
    );
    await closed;
    expect(r).toBeNull();
    expect(cluster.commandLog.at(-1)).toMatchObject({ fault: 'drop', code: null });
    const again = await connect(cluster, 'k8s-1', { privateKey: key });
    expect((await again.exec(`${SUDO}microk8s status`)).stdout).toMatch(/^microk8s is running/);
    again.close();
  });

  it('delays a command and counts the time as simulated time', async () => {
    const before = cluster.simulatedMs();
    cluster.inject({ node: 'k8s-1', match: /^date/, kind: 'delay', ms: 60, times: 1 });
    expect((await k1.exec('date +%s')).code).toBe(0);
    const rec = cluster.commandLog.at(-1);
    expect(rec?.fault).toBe('delay');
    expect(rec?.durationMs).toBeGreaterThanOrEqual(55);
    expect(cluster.simulatedMs() - before).toBeGreaterThanOrEqual(55);
  });
});
