/**
 * `windows-worker add w1` on a simulated Windows Server 2022 node (the containerd install
 * restarts it once, SSH refused for 150 ms) with every command taking up to 20 ms (Linux:
 * 0..20 ms jitter; each PowerShell process 20 ms). Measured from the plan's Approve click to
 * `succeeded` (fake Slack's receipt times):
 *
 *   SSH round trips: exec requests and SFTP uploads the job sent, on w1 and on the control plane.
 *   wall ÷ simulated: the simulated time is the commands' time inside the simulator (they run
 *     one after another) plus the time the node was down rebooting.
 *
 * Prints the figures; asserts nothing.
 */
import { USERS } from '../test/support/harness.ts';
import { callAt, log, ms, ratio, queued, waitParked, withHarness, type Benchmark, type Row } from './lib.ts';

const LATENCY_MS = 20;
const REBOOT_MS = 150;

async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  await withHarness(
    {
      clusters: [
        {
          name: 'prod',
          channel: 'C0PROD00001',
          nodes: [{ name: 'k8s-1', channel: '1.27/stable' }, { name: 'k8s-2', channel: '1.27/stable' }, { name: 'w1', os: 'windows' }],
          extra: { windows: { user: 'Administrator', fetchCalicoctl: true, rebootTimeout: '30s', podTimeout: '2m' } },
        },
      ],
      latency: { defaultMs: LATENCY_MS },
    },
    async (h) => {
      const requestAt = Date.now();
      const res = await queued(h, USERS.alice, 'windows-worker add w1');
      if (!res.jobId) throw new Error(`bench: windows-worker add was not queued: ${res.text}`);
      const jobId = res.jobId;
      const approve = await h.waitButton(jobId, 'Approve', 60_000);
      await waitParked(h, jobId, 60_000);
      const clickAt = Date.now();
      await h.click(USERS.bob, approve);
      await h.waitState(jobId, 'succeeded', 120_000);
      const doneAt = callAt(h, 'chat.update', (text) => text.startsWith(`job ${jobId} `) && text.endsWith(' · succeeded'), clickAt);
      if (doneAt === undefined) throw new Error(`bench: job ${jobId}'s end was not seen on the fake Slack`);
      const recs = h.sim.commandLog.filter((r) => r.startedAt >= clickAt && r.startedAt <= doneAt);
      const onW1 = recs.filter((r) => r.node === 'w1');
      const sum = recs.reduce((a, r) => a + r.durationMs, 0);
      const wall = doneAt - clickAt;
      const simulated = sum + REBOOT_MS;
      const failedProbes = onW1.filter((r) => r.code === null).length;
      const preflight = h.sim.commandLog.filter((r) => r.startedAt >= requestAt && r.startedAt < clickAt).length;
      log(`  preflight (before the approval): ${preflight} SSH round trips`);
      log(`  approval→succeeded ${ms(wall)} wall; ${recs.length} SSH round trips (${onW1.length} on w1 of which ${failedProbes} cut by the reboot, ${recs.length - onW1.length} on the control plane); simulated ${ms(simulated)} (commands ${ms(sum)} + reboot ${ms(REBOOT_MS)}) → ${ratio(wall / simulated)}`);
      rows.push(
        { bench: 'windows', figure: 'windows-worker add: SSH round trips after the approval', value: String(recs.length), note: `+ ${preflight} in the preflight; ${onW1.length} on w1 (PowerShell + 1 SFTP put, reboot probes included), ${recs.length - onW1.length} on the control plane` },
        { bench: 'windows', figure: 'windows-worker add: wall / simulated time', value: ratio(wall / simulated), note: `${ms(wall)} wall vs ${ms(sum)} in commands + ${ms(REBOOT_MS)} rebooting` },
      );
    },
  );
  return rows;
}

export const windowsAdd: Benchmark = { name: 'windows', title: '`windows-worker add w1` across one reboot (commands ≤ 20 ms, reboot 150 ms)', run };
