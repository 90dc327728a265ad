import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCalicoManifest } from '../../src/microk8s/calico-manifest.ts';
import { simCalico } from '../../src/sim/calico.ts';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { SUDO, clientFiles, connect, type Conn } from './helpers.ts';

const BUNDLED = '/snap/microk8s/current/upgrade-scripts/000-switch-to-calico/resources/calico.yaml';
const CNI = '/var/snap/microk8s/current/args/cni-network/cni.yaml';

describe('simulated add-ons and Calico', () => {
  let old: SimCluster;
  let k1: Conn;
  let k2: Conn;
  beforeAll(async () => {
    old = await startSimCluster({ nodes: [{ name: 'k8s-1', channel: '1.24/stable' }, { name: 'k8s-2', channel: '1.24/stable' }], latency: { defaultMs: 0, refreshMs: 5, restartMs: 10 } });
    const key = (await clientFiles(old)).privateKey;
    k1 = await connect(old, 'k8s-1', { privateKey: key });
    k2 = await connect(old, 'k8s-2', { privateKey: key });
  });
  afterAll(async () => {
    k1.close();
    k2.close();
    await old.stop();
  });

  it('enable/disable: the wrapper texts and exit codes, hostpath-storage without a terminal', async () => {
    expect(await k1.exec(`${SUDO}microk8s enable dns`)).toEqual({ stdout: 'Addon core/dns is already enabled\n', stderr: 'Infer repository core for addon dns\n', code: 0 });
    expect(await k1.exec(`${SUDO}microk8s enable foo`)).toMatchObject({ stderr: 'Addon foo was not found in any repository\n', code: 1 });
    const on = await k1.exec(`${SUDO}microk8s enable hostpath-storage`);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain('Storage will be available soon.');
    const off = await k1.exec(`${SUDO}microk8s disable hostpath-storage`);
    expect(off).toMatchObject({ code: 1 });
    expect(off.stdout.endsWith('Storage removed.\n')).toBe(true);
    expect(off.stdout).not.toContain('Remove PVC storage');
    expect((await k1.exec(`${SUDO}microk8s status --format yaml`)).stdout).toMatch(/- name: hostpath-storage\n {4}repository: core\n(?: {4}.*\n)* {4}status: disabled\n/);
    expect((await k1.exec(`${SUDO}microk8s disable ha-cluster`)).code).toBe(2);
  });

  it('ships the Calico of each release and runs the DaemonSet of the deployed manifest', async () => {
    expect(parseCalicoManifest((await k1.exec(`${SUDO}cat ${BUNDLED}`)).stdout).version).toBe('v3.21.4');
    expect(parseCalicoManifest((await k1.exec(`${SUDO}cat ${CNI}`)).stdout).version).toBe('v3.21.4');
    const ds = JSON.parse((await k1.exec(`${SUDO}microk8s kubectl get ds calico-node -n kube-system -o json`)).stdout) as { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
    expect(ds.spec.template.spec.containers[0]?.image).toBe('docker.io/calico/node:v3.21.4');
  });

  it('a refresh to 1.25 replaces a 3.21 cni.yaml (backup kept, re-applied) unless no-manage-calico is there', async () => {
    const calico = simCalico(old.state);
    calico.lockNoManage('k8s-2');
    expect((await k1.exec(`${SUDO}snap refresh microk8s --channel 1.25/stable`)).code).toBe(0);
    expect(parseCalicoManifest((await k1.exec(`${SUDO}cat ${CNI}`)).stdout).version).toBe('v3.23.3');
    expect(parseCalicoManifest((await k1.exec(`${SUDO}cat ${CNI}.backup`)).stdout).version).toBe('v3.21.4');
    expect(calico.image()).toBe('docker.io/calico/node:v3.23.3');
    const rolled = await k1.exec(`${SUDO}microk8s kubectl rollout status ds/calico-node -n kube-system --timeout=5s`);
    expect(rolled.stdout.endsWith('daemon set "calico-node" successfully rolled out\n')).toBe(true);
    expect((await k2.exec(`${SUDO}snap refresh microk8s --channel 1.25/stable`)).code).toBe(0);
    expect(parseCalicoManifest((await k2.exec(`${SUDO}cat ${CNI}`)).stdout).version).toBe('v3.21.4');
    expect((await k2.exec(`${SUDO}test -e ${CNI}.backup`)).code).toBe(1);
  });

  it('kubectl apply -f: configured / unchanged, and a rollout that waits for NotReady nodes', async () => {
    const text = (await k1.exec(`${SUDO}cat ${BUNDLED}`)).stdout;
    // k8s-2's refresh just restarted it: with two voters the API answers once it is back
    expect((await k1.exec(`${SUDO}microk8s status --wait-ready --timeout 10`)).code).toBe(0);
    expect((await k1.exec(`${SUDO}microk8s kubectl apply -f ${CNI}`)).stdout).toContain('daemonset.apps/calico-node unchanged');
    old.state.node('k8s-2').ready = false;
    const next = text.replaceAll('v3.23.3', 'v3.23.9');
    old.state.node('k8s-1').fs.files.set('/tmp/next.yaml', { data: Buffer.from(next), owner: 'root', mode: 0o644, mtimeMs: 0 });
    expect((await k1.exec(`${SUDO}microk8s kubectl apply -f /tmp/next.yaml`)).stdout).toContain('daemonset.apps/calico-node configured');
    const stuck = await k1.exec(`${SUDO}microk8s kubectl rollout status ds/calico-node -n kube-system --timeout=200ms`);
    expect(stuck).toMatchObject({ code: 1, stderr: 'error: timed out waiting for the condition\n' });
    expect(stuck.stdout).toContain('Waiting for daemon set "calico-node" rollout to finish: 1 out of 2 new pods have been updated...');
    old.state.node('k8s-2').ready = true;
    expect((await k1.exec(`${SUDO}microk8s kubectl rollout status ds/calico-node -n kube-system --timeout=5s`)).code).toBe(0);
  });
});
