/**
 * A Windows worker after a cluster upgrade: added on 1.26 (only --logtostderr removed),
 * upgrade-cluster to 1.27 leaves it out and offers `windows-worker upgrade w1`, status flags its
 * kubelet as behind, and the offered upgrade reinstalls it at 1.27 (both flags removed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveGate, requestApproved } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

describe('windows-worker upgrade after upgrade-cluster 1.26 → 1.27', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        {
          name: 'prod',
          channel: 'C0PROD00001',
          nodes: [{ name: 'k8s-1', channel: '1.26/stable' }, { name: 'k8s-2', channel: '1.26/stable' }, { name: 'k8s-3', channel: '1.26/stable' }, { name: 'w1', os: 'windows' }],
          extra: { windows: { user: 'Administrator', fetchCalicoctl: true, rebootTimeout: '10s', podTimeout: '2m' } },
        },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const thread = (id: string) => h.thread(id).map((m) => m.text).join('\n');
  const ps1 = () => h.sim.state.node('w1').windows!.fs.text('c:\\CalicoWindows\\kubernetes\\kubelet-service.ps1')!;
  async function status(): Promise<string> {
    const before = h.slack.responses.length;
    await h.command(USERS.alice, 'status');
    const raw = await h.slack.waitFor(() => h.slack.responses.slice(before).find((r) => typeof r.body.text === 'string' && r.body.text.startsWith('status of ')));
    return JSON.stringify(raw.body);
  }

  it('adds w1 on 1.26: --logtostderr=true removed, --container-runtime=remote kept', async () => {
    const id = await requestApproved(h, 'windows-worker add w1');
    expect(thread(id)).toMatch(/set InterfaceName and the kubelet flags for 1\.26\.1 — InterfaceName "vEthernet \(Ethernet\)"; removed --logtostderr=true ·/);
    expect(ps1()).not.toContain('"--logtostderr=true"');
    expect(ps1()).toContain('"--container-runtime=remote"');
  }, 60_000);

  let rollout = '';
  it('upgrade-cluster upgrades the Linux nodes, lists w1 as not upgraded and offers windows-worker upgrade w1', async () => {
    rollout = await requestApproved(h, 'upgrade-cluster 1.27/stable --pause-after none');
    const t = thread(rollout);
    expect(t).toContain('not upgraded (Windows workers): w1');
    expect(t).toContain('Not upgraded (Windows workers run no snap): w1 (kubelet v1.26.1, Ready). The control plane now runs v1.27.5');
    expect(h.gateButton(rollout, 'Upgrade w1')).toBeDefined();
    expect(h.sim.state.node('w1').kubeletVersion).toBe('v1.26.1');
  }, 120_000);

  it('status flags w1 as behind the control plane', async () => {
    expect(await status()).toContain('w1: Windows Server 2022 Datacenter Evaluation, OS build 20348.587, kubelet v1.26.1, Ready — ⚠️ kubelet behind the control plane (v1.27.5): `windows-worker upgrade w1`');
  });

  it('the offered upgrade uninstalls and reinstalls w1 at 1.27 (both flags removed), verified with the test pod', async () => {
    // a copy of the button clicked elsewhere, and a forged value: answered, nothing queued
    const button = h.gateButton(rollout, 'Upgrade w1');
    const early = h.ephemeralsFor(USERS.alice).length;
    expect(await h.click(USERS.alice, button, undefined, 'C0ELSEWHERE')).toBe(200);
    expect(await h.click(USERS.alice, { ...button, value: `${rollout}/k8s-1` })).toBe(200);
    const refusals = await h.slack.waitFor(() => {
      const got = h.ephemeralsFor(USERS.alice).slice(early);
      return got.length >= 2 ? got : undefined;
    });
    expect(refusals.join('\n')).toContain(`That click did not come from job ${rollout}'s thread; nothing changed.`);
    expect(refusals.join('\n')).toContain('k8s-1 is a Linux node in the inventory');
    expect(refusals.join('\n')).not.toContain('Queued as job');

    const before = h.ephemeralsFor(USERS.alice).length;
    expect(await h.click(USERS.alice, button)).toBe(200);
    const ack = await h.slack.waitFor(() => h.ephemeralsFor(USERS.alice).slice(before).find((t) => t.startsWith('Queued as job')));
    const id = /job (\d+)/.exec(ack)![1]!;
    await h.waitState(id, 'awaiting approval');
    expect((await h.waitButton(id, 'Approve')).confirm).toBeDefined();
    await approveGate(h, id);
    const t = thread(id);
    expect(t).toMatch(/✅ preflight: w1 and the cluster's versions — w1 runs kubelet 1\.26\.1; install Kubernetes 1\.27\.5, Calico 3\.23\.5/);
    expect(t).toMatch(/✅ uninstall the node components on w1/);
    expect(t).toMatch(/removed --logtostderr=true, --container-runtime=remote/);
    expect(t).toMatch(/✅ verify: a nanoserver pod on w1 reaches the kubernetes service/);
    expect(h.sim.state.node('w1').kubeletVersion).toBe('v1.27.5');
    expect(h.sim.state.nodes.get('w1')?.ready).toBe(true);
    expect(ps1()).not.toContain('"--container-runtime=remote"');
    expect(await status()).not.toContain('behind the control plane');
  }, 60_000);

  it('a second upgrade has nothing to do', async () => {
    const { jobId } = await h.command(USERS.alice, 'windows-worker upgrade w1');
    await h.waitState(jobId!, 'succeeded', 30_000);
    expect(thread(jobId!)).toContain('w1 already runs kubelet 1.27.5, the version asked for; nothing to do.');
  });

  it('refuses --to newer than the control plane before changing anything', async () => {
    const { jobId } = await h.command(USERS.alice, 'windows-worker upgrade w1 --to 1.28.3');
    await h.waitState(jobId!, 'failed', 30_000);
    expect(thread(jobId!)).toContain('--to 1.28.3 is newer than the control plane (1.27.5)');
    expect(h.sim.state.node('w1').windows!.running('kubelet')).toBe(true);
  });
});
