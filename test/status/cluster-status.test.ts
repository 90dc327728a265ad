/** The cluster-status read (src/status/cluster-status.ts) that `status` and the watch share. */
import { describe, expect, it } from 'vitest';
import { markLost } from '../../src/store/lost-nodes.ts';
import { addressHost, readClusterStatus } from '../../src/status/cluster-status.ts';
import { keys } from '../../src/queue/keys.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('addressHost', () => {
  it('takes the host out of a dqlite address', () => {
    expect(addressHost('10.0.0.11:19001')).toBe('10.0.0.11');
    expect(addressHost('[fd00::10]:19001')).toBe('fd00::10');
    expect(addressHost('k8s-1')).toBe('k8s-1');
  });
});

describe('readClusterStatus', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2', failureDomain: 2 }, { name: 'k8s-3' }, { name: 'w1', role: 'worker' }] });
  const commandsDuring = async <T>(fn: () => Promise<T>) => {
    const from = rig.sim.commandLog.length;
    const value = await fn();
    return { value, commands: rig.sim.commandLog.slice(from).map((c) => `${c.node}: ${c.argv.join(' ')}`) };
  };

  it('reads HA and kubectl from the first control-plane node, every node\'s snap, the control plane\'s failure domains', async () => {
    const { value: s, commands } = await commandsDuring(() => readClusterStatus(rig.cluster, { redis: rig.redis }));
    expect(s).toMatchObject({ cluster: rig.cluster.name, via: 'k8s-1', problems: [], unmatched: [], driftOnly: false });
    expect(s.status?.running).toBe(true);
    expect(s.rows.map((r) => [r.name, r.role, r.datastore, r.failureDomain, r.facts?.revision, r.kube?.ready])).toEqual([
      ['k8s-1', 'control-plane', 'voter', 1, '2551', true],
      ['k8s-2', 'control-plane', 'voter', 2, '2551', true],
      ['k8s-3', 'control-plane', 'voter', 1, '2551', true],
      ['w1', 'worker', undefined, undefined, '2551', true],
    ]);
    expect(commands.filter((c) => c.endsWith('microk8s status --format yaml'))).toEqual(['k8s-1: microk8s status --format yaml']);
    expect(commands.some((c) => c.startsWith('w1: cat '))).toBe(false);
  });

  it('flags drift from the bot\'s record and marks a lost node', async () => {
    const record = { version: 'v1.21.7', revision: '2694', channel: '1.21/stable', held: false, byJob: '3', verb: 'upgrade', at: Date.now() - 60_000 };
    await rig.redis.hset(keys.nodeRecords(rig.cluster.name), 'k8s-3', JSON.stringify(record));
    await markLost(rig.redis, rig.cluster.name, [{ node: 'w1', address: '10.0.0.14:19001', oldMembers: [], byJob: '9', at: 1 }]);
    const s = await readClusterStatus(rig.cluster, { redis: rig.redis });
    const k3 = s.rows.find((r) => r.name === 'k8s-3')!;
    expect(k3.record).toMatchObject({ byJob: '3' });
    expect(k3.drift).toEqual(['revision 2694 → 2551 (v1.22.3)', 'channel 1.21/stable → 1.22/stable']);
    expect(s.rows.find((r) => r.name === 'w1')?.lost).toMatchObject({ byJob: '9' });
    expect(s.rows.find((r) => r.name === 'k8s-1')?.drift).toEqual([]);
  });

  it('--drift reads only the snaps: no HA state, no kubectl, no ha-conf', async () => {
    const { value: s, commands } = await commandsDuring(() => readClusterStatus(rig.cluster, { redis: rig.redis, driftOnly: true }));
    expect(s.driftOnly).toBe(true);
    expect(s.status).toBeUndefined();
    expect(commands.every((c) => /: snap (list|info)/.test(c))).toBe(true);
    expect(s.rows.find((r) => r.name === 'k8s-3')?.drift).toHaveLength(2);
  });

  it('goes on with the next control-plane node when one is down, and says what it could not read', async () => {
    await rig.sim.setDown('k8s-1', true);
    try {
      const s = await readClusterStatus(rig.cluster, { timeoutMs: 5_000 });
      expect(s.via).toBe('k8s-2');
      expect(s.problems).toEqual([expect.stringMatching(/^k8s-1: /)]);
      const k1 = s.rows.find((r) => r.name === 'k8s-1')!;
      expect(k1.error).toEqual(expect.any(String));
      expect(k1.facts).toBeUndefined();
      expect(k1.kube?.ready).toBe(false);
    } finally {
      await rig.sim.setDown('k8s-1', false);
    }
  });
});
