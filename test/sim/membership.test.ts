/**
 * The simulator's cluster membership: add-node tokens, join (and its failures), leave,
 * remove-node, dqlite roles, an old-style cluster's enable ha-cluster, getent and nc.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, simMembership, type SimCluster } from '../../src/sim/index.ts';
import { SUDO, clientFiles, connect, type Conn } from './helpers.ts';

/** The join URL on the default address of an add-node output. */
function joinUrl(out: string): string {
  const m = /^microk8s join (\S+)$/m.exec(out);
  if (!m?.[1]) throw new Error(`no join line in: ${out}`);
  return m[1];
}

function roles(cluster: SimCluster): Record<string, string | undefined> {
  return Object.fromEntries(cluster.state.nodeList().map((n) => [n.name, n.dqliteRole]));
}

describe('sim membership on 1.22 (k8s-1..3 in the cluster, k8s-4 and k8s-5 outside)', () => {
  let cluster: SimCluster;
  const conns = new Map<string, Conn>();
  const on = async (node: string, cmd: string) => {
    let c = conns.get(node);
    if (!c) {
      const files = await clientFiles(cluster);
      c = await connect(cluster, node, { privateKey: files.privateKey });
      conns.set(node, c);
    }
    return c.exec(cmd);
  };

  beforeAll(async () => {
    cluster = await startSimCluster({
      latency: { defaultMs: 0, restartMs: 10, drainMs: 5 },
      nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }, { name: 'k8s-4', joined: false }, { name: 'k8s-5', joined: false }],
    });
  });
  afterAll(async () => {
    for (const c of conns.values()) c.close();
    await cluster.stop();
  });

  it('a host outside the cluster runs its own single node', async () => {
    const nodes = await on('k8s-4', `${SUDO}microk8s kubectl get nodes`);
    expect(nodes.stdout).toMatch(/^NAME\s+STATUS/);
    expect(nodes.stdout).toContain('k8s-4');
    expect(nodes.stdout).not.toContain('k8s-1');
    const main = await on('k8s-1', `${SUDO}microk8s kubectl get nodes`);
    expect(main.stdout).not.toContain('k8s-4');
    const status = await on('k8s-4', `${SUDO}microk8s status --format yaml`);
    expect(status.stdout).toContain('- address: 10.0.0.14:19001\n      role: voter\n');
    expect(status.stdout).not.toContain('10.0.0.11');
  });

  it('add-node prints the 1.22 format and the token works once', async () => {
    const out = await on('k8s-1', `${SUDO}microk8s add-node`);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^From the node you wish to join to this cluster, run the following:\nmicrok8s join 10\.0\.0\.11:25000\/[0-9a-f]{32}\/[0-9a-f]{12}\n\nIf the node you are adding is not reachable through the default interface you can use one of the following:\n microk8s join 10\.0\.0\.11:25000\//);
    expect(out.stdout).not.toContain('--worker'); // 1.22: no worker nodes yet
    const url = joinUrl(out.stdout);
    const fp = simMembership(cluster.state).fingerprint('k8s-1');
    expect(url.endsWith(`/${fp}`)).toBe(true);

    const joined = await on('k8s-4', `${SUDO}microk8s join ${url}`);
    expect(joined).toEqual({ stdout: 'Contacting cluster at 10.0.0.11\nWaiting for this node to finish joining the cluster. .. .. .. .  \n', stderr: '', code: 0 });
    expect(simMembership(cluster.state).isMember('k8s-4')).toBe(true);
    // a 4th control-plane node is a stand-by
    expect(roles(cluster)).toMatchObject({ 'k8s-1': 'voter', 'k8s-2': 'voter', 'k8s-3': 'voter', 'k8s-4': 'standby' });
    const nodes = await on('k8s-2', `${SUDO}microk8s kubectl get nodes`);
    expect(nodes.stdout).toContain('k8s-4');

    // the same token again (k8s-5): used up
    const again = await on('k8s-5', `${SUDO}microk8s join ${url}`);
    expect(again).toEqual({ stdout: 'Contacting cluster at 10.0.0.11\nConnection failed. Invalid token (500).\n', stderr: '', code: 6 });
    expect(simMembership(cluster.state).tokens().at(-1)).toMatchObject({ node: 'k8s-1', consumed: true, uses: 2 });
  });

  it('a token is only good at the node that made it, and a TTL token can be used until it expires', async () => {
    const out = await on('k8s-2', `${SUDO}microk8s add-node --token-ttl 300`);
    const url = joinUrl(out.stdout);
    const elsewhere = url.replace('10.0.0.12', '10.0.0.11');
    expect((await on('k8s-5', `${SUDO}microk8s join ${elsewhere} --skip-verify`)).stdout).toContain('Invalid token (500).');
    const token = simMembership(cluster.state).tokens().at(-1)!;
    expect(token).toMatchObject({ node: 'k8s-2', ttlSeconds: 300, consumed: false });
    expect(token.expiresAt).toBeGreaterThan(Date.now());
  });

  it('join failures: unreachable agent, fingerprint, hostname, clock skew, --worker on 1.22', async () => {
    const m = simMembership(cluster.state);
    const url = joinUrl((await on('k8s-1', `${SUDO}microk8s add-node --token-ttl 600`)).stdout);

    m.setAgentRunning('k8s-1', false);
    const refused = await on('k8s-5', `${SUDO}microk8s join ${url}`);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('Contacting cluster at 10.0.0.11\n');
    expect(refused.stderr).toMatch(/^Traceback \(most recent call last\):\n[\s\S]*\nConnectionRefusedError: \[Errno 111\] Connection refused\n$/);
    m.setAgentRunning('k8s-1', true);

    m.setBlocked('k8s-5', '10.0.0.11', true);
    expect((await on('k8s-5', `${SUDO}microk8s join ${url}`)).stderr).toMatch(/TimeoutError: \[Errno 110\] Connection timed out\n$/);
    m.setBlocked('k8s-5', '10.0.0.11', false);

    const wrongFp = url.replace(/\/[0-9a-f]{12}$/, '/0123456789ab');
    expect(await on('k8s-5', `${SUDO}microk8s join ${wrongFp}`)).toEqual({
      stdout: "Contacting cluster at 10.0.0.11\nJoining cluster failed. Could not verify the identity of 10.0.0.11. Use '--skip-verify' to skip server certificate check.\n",
      stderr: '',
      code: 4,
    });

    cluster.setClockSkew('k8s-5', -600);
    const skewed = await on('k8s-5', `${SUDO}microk8s join ${url}`);
    expect(skewed.code).toBe(4);
    expect(skewed.stdout).toContain('certificate verify failed: certificate is not yet valid');
    cluster.setClockSkew('k8s-5', 0);

    m.setResolvable('k8s-1', 'k8s-5', false);
    expect((await on('k8s-5', `${SUDO}microk8s join ${url}`)).stdout).toBe(
      'Contacting cluster at 10.0.0.11\nConnection failed. The hostname (k8s-5) of the joining node does not resolve to the IP "10.0.0.15". Refusing join (400).\n',
    );
    m.setResolvable('k8s-1', 'k8s-5', true);

    expect(await on('k8s-5', `${SUDO}microk8s join ${url} --worker`)).toMatchObject({ code: 2, stdout: expect.stringMatching(/^option --worker not recognized\n/) as unknown });
    expect(m.isStandalone('k8s-5')).toBe(true);
    expect(m.joins().filter((j) => j.node === 'k8s-5').map((j) => j.code)).toEqual([6, 6, 1, 1, 4, 4, 6]);
  });

  it('getent and nc answer as on the hosts', async () => {
    const m = simMembership(cluster.state);
    expect(await on('k8s-5', 'getent hosts k8s-1')).toEqual({ stdout: '10.0.0.11       k8s-1\n', stderr: '', code: 0 });
    m.setResolvable('k8s-5', 'k8s-2', false);
    expect(await on('k8s-5', 'getent hosts k8s-2')).toEqual({ stdout: '', stderr: '', code: 2 });
    m.setResolvable('k8s-5', 'k8s-2', true);
    expect(await on('k8s-5', 'nc -z -v -w 5 10.0.0.11 25000')).toEqual({ stdout: '', stderr: 'Connection to 10.0.0.11 25000 port [tcp/*] succeeded!\n', code: 0 });
    m.setAgentRunning('k8s-1', false);
    expect(await on('k8s-5', 'nc -z -v -w 5 10.0.0.11 25000')).toEqual({ stdout: '', stderr: 'nc: connect to 10.0.0.11 port 25000 (tcp) failed: Connection refused\n', code: 1 });
    m.setAgentRunning('k8s-1', true);
    expect((await on('k8s-5', 'nc -z -w 5 10.0.0.99 25000')).code).toBe(1);
  });

  it('leave keeps a NotReady Node object until remove-node, and a stand-by is promoted', async () => {
    // k8s-2 leaves: k8s-4 (stand-by) becomes a voter
    const left = await on('k8s-2', `${SUDO}microk8s leave`);
    expect(left).toEqual({ stdout: 'Generating new cluster certificates.\nWaiting for node to start. .  \n', stderr: '', code: 0 });
    expect(roles(cluster)).toMatchObject({ 'k8s-1': 'voter', 'k8s-3': 'voter', 'k8s-4': 'voter' });
    const seen = await on('k8s-1', `${SUDO}microk8s kubectl get nodes`);
    expect(seen.stdout).toMatch(/k8s-2\s+NotReady/);
    const own = await on('k8s-2', `${SUDO}microk8s kubectl get nodes`);
    expect(own.stdout).not.toContain('k8s-1');

    expect(await on('k8s-1', `${SUDO}microk8s remove-node --force k8s-2`)).toEqual({ stdout: 'Please provide the node and the optional --force flag.\n', stderr: '', code: 1 });
    expect(await on('k8s-1', `${SUDO}microk8s remove-node k8s-2`)).toEqual({ stdout: '', stderr: '', code: 0 });
    expect((await on('k8s-1', `${SUDO}microk8s kubectl get nodes`)).stdout).not.toContain('k8s-2');
    expect(await on('k8s-1', `${SUDO}microk8s remove-node k8s-2`)).toEqual({
      stdout: 'Node k8s-2 does not exist in Kubernetes.\n',
      stderr: 'Error from server (NotFound): nodes "k8s-2" not found\n',
      code: 1,
    });
  });

  it('remove-node refuses a dqlite member without --force; --force unregisters it', async () => {
    const refused = await on('k8s-1', `${SUDO}microk8s remove-node k8s-3`);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe(
      "Removal failed. Node k8s-3 is registered with dqlite. Please, run first 'microk8s leave' on the departing node. \nIf the node is not available anymore and will never attempt to join the cluster in the future use the '--force' flag \nto unregister the node while removing it.\n",
    );
    await cluster.setDown('k8s-3', true);
    expect(await on('k8s-1', `${SUDO}microk8s remove-node k8s-3 --force`)).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(roles(cluster)).toEqual({ 'k8s-1': 'voter', 'k8s-4': 'voter' });
    expect((await on('k8s-1', `${SUDO}microk8s status`)).stdout).toContain('high-availability: no\n  datastore master nodes: 10.0.0.11:19001 10.0.0.14:19001\n');
  });

  it('leave refuses on the only voter (exit 3)', async () => {
    // k8s-4 leaves, k8s-1 is the only voter; make k8s-5 a member so k8s-1 is not alone
    expect((await on('k8s-4', `${SUDO}microk8s leave`)).code).toBe(0);
    await on('k8s-1', `${SUDO}microk8s remove-node k8s-4`);
    const url = joinUrl((await on('k8s-1', `${SUDO}microk8s add-node`)).stdout);
    expect((await on('k8s-5', `${SUDO}microk8s join ${url}`)).code).toBe(0);
    expect(roles(cluster)).toMatchObject({ 'k8s-1': 'voter', 'k8s-5': 'voter' });
    // with two voters neither is the only one: make k8s-5 a spare to get the refusal
    cluster.state.node('k8s-5').dqliteRole = 'spare';
    const r = await on('k8s-1', `${SUDO}microk8s leave`);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(
      "This node currently holds the only copy of the Kubernetes database so it cannot leave the cluster.\nTo remove this node you can either first remove all other nodes with 'microk8s remove-node' or\nform a highly available cluster by adding at least three nodes.\n",
    );
  });
});

describe('sim membership on 1.24: workers, add-node formats', () => {
  let cluster: SimCluster;
  let conns: Conn[] = [];
  const conn = async (node: string) => {
    const files = await clientFiles(cluster);
    const c = await connect(cluster, node, { privateKey: files.privateKey });
    conns.push(c);
    return c;
  };
  beforeAll(async () => {
    cluster = await startSimCluster({
      latency: { defaultMs: 0, restartMs: 10 },
      nodes: [{ name: 'k8s-1', channel: '1.24/stable' }, { name: 'w1', role: 'worker', channel: '1.24/stable', joined: false }, { name: 'x1', channel: '1.24/stable', joined: false, otherCluster: 'worker' }],
    });
  });
  afterAll(async () => {
    for (const c of conns) c.close();
    conns = [];
    await cluster.stop();
  });

  it('prints json and the pretty format with the worker paragraph; a worker joins and cannot run add-node', async () => {
    const k1 = await conn('k8s-1');
    const json = await k1.exec(`${SUDO}microk8s add-node --format json --token-ttl 120`);
    const doc = JSON.parse(json.stdout) as { token: string; urls: string[] };
    expect(doc.urls[0]).toBe(`10.0.0.11:25000/${doc.token}`);
    expect(doc.urls.some((u) => u.startsWith('fd42:'))).toBe(true);
    const pretty = await k1.exec(`${SUDO}microk8s add-node`);
    expect(pretty.stdout).toContain("\nUse the '--worker' flag to join a node as a worker not running the control plane, eg:\nmicrok8s join 10.0.0.11:25000/");
    const url = joinUrl(pretty.stdout);

    const w1 = await conn('w1');
    const joined = await w1.exec(`${SUDO}microk8s join ${url} --worker`);
    expect(joined.code).toBe(0);
    expect(joined.stdout).toContain('The node has joined the cluster and will appear in the nodes list in a few seconds.');
    expect(cluster.state.node('w1').role).toBe('worker');
    expect(cluster.state.node('w1').dqliteRole).toBeUndefined();
    expect((await w1.exec(`${SUDO}cat /var/snap/microk8s/current/args/traefik/provider.yaml`)).stdout).toContain('- address: 10.0.0.11:16443');
    expect(await w1.exec(`${SUDO}microk8s add-node`)).toEqual({
      stdout: 'This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s add-node on the master.\n',
      stderr: '',
      code: 1,
    });
    expect((await w1.exec(`${SUDO}microk8s remove-node k8s-1`)).stdout).toBe('This MicroK8s deployment is acting as a node in a cluster. Please use microk8s leave.\n');
  });

  it('a host of another cluster says so', async () => {
    const x1 = await conn('x1');
    expect((await x1.exec(`${SUDO}microk8s status`)).stdout).toBe('This MicroK8s deployment is acting as a node in a cluster.\nPlease use the control plane node.\n');
  });

  it('--controlplane takes the worker path and burns the token', async () => {
    const k1 = await conn('k8s-1');
    const url = joinUrl((await k1.exec(`${SUDO}microk8s add-node`)).stdout);
    const x = await conn('w1');
    await x.exec(`${SUDO}microk8s leave`);
    const r = await x.exec(`${SUDO}microk8s join ${url} --controlplane`);
    expect(r.stdout).toBe('Contacting cluster at 10.0.0.11\nJoining process failed. Make sure the cluster you connect to supports joining worker nodes.\n');
    expect(r.code).toBe(1);
    expect(simMembership(cluster.state).tokens().at(-1)?.consumed).toBe(true);
  });
});

describe('sim: an old-style cluster gets ha-cluster', () => {
  it('status without HA, enable on the main node, the old nodes leave and join again', async () => {
    const cluster = await startSimCluster({ latency: { defaultMs: 0, restartMs: 10 }, haCluster: false });
    const files = await clientFiles(cluster);
    const k1 = await connect(cluster, 'k8s-1', { privateKey: files.privateKey });
    const k2 = await connect(cluster, 'k8s-2', { privateKey: files.privateKey });
    try {
      const status = await k1.exec(`${SUDO}microk8s status`);
      expect(status.stdout).toMatch(/^microk8s is running\nhigh-availability: no\naddons:\n/);
      expect((await k1.exec(`${SUDO}microk8s status --format yaml`)).stdout).toContain('high-availability:\n  enabled: False\naddons:');
      expect((await k2.exec(`${SUDO}microk8s enable ha-cluster`)).stdout).toBe('This MicroK8s deployment is acting as a node in a cluster.\nPlease use the master node.\n');
      const enabled = await k1.exec(`${SUDO}microk8s enable ha-cluster`);
      expect(enabled.stdout).toMatch(/^Enabling HA\n[\s\S]*The node is now HA ready\. Join three or more nodes to form an HA cluster\.\n\nThe worker nodes already joined to this master need to be removed them and re-joined\.\n$/);
      expect((await k1.exec(`${SUDO}microk8s enable ha-cluster`)).stdout).toBe('Addon ha-cluster is already enabled.\n');

      expect(await k2.exec(`${SUDO}microk8s leave`)).toEqual({ stdout: 'Stopped.\nStarted.\n', stderr: '', code: 0 });
      const url = joinUrl((await k1.exec(`${SUDO}microk8s add-node`)).stdout);
      expect((await k2.exec(`${SUDO}microk8s join ${url}`)).stdout).toContain("Please retry after enabling HA on this joining node with 'microk8s enable ha-cluster' (501).");
      expect((await k2.exec(`${SUDO}microk8s enable ha-cluster`)).code).toBe(0);
      const url2 = joinUrl((await k1.exec(`${SUDO}microk8s add-node`)).stdout);
      expect((await k2.exec(`${SUDO}microk8s join ${url2}`)).code).toBe(0);
      expect(cluster.state.node('k8s-2').dqliteRole).toBe('voter');
      expect(cluster.state.node('k8s-2').role).toBe('control-plane');
    } finally {
      k1.close();
      k2.close();
      await cluster.stop();
    }
  });
});
