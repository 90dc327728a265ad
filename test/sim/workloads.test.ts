/**
 * The simulator's verification-workload commands (deployments, NodePort services, curl),
 * PodDisruptionBudgets that make drain time out, a refresh whose configure hook fails and
 * a node that comes back NotReady — all over real SSH, answered with kubectl/snapd/curl text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDisruptionBudget, removeDisruptionBudget } from '../../src/sim/disruption.ts';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { failConfigureHook, setNotReadyAfterRefresh } from '../../src/sim/refresh-faults.ts';
import { SUDO, clientFiles, connect, type Conn } from './helpers.ts';

let cluster: SimCluster;
let k1: Conn;
let k2: Conn;
let w1: Conn;

const K = `${SUDO}microk8s kubectl`;

/** Waits until no node is restarting after a refresh or revert. */
async function settled(): Promise<void> {
  while (cluster.state.nodeList().some((n) => n.restarting)) await new Promise((r) => setTimeout(r, 5));
}

beforeAll(async () => {
  cluster = await startSimCluster({
    nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }, { name: 'w1', role: 'worker' }],
    latency: { defaultMs: 0, drainMs: 5, refreshMs: 5, restartMs: 20 },
  });
  const key = (await clientFiles(cluster)).privateKey;
  k1 = await connect(cluster, 'k8s-1', { privateKey: key });
  k2 = await connect(cluster, 'k8s-2', { privateKey: key });
  w1 = await connect(cluster, 'w1', { privateKey: key });
});
afterAll(async () => {
  for (const c of [k1, k2, w1]) c.close();
  await cluster.stop();
});

interface SvcJson {
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: { type: string; selector: Record<string, string>; ports: Array<{ port: number; nodePort: number; targetPort: number; protocol: string }> };
}
interface PodList {
  items: Array<{ metadata: { name: string; labels: Record<string, string> }; spec: { nodeName?: string }; status: { phase: string } }>;
}

describe('the verification workload: deploy, scale, expose, curl, delete', () => {
  it('creates, scales and exposes a deployment with kubectl\'s messages', async () => {
    const created = await k1.exec(`${K} create deploy --image dontrebootme/microbot:v1 microbot-2`);
    expect(created).toEqual({ stdout: 'deployment.apps/microbot-2 created\n', stderr: '', code: 0 });
    const again = await k1.exec(`${K} create deploy --image dontrebootme/microbot:v1 microbot-2`);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('error: failed to create deployment: deployments.apps "microbot-2" already exists\n');
    expect((await k1.exec(`${K} scale deploy microbot-2 --replicas 5`)).stdout).toBe('deployment.apps/microbot-2 scaled\n');
    expect((await k2.exec(`${K} expose deploy microbot-2 --port 80 --type NodePort`)).stdout).toBe('service/microbot-2 exposed\n');
    const dup = await k1.exec(`${K} expose deploy microbot-2 --port 80 --type NodePort`);
    expect(dup).toMatchObject({ code: 1, stderr: 'Error from server (AlreadyExists): services "microbot-2" already exists\n' });
    const rolled = await k1.exec(`${K} rollout status deploy/microbot-2 --timeout=10s`);
    expect(rolled.code).toBe(0);
    expect(rolled.stdout.trim().split('\n').pop()).toBe('deployment "microbot-2" successfully rolled out');
    const deploy = await k1.exec(`${K} get deploy microbot-2`);
    expect(deploy.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nmicrobot-2\s+5\/5\s+5\s+5\s+\S+\n$/);
    const json = JSON.parse((await k1.exec(`${K} get deploy microbot-2 -o json`)).stdout) as { kind: string; spec: { replicas: number; template: { spec: { containers: Array<{ name: string; image: string }> } } } };
    expect(json.kind).toBe('Deployment');
    expect(json.spec.replicas).toBe(5);
    expect(json.spec.template.spec.containers[0]).toMatchObject({ name: 'microbot', image: 'dontrebootme/microbot:v1' });
  });

  it('lists the pods by label and the service as JSON, with a NodePort in range', async () => {
    const pods = JSON.parse((await k1.exec(`${K} get pods -l app=microbot-2 -o json`)).stdout) as PodList;
    expect(pods.items).toHaveLength(5);
    for (const p of pods.items) {
      expect(p.status.phase).toBe('Running');
      expect(p.metadata.name).toMatch(/^microbot-2-[a-z0-9]{10}-[a-z0-9]{5}$/);
      expect(p.metadata.labels.app).toBe('microbot-2');
    }
    // spread over the nodes by the scheduler
    expect(new Set(pods.items.map((p) => p.spec.nodeName)).size).toBeGreaterThan(1);
    const wide = await k1.exec(`${K} get pods -l app=microbot-2 -o wide`);
    expect(wide.stdout.split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    const svc = JSON.parse((await k1.exec(`${K} get svc microbot-2 -o json`)).stdout) as SvcJson;
    expect(svc.kind).toBe('Service');
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.selector).toEqual({ app: 'microbot-2' });
    const port = svc.spec.ports[0]!;
    expect(port).toMatchObject({ port: 80, targetPort: 80, protocol: 'TCP' });
    expect(port.nodePort).toBeGreaterThanOrEqual(30000);
    expect(port.nodePort).toBeLessThanOrEqual(32767);
    const table = await k1.exec(`${K} get svc microbot-2`);
    expect(table.stdout).toMatch(new RegExp(`^NAME\\s+TYPE\\s+CLUSTER-IP\\s+EXTERNAL-IP\\s+PORT\\(S\\)\\s+AGE\\nmicrobot-2\\s+NodePort\\s+10\\.152\\.183\\.\\d+\\s+<none>\\s+80:${port.nodePort}/TCP\\s+\\S+\\n$`));
    const missing = await k1.exec(`${K} get svc nope -o json`);
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'Error from server (NotFound): services "nope" not found\n' });
  });

  it('answers curl on every node\'s NodePort from the pods in turn, naming the pod', async () => {
    const svc = JSON.parse((await k1.exec(`${K} get svc microbot-2 -o json`)).stdout) as SvcJson;
    const port = svc.spec.ports[0]!.nodePort;
    const pods = (JSON.parse((await k1.exec(`${K} get pods -l app=microbot-2 -o json`)).stdout) as PodList).items.map((p) => p.metadata.name);
    const seen: string[] = [];
    for (const [conn, host] of [[k1, '127.0.0.1'], [k2, '10.0.0.11'], [w1, 'k8s-3'], [w1, '10.0.0.14'], [k2, 'localhost']] as const) {
      const r = await conn.exec(`curl --silent --max-time 5 http://${host}:${port}/`);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('<p class="centered"><img src="microbot.png" alt="microbot"/></p>');
      const name = /<p class="centered">Container hostname: (\S+)<\/p>/.exec(r.stdout)?.[1];
      expect(pods).toContain(name);
      seen.push(name!);
    }
    expect(new Set(seen).size).toBe(5); // round-robin over 5 pods
    // nothing listens on other ports; an unknown host does not resolve
    expect(await k1.exec(`curl --silent --max-time 5 http://127.0.0.1:${port === 30000 ? 30001 : 30000}/`)).toEqual({ stdout: '', stderr: '', code: 7 });
    expect(await k1.exec(`curl -sS http://nowhere.invalid:${port}/`)).toMatchObject({ code: 6, stderr: 'curl: (6) Could not resolve host: nowhere.invalid\n' });
  });

  it('deletes the deployment (and its pods) and the service', async () => {
    expect((await k1.exec(`${K} delete deploy microbot-2`)).stdout).toBe('deployment.apps "microbot-2" deleted\n');
    expect((await k1.exec(`${K} delete svc microbot-2`)).stdout).toBe('service "microbot-2" deleted\n');
    expect(cluster.state.pods.filter((p) => p.labels.app === 'microbot-2')).toEqual([]);
    const gone = await k1.exec(`${K} delete deploy microbot-2`);
    expect(gone).toMatchObject({ code: 1, stderr: 'Error from server (NotFound): deployments.apps "microbot-2" not found\n' });
    expect(await k1.exec(`${K} delete svc microbot-2 --ignore-not-found`)).toEqual({ stdout: '', stderr: '', code: 0 });
    expect((await k1.exec(`${K} get pods -l app=microbot-2`)).stderr).toBe('No resources found in default namespace.\n');
  });

  it('times out a rollout that cannot finish', async () => {
    for (const n of cluster.state.nodeList()) n.cordoned = true;
    try {
      await k1.exec(`${K} create deploy --image nginx stuck`);
      const r = await k1.exec(`${K} rollout status deploy/stuck --timeout=50ms`);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('Waiting for deployment "stuck" rollout to finish: 0 of 1 updated replicas are available...\n');
      expect(r.stderr).toBe('error: timed out waiting for the condition\n');
    } finally {
      for (const n of cluster.state.nodeList()) n.cordoned = false;
      await k1.exec(`${K} delete deploy stuck`);
    }
  });
});

describe('a PodDisruptionBudget makes drain retry, then time out', () => {
  it('prints the refused evictions and the global timeout; the rest of the pods are evicted', async () => {
    const pod = cluster.state.addPod({ name: 'web-0', app: 'web', owner: { kind: 'StatefulSet', name: 'web' }, nodeName: 'k8s-3' });
    addDisruptionBudget(cluster.state, { namespace: 'default', name: 'web', matchLabels: { app: 'web' }, retryMs: 100 });
    try {
      const before = cluster.state.podsOn('k8s-3').filter((p) => p.owner?.kind === 'ReplicaSet').length;
      expect(before).toBeGreaterThan(0);
      const r = await k1.exec(`${K} drain k8s-3 --ignore-daemonsets --delete-emptydir-data --timeout=1s`);
      expect(r.code).toBe(1);
      const err = r.stderr.split('\n');
      expect(err).toContain('error when evicting pods/"web-0" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.');
      expect(err).toContain('There are pending pods in node "k8s-3" when an error occurred: error when evicting pods/"web-0" -n "default": global timeout reached: 1s');
      expect(err).toContain('error: unable to drain node "k8s-3" due to error:error when evicting pods/"web-0" -n "default": global timeout reached: 1s, continuing command...');
      expect(r.stdout).toContain('evicting pod default/web-0\n');
      expect(r.stdout).not.toContain('pod/web-0 evicted');
      expect(r.stdout).not.toContain('drained');
      // the budget kept web-0; everything else left
      expect(cluster.state.podsOn('k8s-3').filter((p) => !p.owner?.kind.startsWith('Daemon')).map((p) => p.name)).toEqual(['web-0']);
      expect(cluster.state.node('k8s-3').cordoned).toBe(true);

      // lifting the budget while drain retries lets it finish
      setTimeout(() => removeDisruptionBudget(cluster.state, 'web'), 50);
      const again = await k1.exec(`${K} drain k8s-3 --ignore-daemonsets --timeout=5s`);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('pod/web-0 evicted\n');
      expect(again.stdout.endsWith('node/k8s-3 drained\n')).toBe(true);
      expect(cluster.state.pods.includes(pod)).toBe(false);
    } finally {
      removeDisruptionBudget(cluster.state, 'web');
      await k1.exec(`${K} uncordon k8s-3`);
    }
  });
});

describe('refresh faults', () => {
  it('a failing configure hook leaves the node on its old revision, with snapd\'s error', async () => {
    const node = cluster.state.node('k8s-2');
    failConfigureHook(node, { times: 1, output: 'cannot start kubelite' });
    const r = await k2.exec(`${SUDO}snap refresh microk8s --channel=1.23/stable`);
    expect(r).toEqual({
      stdout: '',
      stderr: 'error: cannot perform the following tasks:\n- Run configure hook of "microk8s" snap if present (run hook "configure": cannot start kubelite)\n',
      code: 1,
    });
    expect(node.version).toBe('v1.22.3');
    expect(node.tracking).toBe('1.22/stable');
    const list = await k2.exec('snap list microk8s');
    expect(list.stdout).toMatch(/microk8s\s+v1\.22\.3\s+2551\s+1\.22\/stable/);
    // the fault was used up: the next refresh goes through
    const ok = await k2.exec(`${SUDO}snap refresh microk8s --channel=1.23/stable`);
    expect(ok).toMatchObject({ code: 0, stdout: 'microk8s (1.23/stable) v1.23.3 from Canonical** refreshed\n' });
    expect(node.version).toBe('v1.23.3');
  });

  it('a node that comes back NotReady after a refresh stays NotReady until reverted', async () => {
    const node = cluster.state.node('k8s-3');
    setNotReadyAfterRefresh(node, true);
    try {
      const r = await connect(cluster, 'k8s-3', { privateKey: (await clientFiles(cluster)).privateKey });
      try {
        await settled();
        expect((await r.exec(`${SUDO}snap refresh microk8s --channel=1.23/stable`)).code).toBe(0);
        const wait = await k2.exec(`${K} wait --for=condition=Ready node/k8s-3 --timeout=200ms`);
        expect(wait).toMatchObject({ code: 1, stderr: 'error: timed out waiting for the condition on nodes/k8s-3\n' });
        expect((await k2.exec(`${K} get nodes k8s-3`)).stdout).toMatch(/k8s-3\s+NotReady\s/);
        expect((await r.exec(`${SUDO}snap revert microk8s`)).stdout).toBe('microk8s reverted to v1.22.3\n');
        const back = await k2.exec(`${K} wait --for=condition=Ready node/k8s-3 --timeout=5s`);
        expect(back).toMatchObject({ code: 0, stdout: 'node/k8s-3 condition met\n' });
      } finally {
        r.close();
      }
    } finally {
      setNotReadyAfterRefresh(node, false);
    }
  });
});
