import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInventory } from '../../src/config/inventory.ts';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { SUDO, clientFiles, connect, exec, type Conn, type ExecOut } from './helpers.ts';

/** The simulated Snap Store Proxy host and the node side of it, over plain ssh2. */

let cluster: SimCluster;
let files: Awaited<ReturnType<typeof clientFiles>>;
let proxy: { exec(command: string): Promise<ExecOut>; close(): void };
let k1: Conn;

beforeAll(async () => {
  cluster = await startSimCluster({ latency: { defaultMs: 0, refreshMs: 0, restartMs: 0 }, snapProxy: true });
  files = await clientFiles(cluster);
  const info = cluster.snapProxy!;
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.on('ready', () => { client.setNoDelay(true); resolve(); }).on('error', reject).connect({ host: info.host, port: info.port, username: cluster.user, privateKey: files.privateKey, hostVerifier: () => true });
  });
  proxy = { exec: (c) => exec(client, c), close: () => client.end() };
  k1 = await connect(cluster, 'k8s-1', { privateKey: files.privateKey });
});
afterAll(async () => {
  proxy?.close();
  k1?.close();
  await cluster?.stop();
});

describe('simulated Snap Store Proxy host', () => {
  it('is in the inventory YAML and known_hosts, with its own host key', () => {
    const info = cluster.snapProxy!;
    const inv = parseInventory(cluster.inventoryYaml({ clusterName: 'lab', channel: 'C0LAB000001', privateKeyPath: files.privateKeyPath, knownHostsPath: files.knownHostsPath }), '/tmp/i.yml');
    expect(inv.clusters.lab?.snapProxy).toEqual({ host: info.host, port: info.port });
    expect(inv.clusters.lab?.nodes.map((n) => n.name)).toEqual(['k8s-1', 'k8s-2', 'k8s-3']);
    expect(cluster.knownHosts()).toContain(`[${info.host}]:${info.port} ssh-ed25519 `);
    expect(cluster.nodes.every((n) => n.hostKeyFingerprint !== info.hostKeyFingerprint)).toBe(true);
  });

  it('answers override, list-overrides and delete-override as in the seed, as root only', async () => {
    expect(await proxy.exec('snap-proxy list-overrides microk8s')).toMatchObject({ code: 1, stdout: '' });
    expect(await proxy.exec(`${SUDO}snap-proxy list-overrides microk8s`)).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(await proxy.exec(`${SUDO}snap-proxy override microk8s stable=2645`)).toEqual({ stdout: 'microk8s stable amd64 2645\n', stderr: '', code: 0 });
    expect((await proxy.exec(`${SUDO}snap-proxy override microk8s latest/edge=2645`)).stdout).toBe('microk8s edge amd64 2645\n');
    expect((await proxy.exec(`${SUDO}snap-proxy override microk8s 1.23/stable=2906`)).stdout).toBe('microk8s 1.23/stable amd64 2906\n');
    const list = await proxy.exec(`${SUDO}snap-proxy list-overrides microk8s`);
    // upstream: what the channel serves without the override (latest/edge falls through to latest/stable)
    expect(list.stdout).toBe('microk8s stable amd64 2645 (upstream 6089)\nmicrok8s edge amd64 2645 (upstream 6089)\nmicrok8s 1.23/stable amd64 2906 (upstream 2948)\n');
    expect(await proxy.exec(`${SUDO}snap-proxy delete-override microk8s edge`)).toEqual({ stdout: 'microk8s edge amd64 is tracking upstream (revision 6089)\n', stderr: '', code: 0 });
    expect((await proxy.exec(`${SUDO}snap-proxy delete-override microk8s edge`)).stdout).toBe('');
    expect(await proxy.exec(`${SUDO}snap-proxy override microk8s 1.23/stable=99999`)).toMatchObject({ code: 1, stderr: 'error: revision 99999 of snap "microk8s" not found\n' });
    expect([...cluster.snapProxy!.proxy.overrides.keys()]).toEqual(['stable', '1.23/stable']);
    // its commands are in the cluster's command log under its own name
    expect(cluster.commandLog.filter((c) => c.node === 'snap-proxy').length).toBeGreaterThan(5);
    await proxy.exec(`${SUDO}snap-proxy delete-override microk8s stable`);
  });

  it('prints its status and domain', async () => {
    const status = await proxy.exec(`${SUDO}snap-proxy status`);
    expect(status.stdout).toMatch(new RegExp(`^ Store ID: ${cluster.snapProxy!.proxy.storeId}\n Status: approved\n`));
    expect(status.stdout).toContain('   snapproxy: running\n');
    expect((await proxy.exec(`${SUDO}snap-proxy config proxy.domain`)).stdout).toBe('proxy.internal\n');
  });

  it('a node acks the store assertion, sets proxy.store, and then refreshes to the pinned revision', async () => {
    const storeId = cluster.snapProxy!.proxy.storeId;
    expect(await k1.exec('snap get core proxy.store')).toMatchObject({ code: 1, stderr: 'error: snap "core" has no "proxy.store" configuration option\n' });
    // snapd refuses a store id without its assertion
    const early = await k1.exec(`${SUDO}snap set core proxy.store=${storeId}`);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain(`cannot set proxy.store to "${storeId}" without a matching store assertion`);

    const tmp = (await k1.exec('mktemp')).stdout.trim();
    expect(tmp).toMatch(/^\/tmp\/tmp\.[A-Za-z0-9]{10}$/);
    expect(await k1.exec(`curl -sSfL -o ${tmp} http://proxy.internal/v2/auth/store/assertions`)).toEqual({ stdout: '', stderr: '', code: 0 });
    expect((await k1.exec(`cat ${tmp}`)).stdout).toContain(`type: store\nauthority-id: canonical\nstore: ${storeId}\n`);
    expect((await k1.exec(`curl -sSf http://proxy.internal/nope`)).code).toBe(22);
    expect((await k1.exec(`curl -sSf http://elsewhere.internal/`)).stderr).toBe('curl: (6) Could not resolve host: elsewhere.internal\n');
    expect(await k1.exec(`snap ack ${tmp}`)).toMatchObject({ code: 1, stderr: 'error: access denied (try with sudo)\n' });
    expect(await k1.exec(`${SUDO}snap ack ${tmp}`)).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(await k1.exec(`${SUDO}snap set core proxy.store=${storeId}`)).toEqual({ stdout: '', stderr: '', code: 0 });
    expect((await k1.exec('snap get core proxy.store')).stdout).toBe(`${storeId}\n`);

    await proxy.exec(`${SUDO}snap-proxy override microk8s 1.23/stable=2906`);
    // seed step 3: the node's channel table shows the pinned revision, another node's shows upstream
    expect((await k1.exec('snap info microk8s')).stdout).toMatch(/\n {2}1\.23\/stable: +v1\.23\.1 +\S+ +\(2906\) /);
    const k3 = await connect(cluster, 'k8s-3', { privateKey: files.privateKey });
    expect((await k3.exec('snap info microk8s')).stdout).toMatch(/\n {2}1\.23\/stable: +v1\.23\.3 +\S+ +\(2948\) /);
    k3.close();
    const refresh = await k1.exec(`${SUDO}snap refresh microk8s --channel=1.23/stable`);
    expect(refresh).toMatchObject({ code: 0, stdout: 'microk8s (1.23/stable) v1.23.1 from Canonical** refreshed\n' });
    expect(cluster.state.node('k8s-1').revision).toBe(2906);
    // a node not pointed at the proxy gets upstream
    const k2 = await connect(cluster, 'k8s-2', { privateKey: files.privateKey });
    await k2.exec(`${SUDO}snap refresh microk8s --channel=1.23/stable`);
    k2.close();
    expect(cluster.state.node('k8s-2').revision).toBe(2948);
    // unpinned: the connected node follows upstream again
    await proxy.exec(`${SUDO}snap-proxy delete-override microk8s 1.23/stable`);
    await k1.exec(`${SUDO}snap refresh microk8s --channel=1.23/stable`);
    expect(cluster.state.node('k8s-1').revision).toBe(2948);
  });

  it('faults apply to the proxy host by its name', async () => {
    cluster.inject({ node: 'snap-proxy', match: 'list-overrides', kind: 'fail', exitCode: 1, stderr: 'error: cannot connect to the database\n', times: 1 });
    expect(await proxy.exec(`${SUDO}snap-proxy list-overrides microk8s`)).toMatchObject({ code: 1, stderr: 'error: cannot connect to the database\n' });
    expect((await proxy.exec(`${SUDO}snap-proxy list-overrides microk8s`)).code).toBe(0);
  });
});
