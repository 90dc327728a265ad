import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice } = USERS;

/** `upgrade-cluster --pin <revision>`: the target channel is pinned on the Snap Store Proxy before the first node. */
describe('upgrade-cluster --pin', () => {
  let h: Harness;
  const commandCount = () => [...h.sims.values()].reduce((n, s) => n + s.commandLog.length, 0);

  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        { name: 'prod', channel: 'C0PROD00001', snapProxy: true, policy: { approvePlan: false } },
        { name: 'stage', channel: 'C0STAGE0001' },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('refuses a bad revision or a cluster without a proxy before any SSH command; --dry-run shows the pin first', async () => {
    const before = commandCount();
    expect((await h.command(alice, 'upgrade-cluster 1.23/stable --pin abc')).text).toMatch(/--pin: 'abc' is not a snap revision/);
    expect((await h.command(alice, 'upgrade-cluster 1.23/stable --pin 2906 --cluster stage')).text).toMatch(/cluster stage has no Snap Store Proxy/);
    const dry = await h.command(alice, 'upgrade-cluster 1.23/stable --pin 2906 --dry-run');
    const pinAt = dry.full.indexOf('sudo snap-proxy override microk8s 1.23/stable=2906');
    expect(pinAt).toBeGreaterThan(0);
    expect(pinAt).toBeLessThan(dry.full.indexOf('back up the datastore'));
    expect(commandCount()).toBe(before);
  });

  it('pins before the first node: nodes that use the proxy land on the pinned revision, the others are named', async () => {
    for (const node of ['k8s-1', 'k8s-2']) {
      const { jobId } = await h.command(alice, `snap-proxy connect ${node}`);
      await h.waitState(jobId!, 'succeeded');
    }
    const from = h.sim.commandLog.length;
    const { jobId } = await h.command(alice, 'upgrade-cluster 1.23/stable --pin 2906 --pause-after none');
    await h.waitState(jobId!, 'succeeded', 60_000);
    expect(h.sim.snapProxy!.proxy.overrides.get('1.23/stable')?.revision).toBe(2906);
    expect(h.sim.state.node('k8s-1').revision).toBe(2906);
    expect(h.sim.state.node('k8s-2').revision).toBe(2906);
    // k8s-3 does not use the proxy: upstream, and the thread said so before the rollout began
    expect(h.sim.state.node('k8s-3').revision).toBe(2948);
    const thread = h.thread(jobId!).map((m) => m.text);
    const pinLine = thread.findIndex((t) => t.startsWith('✅ pin 1.23/stable to revision 2906 on the Snap Store Proxy'));
    expect(thread[pinLine]).toContain('not held by the pin (they do not use the proxy): k8s-3');
    expect(pinLine).toBeLessThan(thread.findIndex((t) => t.includes('back up the datastore')));
    const log = h.sim.commandLog.slice(from);
    const override = log.findIndex((c) => c.argv.join(' ') === 'snap-proxy override microk8s 1.23/stable=2906');
    const firstRefresh = log.findIndex((c) => c.argv[0] === 'snap' && c.argv[1] === 'refresh');
    expect(override).toBeGreaterThanOrEqual(0);
    expect(override).toBeLessThan(firstRefresh);
  });
});
