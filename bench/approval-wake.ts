/**
 * Approval click → job running again. For each of N upgrades (one at a time,
 * over several simulated clusters): wait until the job is parked at its gate
 * (BullMQ `delayed`), send the signed Approve click, and time
 *   - the click's HTTP ack,
 *   - click → the first step after the gate posted (its line in the thread, `⏳ …`
 *     or — a short step, whose line waits for its end — already `✅ …`, as the fake
 *     Slack received it),
 *   - click → the first SSH command after the gate reaching the simulator.
 * Timestamps are Date.now() on both sides (1 ms resolution), all in one process.
 */
import type { Harness } from '../test/support/harness.ts';
import { USERS } from '../test/support/harness.ts';
import { callAt, log, ms, spread, stats, until, waitParked, withHarness, type Benchmark, type Row, queued } from './lib.ts';

const CLUSTERS = [
  { name: 'a', channel: 'C0WAKE0000A' },
  { name: 'b', channel: 'C0WAKE0000B' },
  { name: 'c', channel: 'C0WAKE0000C' },
  { name: 'd', channel: 'C0WAKE0000D' },
];
/** What each cluster upgrades, in order: every node to 1.23, then two of them on to 1.24. */
const SEQUENCE = [
  ['k8s-1', '1.23/stable'],
  ['k8s-2', '1.23/stable'],
  ['k8s-3', '1.23/stable'],
  ['k8s-1', '1.24/stable'],
  ['k8s-2', '1.24/stable'],
] as const;
const JOBS = CLUSTERS.length * SEQUENCE.length; // 20

interface Wake {
  jobId: string;
  clickAck: number;
  toStep: number;
  toCommand: number;
}

async function one(h: Harness, cluster: (typeof CLUSTERS)[number], node: string, channel: string): Promise<Wake> {
  const res = await queued(h, USERS.alice, `upgrade ${node} ${channel}`, cluster.channel);
  const jobId = res.jobId;
  if (!jobId) throw new Error(`bench: upgrade ${node} ${channel} on ${cluster.name} was not queued: ${res.text}`);
  const button = await h.waitButton(jobId, 'Approve');
  await waitParked(h, jobId);
  const parentTs = h.parent(jobId)?.ts;
  const sim = h.sims.get(cluster.name);
  if (!parentTs || !sim) throw new Error(`bench: job ${jobId} has no parent message`);

  const clickAt = Date.now();
  const c0 = performance.now();
  await h.click(USERS.bob, button, button.messageTs, cluster.channel);
  const clickAck = performance.now() - c0;

  const stepAt = await until(`job ${jobId}'s first step after the gate`, () =>
    callAt(h, 'chat.postMessage', (text, args) => args.thread_ts === parentTs && /^(⏳|✅) /.test(text), clickAt),
  );
  await h.waitState(jobId, 'succeeded', 30_000);
  // The log is appended as commands finish; the first to start is the earliest startedAt.
  const commandAt = Math.min(...sim.commandLog.filter((r) => r.startedAt >= clickAt).map((r) => r.startedAt));
  return { jobId, clickAck, toStep: stepAt - clickAt, toCommand: commandAt - clickAt };
}

async function run(): Promise<Row[]> {
  return withHarness({ clusters: CLUSTERS }, async (h) => {
    const wakes: Wake[] = [];
    for (let round = 0; round < SEQUENCE.length; round++) {
      const [node, channel] = SEQUENCE[round] as readonly [string, string];
      for (const cluster of CLUSTERS) wakes.push(await one(h, cluster, node, channel));
    }
    const ack = stats(wakes.map((w) => w.clickAck));
    const step = stats(wakes.map((w) => w.toStep));
    const cmd = stats(wakes.map((w) => w.toCommand));
    log(`  ${JOBS} upgrades one at a time over ${CLUSTERS.length} clusters (${SEQUENCE.map(([n, c]) => `${n}→${c.split('/')[0]}`).join(', ')}), each approved by a second user once parked`);
    log(`  click ack (HTTP)              ${spread(ack)}`);
    log(`  click → next step's line posted${spread(step)}`);
    log(`  click → next SSH command      ${spread(cmd)}`);
    log(`  first job ${ms(wakes[0]?.toStep ?? Number.NaN)} (cold), samples: ${wakes.map((w) => w.toStep).join(' ')}`);
    return [
      { bench: 'approval', figure: 'approve click → next step\'s line posted p50', value: ms(step.p50), n: step.n },
      { bench: 'approval', figure: 'approve click → next step\'s line posted p99', value: ms(step.p99), n: step.n, note: `max ${ms(step.max)}` },
      { bench: 'approval', figure: 'approve click → next SSH command p50', value: ms(cmd.p50), n: cmd.n },
      { bench: 'approval', figure: 'approve click → next SSH command p99', value: ms(cmd.p99), n: cmd.n },
      { bench: 'approval', figure: 'approve click HTTP ack p50 / p99', value: `${ms(ack.p50)} / ${ms(ack.p99)}`, n: ack.n },
    ];
  });
}

export const approvalWake: Benchmark = { name: 'approval', title: `Approval click → job running again, ${JOBS} jobs`, run };
