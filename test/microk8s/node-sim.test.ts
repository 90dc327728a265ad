/**
 * MicroK8sNode against the simulated cluster (src/sim) over real SSH: the typed operations of
 * the single-node upgrade and its rollback, in the order a runbook uses them.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeMinor } from '../../src/microk8s/channels.ts';
import { MicroK8sNode, sha256OfFile } from '../../src/microk8s/node.ts';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { CommandFailedError, HostKeyError } from '../../src/ssh/errors.ts';
import { SshPool } from '../../src/ssh/pool.ts';
import type { CommandEvent, SshTarget } from '../../src/ssh/types.ts';
import { rejectionOf } from '../support/catch-error.ts';

let sim: SimCluster;
let pool: SshPool;
let files: { privateKeyPath: string; knownHostsPath: string };
const events: CommandEvent[] = [];

function target(name: string, over: Partial<SshTarget> = {}): SshTarget {
  const info = sim.nodes.find((n) => n.name === name);
  if (!info) throw new Error(`no simulated node ${name}`);
  return {
    node: name,
    host: info.host,
    port: info.port,
    user: sim.user,
    privateKeyPath: files.privateKeyPath,
    knownHostsPath: files.knownHostsPath,
    sudo: true,
    connectTimeoutMs: 5_000,
    commandTimeoutMs: 20_000,
    ...over,
  };
}
const node = (name: string) => new MicroK8sNode(pool.shell(target(name)));

beforeAll(async () => {
  sim = await startSimCluster();
  files = await sim.writeClientFiles(mkdtempSync(join(tmpdir(), 'mk8s-sim-client-')));
  pool = new SshPool({ onCommand: (e) => events.push(e) });
});
afterAll(async () => {
  pool.closeAll();
  await sim.stop();
});

describe('MicroK8sNode on the simulator', () => {
  it('reads snap list and snap info on every node', async () => {
    for (const name of ['k8s-1', 'k8s-2', 'k8s-3']) {
      const snap = await node(name).snap();
      expect(snap.version).toBe('v1.22.3');
      expect(snap.tracking).toBe('1.22/stable');
      expect(snap.revision).toMatch(/^\d+$/);
    }
    const info = await node('k8s-1').snapInfo();
    expect(info.tracking).toBe('1.22/stable');
    expect(info.installed?.version).toBe('v1.22.3');
  });

  it('reads status: running, HA, three voters', async () => {
    const status = await node('k8s-1').status();
    expect(status.running).toBe(true);
    expect(status.highAvailability).toBe(true);
    expect(status.members.filter((m) => m.role === 'voter')).toHaveLength(3);
    const waited = await node('k8s-2').status({ waitReadySeconds: 10 });
    expect(waited.running).toBe(true);
  });

  it('reads nodes and pods', async () => {
    const nodes = await node('k8s-2').nodes();
    expect(nodes.map((n) => n.name).toSorted()).toEqual(['k8s-1', 'k8s-2', 'k8s-3']);
    expect(nodes.every((n) => n.ready && n.role === 'control-plane' && kubeMinor(n.kubeletVersion).minor === 22)).toBe(true);
    const pods = await node('k8s-2').pods({ node: 'k8s-1' });
    expect(pods.length).toBeGreaterThan(0);
    expect(pods.every((p) => p.node === 'k8s-1')).toBe(true);
  });

  it('reads the clock of each node, skew included', async () => {
    sim.setClockSkew('k8s-3', 120);
    const [a, b] = await Promise.all([node('k8s-1').epochSeconds(), node('k8s-3').epochSeconds()]);
    expect(b - a).toBeGreaterThanOrEqual(118);
    expect(b - a).toBeLessThanOrEqual(122);
    sim.setClockSkew('k8s-3', 0);
  });

  it('backs up the datastore, private on the node; the downloaded copy has the same sha256', async () => {
    const k1 = node('k8s-1');
    const backup = await k1.backupDatastore(sim.user);
    // 0600, owned by the SSH user (who fetches it): no other user of the node can read it.
    const onNode = sim.state.node('k8s-1').fs.stat(backup.remotePath, true);
    expect(typeof onNode === 'string' ? onNode : [onNode.owner, onNode.mode.toString(8)]).toEqual([sim.user, '600']);
    expect(backup.remotePath).toMatch(/^\/var\/snap\/microk8s\/common\/mk8s-backup-\d{8}T\d{6}Z\.tar\.gz$/);
    expect(backup.sha256).toMatch(/^[0-9a-f]{64}$/);
    const local = join(mkdtempSync(join(tmpdir(), 'mk8s-backup-')), 'backup.tar.gz');
    const copy = await k1.fetchChecked(backup.remotePath, local, backup);
    expect(copy).toEqual({ ok: true, sha256: backup.sha256, bytes: backup.bytes });
    expect(await sha256OfFile(local)).toBe(backup.sha256);
    expect(readFileSync(local).length).toBe(backup.bytes);
    await k1.removeFile(backup.remotePath);
    expect(sim.state.node('k8s-1').fs.stat(backup.remotePath, true)).toBe('ENOENT');
  });

  it('holds and unholds refreshes', async () => {
    const k3 = node('k8s-3');
    expect(await k3.hold()).toMatchObject({ held: true, until: 'forever' });
    expect((await k3.snap()).notes).toContain('held');
    expect(await k3.unhold()).toEqual({ held: false });
    expect((await k3.snap()).notes).not.toContain('held');
  });

  it('runs the upgrade path: drain, refresh, wait Ready on the new minor, uncordon', async () => {
    const k1 = node('k8s-1');
    const controller = node('k8s-2');
    const drained = await controller.drain('k8s-1', 60);
    expect(drained.evicted.length).toBeGreaterThan(0);
    const left = (await controller.pods({ node: 'k8s-1' })).filter((p) => !p.daemonSet && !p.mirror);
    expect(left).toEqual([]);
    expect((await controller.node('k8s-1'))?.unschedulable).toBe(true);
    // draining again is harmless
    expect((await controller.drain('k8s-1', 60)).evicted).toEqual([]);

    const refreshed = await k1.refresh('1.23/stable');
    expect(refreshed.changed).toBe(true);
    expect(refreshed.version).toMatch(/^v1\.23\./);
    expect(await k1.snap()).toMatchObject({ tracking: '1.23/stable' });
    expect((await k1.refresh('1.23/stable')).changed).toBe(false);

    await k1.status({ waitReadySeconds: 30 });
    const ready = await controller.waitNodeReady('k8s-1', 30);
    expect(ready.ready).toBe(true);

    expect(await controller.uncordon('k8s-1')).toEqual({ changed: true });
    expect(await controller.uncordon('k8s-1')).toEqual({ changed: false });
  });

  it('rolls back with snap revert to the previous version', async () => {
    const k1 = node('k8s-1');
    const controller = node('k8s-2');
    await controller.drain('k8s-1', 60);
    expect(await k1.revert()).toEqual({ version: 'v1.22.3' });
    expect((await k1.snap()).version).toBe('v1.22.3');
    await k1.status({ waitReadySeconds: 30 });
    await controller.waitNodeReady('k8s-1', 30);
    await controller.uncordon('k8s-1');
  });

  it('reports an injected refresh failure with its exit code and stderr', async () => {
    sim.inject({ node: 'k8s-3', match: 'snap refresh microk8s', kind: 'fail', exitCode: 1, stderr: 'error: unable to contact snap store\n', times: 1 });
    const err = await rejectionOf(node('k8s-3').refresh('1.23/stable'), CommandFailedError);
    expect(err.code).toBe(1);
    expect(err.node).toBe('k8s-3');
    expect(err.stderrTail).toContain('unable to contact snap store');
  });

  it('used one SSH connection per node and reported every command', () => {
    expect(pool.size).toBe(3);
    expect(events.length).toBeGreaterThan(20);
    expect(events.filter((e) => e.code !== 0).map((e) => e.command)).toEqual(['sudo -n -- snap refresh microk8s --channel 1.23/stable']);
  });

  it('refuses a node whose host key changed', async () => {
    sim.rotateHostKey('k8s-3');
    const fresh = new SshPool();
    try {
      const err = await rejectionOf(new MicroK8sNode(fresh.shell(target('k8s-3'))).snap(), HostKeyError);
      expect(err.problem).toBe('changed');
    } finally {
      fresh.closeAll();
    }
  });
});
