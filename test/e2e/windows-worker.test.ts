/**
 * windows-worker through Slack against a simulated Windows Server 2022 node (cmd.exe shell,
 * PowerShell over -EncodedCommand): add on 1.27, with the reboot of the containerd install.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestApproved } from '../support/e2e.ts';
import { startHarness, type Harness } from '../support/harness.ts';

describe('windows-worker add (1.27)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        {
          name: 'prod',
          channel: 'C0PROD00001',
          nodes: [{ name: 'k8s-1', channel: '1.27/stable' }, { name: 'w1', os: 'windows' }],
          extra: { windows: { user: 'Administrator', fetchCalicoctl: true, rebootTimeout: '10s', podTimeout: '2m' } },
        },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('joins w1', async () => {
    const id = await requestApproved(h, 'windows-worker add w1', 'succeeded');
    const t = h.thread(id).map((m) => m.text).join('\n');
    console.log(t);
    expect(h.sim.state.nodes.get('w1')?.ready).toBe(true);
  }, 60_000);
});
