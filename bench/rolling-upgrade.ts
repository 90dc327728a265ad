/**
 * The rolling cluster upgrade (`upgrade-cluster 1.23/stable`) on 3 and 20 simulated nodes,
 * with the simulator's latencies set to realistic values scaled ×0.1 (drain 2 s → 200 ms,
 * refresh 5 s → 500 ms, NotReady while the services restart 3 s → 300 ms; no per-command
 * jitter). Measured from the plan's Approve click to the job's end (BullMQ finishedOn), the
 * verification workload included; with the fake Slack like real Slack and instant:
 *
 *   wall ÷ critical path: the critical path is the time during which at least one simulated
 *     command was running (the union of the commands' [start, start + duration] intervals),
 *     so commands a batch runs side by side count once. With --batch 1 it equals their sum.
 *   Ready → noticed: from the moment a node turns Ready again after its refresh (the
 *     simulator's restart deadline, a state timestamp) to the end of the runbook's
 *     `wait for … to be Ready` step (the job's checkpoint) — how long the bot takes to see it.
 *
 * The simulated nodes run in a process of their own (as real nodes never share the bot's event
 * loop); their command log and restart deadlines are read from it after the job.
 *
 * Prints the figures; asserts nothing.
 */
import type { SimLatency, SimNodeSpec } from '../src/sim/index.ts';
import { createRedis } from '../src/queue/connection.ts';
import type { Harness } from '../test/support/harness.ts';
import { USERS } from '../test/support/harness.ts';
import { sshRoundTrip } from './ssh-round-trip.ts';
import { callAt, jobEnd, log, ms, num, ratio, spread, stats, waitParked, withHarness, SLACK_MODES, type Benchmark, type Figures, type Row, type SlackMode, queued, unionLength } from './lib.ts';

const SCALE = 0.1;
const LATENCY: Partial<SimLatency> = { drainMs: 2000 * SCALE, refreshMs: 5000 * SCALE, restartMs: 3000 * SCALE, defaultMs: 0 };
const CHANNEL = '1.23/stable';
const CLUSTER = 'prod';

function nodes(count: number): SimNodeSpec[] {
  const out: SimNodeSpec[] = [];
  for (let i = 1; i <= Math.min(3, count); i++) out.push({ name: `k8s-${i}`, failureDomain: i });
  // workers spread over four failure domains
  for (let i = 1; i <= count - 3; i++) out.push({ name: `w${i}`, role: 'worker', failureDomain: 1 + (i % 4) });
  return out;
}

interface Scenario {
  nodes: number;
  batch: number;
}

const SCENARIOS: Scenario[] = [
  { nodes: 3, batch: 1 },
  { nodes: 20, batch: 1 },
  { nodes: 20, batch: 4 },
];

interface RunResult {
  wall: number;
  criticalPath: number;
  sum: number;
  commands: number;
  /** Per wait step: its end minus the latest Ready time of its nodes. */
  notice: number[];
  /** Job end → the fake Slack received its `succeeded`. */
  slackLag: number;
  /** SSH handshakes the nodes accepted from the request to the end (precheck and job, one process), per node. */
  connectionsPerNode: number;
  /** Bytes Redis received from every client between the approval and the end (checkpoints, audit, BullMQ). */
  redisBytesIn: number;
}

/** Redis's count of the bytes it has received (INFO stats). */
async function redisBytesIn(h: Harness): Promise<number> {
  const r = createRedis(h.redis.url);
  try {
    return Number(/total_net_input_bytes:(\d+)/.exec(await r.info('stats'))?.[1] ?? Number.NaN);
  } finally {
    r.disconnect();
  }
}

async function rollout(h: Harness, batch: number): Promise<RunResult> {
  const sims = h.simProcess;
  if (!sims) throw new Error('bench: the rolling benchmark runs its nodes in their own process');
  const handshakes = (side: { connections: Map<string, number> }) => [...side.connections.values()].reduce((a, b) => a + b, 0);
  const opened = handshakes(await sims.nodesSide(CLUSTER));
  const res = await queued(h, USERS.alice, `upgrade-cluster ${CHANNEL} --batch ${batch} --pause-after none`);
  const jobId = res.jobId;
  if (!jobId) throw new Error(`bench: upgrade-cluster was not queued: ${res.text}`);
  const approve = await h.waitButton(jobId, 'Approve', 60_000);
  await waitParked(h, jobId, 60_000);
  const bytesBefore = await redisBytesIn(h);
  const clickAt = Date.now();
  await h.click(USERS.bob, approve);
  await h.waitState(jobId, 'succeeded', 600_000);
  const doneAt = callAt(h, 'chat.update', (text) => text.startsWith(`job ${jobId} `) && text.endsWith(' · succeeded'), clickAt);
  const job = await h.app.queue.get(jobId);
  const endAt = await jobEnd(h, jobId);
  if (!job || doneAt === undefined) throw new Error(`bench: job ${jobId}'s end was not seen`);
  const side = await sims.nodesSide(CLUSTER);
  const recs = side.commands.filter((r) => r.startedAt >= clickAt && r.startedAt <= endAt);
  const intervals = recs.map((r): [number, number] => [r.startedAt, r.startedAt + r.durationMs]);

  const notice: number[] = [];
  for (const step of Object.values(job.data.steps)) {
    const m = /^wait for (.+) to be Ready on /.exec(step.title);
    if (!m?.[1] || step.endedAt === undefined) continue;
    const readyAt = Math.max(...m[1].split(', ').map((n) => side.restartingUntil[n] ?? Number.NaN));
    notice.push(step.endedAt - readyAt);
  }
  const redisBytes = (await redisBytesIn(h)) - bytesBefore;
  return { redisBytesIn: redisBytes, connectionsPerNode: (handshakes(side) - opened) / side.connections.size, slackLag: doneAt - endAt, wall: endAt - clickAt, criticalPath: unionLength(intervals), sum: intervals.reduce((a, [s, e]) => a + (e - s), 0), commands: recs.length, notice };
}

async function run(fig: Figures): Promise<Row[]> {
  const rows: Row[] = [];
  log(`  latencies ×${SCALE}: drain ${LATENCY.drainMs} ms, refresh ${LATENCY.refreshMs} ms, NotReady after restart ${LATENCY.restartMs} ms, no per-command jitter`);
  for (const mode of SLACK_MODES) rows.push(...(await runMode(fig, mode)));
  return rows;
}

async function runMode(fig: Figures, mode: SlackMode): Promise<Row[]> {
  const rows: Row[] = [];
  log(`  -- ${mode.name}`);
  for (const sc of SCENARIOS) {
    await withHarness({ clusters: [{ name: CLUSTER, channel: 'C0PROD00001', nodes: nodes(sc.nodes), policy: { readyTimeout: '60s', drainTimeout: '60s' } }], latency: LATENCY, slack: mode.realism, simProcess: true }, async (h) => {
      const r = await rollout(h, sc.batch);
      const n = stats(r.notice);
      const label = `${sc.nodes} nodes, --batch ${sc.batch}`;
      // One node after the other, every command of the rollout pays the round trip (a batch runs side by side: no floor).
      let floorRow: Row[] = [];
      if (sc.batch === 1) {
        const trip = stats((await sshRoundTrip(h, CLUSTER)).rtt).p50;
        const floor = (r.criticalPath + r.commands * trip) / r.criticalPath;
        log(`    transport floor: (critical path + ${r.commands} commands × ${ms(trip)} round trip) / critical path = ${ratio(floor)}`);
        fig[`rollingFloor${sc.nodes}${mode.suffix}`] = num(floor);
        floorRow = [{ bench: 'rolling', figure: `${label}: transport floor (commands × round trip)`, value: ratio(floor), note: `${ms(trip)} per command, ${r.commands} commands` }];
      }
      log(
        `  ${label}: approval→end ${ms(r.wall)} wall; simulated critical path ${ms(r.criticalPath)} (sum ${ms(r.sum)}, ${r.commands} commands) → ${ratio(r.wall / r.criticalPath)}; ` +
          `Ready→noticed ${spread(n)} over ${n.n} wait steps; Slack showed the end ${ms(r.slackLag)} later; ${r.connectionsPerNode.toFixed(2)} SSH connections per node; ` +
          `Redis received ${(r.redisBytesIn / 1024).toFixed(0)} KiB`,
      );
      fig[`rollingRedisKiB${sc.nodes}x${sc.batch}${mode.suffix}`] = num(r.redisBytesIn / 1024, 0);
      if (sc.batch === 1 && sc.nodes === 3) fig[`rollingRatio3${mode.suffix}`] = num(r.wall / r.criticalPath);
      // One process with both roles (the split deployment's figure is the fleet's): not a matter of Slack.
      if (sc.batch === 1 && sc.nodes === 20) fig.sshConnectionsPerNodePerJob ??= num(r.connectionsPerNode, 2);
      if (sc.batch === 1 && sc.nodes === 20) {
        fig[`rollingRatio20${mode.suffix}`] = num(r.wall / r.criticalPath);
        fig[`readyNoticeMs${mode.suffix}`] = num(n.max, 1);
      }
      rows.push(
        { bench: 'rolling', figure: `${label}: job end → Slack shows succeeded`, value: ms(r.slackLag) },
        { bench: 'rolling', figure: `${label}: wall / simulated critical path`, value: ratio(r.wall / r.criticalPath), note: `${ms(r.wall)} wall vs ${ms(r.criticalPath)} (command sum ${ms(r.sum)}, ${r.commands} commands)` },
        { bench: 'rolling', figure: `${label}: node Ready → wait step ends, p50`, value: ms(n.p50), n: n.n, note: `max ${ms(n.max)}` },
        { bench: 'rolling', figure: `${label}: bytes Redis received, approval → end`, value: `${(r.redisBytesIn / 1024).toFixed(0)} KiB`, note: 'every client: checkpoints, audit events, BullMQ' },
        ...floorRow,
      );
    });
  }
  return rows.map((r) => ({ ...r, bench: `rolling (${mode.name})` }));
}

export const rollingUpgrade: Benchmark = { name: 'rolling', title: `Rolling \`upgrade-cluster ${CHANNEL}\` on 3 and 20 nodes (latencies ×${SCALE})`, run };
