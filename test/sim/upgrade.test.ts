import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { SUDO, clientFiles, connect, type Conn } from './helpers.ts';

let cluster: SimCluster;
let k1: Conn;
let k2: Conn;

beforeAll(async () => {
  // a long restart window, so the NotReady state is observed without timing races; tests then shorten it
  cluster = await startSimCluster({ latency: { defaultMs: 1, refreshMs: 20, restartMs: 60_000 } });
  const key = (await clientFiles(cluster)).privateKey;
  k1 = await connect(cluster, 'k8s-1', { privateKey: key });
  k2 = await connect(cluster, 'k8s-2', { privateKey: key });
});
afterAll(async () => {
  k1.close();
  k2.close();
  await cluster.stop();
});

const kubelet = async (conn: Conn, node: string) =>
  (JSON.parse((await conn.exec(`${SUDO}microk8s kubectl get node ${node} -o json`)).stdout) as { status: { nodeInfo: { kubeletVersion: string } } }).status.nodeInfo.kubeletVersion;

describe('snap refresh and revert', () => {
  it('lists the installed snap like snap list off a TTY', async () => {
    expect(await k1.exec('snap list microk8s')).toEqual({
      stdout: 'Name      Version  Rev   Tracking     Publisher    Notes\nmicrok8s  v1.22.3  2551  1.22/stable  canonical**  classic\n',
      stderr: '',
      code: 0,
    });
    const info = await k1.exec('snap info microk8s');
    expect(info.stdout).toMatch(/^name: {6}microk8s\n/);
    expect(info.stdout).toContain('\npublisher: Canonical**\n');
    expect(info.stdout).toContain('\ntracking:     1.22/stable\n');
    expect(info.stdout).toMatch(/\n {2}1\.23\/candidate: +v1\.23\.0-rc\.0 +2021-11-17 \(2644\) 176MB classic\n/);
    expect(info.stdout).toMatch(/\ninstalled: +v1\.22\.3 +\(2551\) 173MB classic\n$/);
    expect((await k1.exec('snap list nothing')).stderr).toBe('error: no matching snaps installed\n');
  });

  it('needs sudo to refresh or revert', async () => {
    expect(await k1.exec('snap refresh microk8s --channel 1.23/stable')).toEqual({ stdout: '', stderr: 'error: access denied (try with sudo)\n', code: 1 });
    expect(await k1.exec('snap revert microk8s')).toEqual({ stdout: '', stderr: 'error: access denied (try with sudo)\n', code: 1 });
    expect(cluster.state.node('k8s-1').revision).toBe(2551);
  });

  it('rejects malformed and unknown channels', async () => {
    expect(await k1.exec(`${SUDO}snap refresh microk8s --channel=1.23/stabel`)).toEqual({ stdout: '', stderr: 'error: cannot parse channel: invalid risk in channel name: 1.23/stabel\n', code: 1 });
    const unknown = await k1.exec(`${SUDO}snap refresh microk8s --channel=1.99/stable`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: snap "microk8s" is not available on 1\.99\/stable but is available to\n {7}install on the following tracks:\n/);
    expect(await k1.exec(`${SUDO}snap revert microk8s`)).toEqual({ stdout: '', stderr: 'error: cannot revert "microk8s": no revision to revert to\n', code: 1 });
    expect(await k1.exec(`${SUDO}snap refresh microk8s --channel 1.22/stable`)).toEqual({ stdout: '', stderr: 'snap "microk8s" has no updates available\n', code: 0 });
  });

  it('refreshes to the next minor with a NotReady window, then reverts', async () => {
    const target = CHANNELS['1.23/stable'];
    const r = await k1.exec(`${SUDO}snap refresh microk8s --channel 1.23/stable`);
    expect(r).toEqual({ stdout: `microk8s (1.23/stable) ${target?.version} from Canonical** refreshed\n`, stderr: '', code: 0 });
    // right after the refresh the node restarts: NotReady for the others, API down locally
    expect((await k2.exec(`${SUDO}microk8s kubectl get nodes`)).stdout).toMatch(/^k8s-1\s+NotReady\s+<none>\s+\S+\s+v1\.23\.3-2\+d441060727c463$/m);
    expect((await k1.exec(`${SUDO}microk8s status`)).stdout).toBe('microk8s is not running. Use microk8s inspect for a deeper inspection.\n');
    expect((await k1.exec(`${SUDO}microk8s kubectl get nodes`)).code).toBe(1);
    const k8s1 = cluster.state.node('k8s-1');
    expect(k8s1.restarting).toBe(true);
    k8s1.restartingUntil = Date.now() + 50;
    // and it comes back without any fixed sleep on our side
    expect((await k1.exec(`${SUDO}microk8s status --wait-ready --timeout 30`)).stdout).toMatch(/^microk8s is running\n/);
    expect((await k2.exec(`${SUDO}microk8s kubectl wait --for=condition=Ready node/k8s-1 --timeout=30s`)).stdout).toBe('node/k8s-1 condition met\n');
    expect(await kubelet(k2, 'k8s-1')).toBe(target?.kubeletVersion);
    expect((await k1.exec('snap list microk8s')).stdout).toContain('microk8s  v1.23.3  2948  1.23/stable  canonical**  classic\n');

    const rv = await k1.exec(`${SUDO}snap revert microk8s`);
    expect(rv).toEqual({ stdout: 'microk8s reverted to v1.22.3\n', stderr: '', code: 0 });
    expect((await k2.exec(`${SUDO}microk8s kubectl get nodes`)).stdout).toMatch(/^k8s-1\s+NotReady\s/m);
    k8s1.restartingUntil = Date.now() + 50;
    expect((await k2.exec(`${SUDO}microk8s kubectl wait --for=condition=Ready node/k8s-1 --timeout=30s`)).code).toBe(0);
    expect(await kubelet(k2, 'k8s-1')).toBe('v1.22.3-3+9ec7c40ec93c73');
    // revert keeps the tracking channel, like snapd
    expect((await k1.exec('snap list microk8s')).stdout).toContain('microk8s  v1.22.3  2551  1.23/stable  canonical**  classic\n');
    expect((await k1.exec('snap list --all microk8s')).stdout).toContain('microk8s  v1.23.3  2948  1.23/stable  canonical**  disabled,classic\n');
    expect(cluster.state.node('k8s-1').history.map((h) => [h.action, h.toRevision])).toEqual([
      ['install', 2551],
      ['refresh', 2948],
      ['revert', 2551],
    ]);
  });

  it('says when a closed channel forwards to a more stable one', async () => {
    const r = await k2.exec(`${SUDO}snap refresh microk8s --channel=1.24/candidate`);
    expect(r.stdout).toBe('microk8s (1.24/stable) v1.24.0 from Canonical** refreshed\nChannel 1.24/candidate for microk8s is closed; temporarily forwarding to 1.24/stable.\n');
    expect(cluster.state.node('k8s-2').tracking).toBe('1.24/candidate');
    cluster.state.node('k8s-2').restartingUntil = 0;
  });

  it('holds and unholds refreshes with snapd’s messages', async () => {
    expect(await k1.exec('snap refresh --hold microk8s')).toEqual({ stdout: '', stderr: 'error: access denied (try with sudo)\n', code: 1 });
    expect(await k1.exec(`${SUDO}snap refresh --hold microk8s`)).toEqual({ stdout: 'General refreshes of "microk8s" held indefinitely\n', stderr: '', code: 0 });
    expect((await k1.exec('snap list microk8s')).stdout).toMatch(/ classic,held\n$/);
    expect((await k1.exec('snap info microk8s')).stdout).toContain('\nhold:         forever\n');
    const timed = await k1.exec(`${SUDO}snap refresh --hold=24h microk8s`);
    expect(timed.stdout).toMatch(/^General refreshes of "microk8s" held until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
    expect((await k1.exec(`${SUDO}snap refresh --hold=soon microk8s`)).stderr).toMatch(/^error: hold value must be a number of hours, minutes or seconds, or "forever"/);
    expect(await k1.exec(`${SUDO}snap refresh --unhold microk8s`)).toEqual({ stdout: 'Removed general refresh hold of "microk8s"\n', stderr: '', code: 0 });
    expect((await k1.exec('snap list microk8s')).stdout).toMatch(/ classic\n$/);
  });
});
