/**
 * Bot overhead on the single-node upgrade (`upgrade k8s-N 1.23/stable`): wall
 * time ÷ the time the simulated commands themselves took (the union of the
 * simulator's per-command intervals over the job's window: only this job runs
 * on its cluster, and commands that overlap count once, so reading nodes at
 * once shortens the wall without inflating what it is divided by).
 *
 *   after approval:  Approve click → the job finished (BullMQ finishedOn)
 *   whole request:   slash command sent → the job finished, minus the time the
 *                    gate waited for the human (gate checkpointed → click)
 *   Slack lag:       the job finished → the fake Slack received its `succeeded`
 *                    (the thread catching up; it does not hold the job)
 *
 * Two latency profiles: the test harness defaults, and realistic latencies
 * scaled ×0.1 (drain 2 s, refresh 5 s, NotReady after restart 3 s, up to 50 ms
 * per command). Also the SSH round trip of a trivial command on the bot's own
 * SSH client, since that is what every step pays.
 *
 * The simulated nodes run in a process of their own (as real nodes never share the bot's event
 * loop); their command log is read from it after each job.
 */
import type { SimLatency } from '../src/sim/index.ts';
import type { Harness } from '../test/support/harness.ts';
import { USERS } from '../test/support/harness.ts';
import { sshRoundTrip } from './ssh-round-trip.ts';
import { callAt, jobEnd, log, ms, num, ratio, stats, until, waitParked, withHarness, SLACK_MODES, type Benchmark, type Figures, type Row, type SlackMode, queued, unionLength } from './lib.ts';

const SCALE = 0.1;
const PROFILES: Array<{ name: string; latency: Partial<SimLatency>; describe: string; nodes?: number }> = [
  { name: 'test defaults', latency: {}, describe: 'harness defaults: drain 20 ms, refresh 40 ms, restart 60 ms, no per-command jitter' },
  {
    name: `realistic ×${SCALE}`,
    latency: { drainMs: 2000 * SCALE, refreshMs: 5000 * SCALE, restartMs: 3000 * SCALE, defaultMs: 50 * SCALE },
    describe: `drain ${2000 * SCALE} ms, refresh ${5000 * SCALE} ms, restart ${3000 * SCALE} ms, 0–${50 * SCALE} ms per command`,
  },
  // Unscaled, for scale: what the same overhead is worth against a real node's timings (two runs, ~11 s each).
  { name: 'realistic ×1', latency: { drainMs: 2000, refreshMs: 5000, restartMs: 3000, defaultMs: 50 }, describe: 'drain 2 s, refresh 5 s, restart 3 s, 0–50 ms per command', nodes: 2 },
];
const NODES = ['k8s-1', 'k8s-2', 'k8s-3'];
const CLUSTER = 'prod';
/** A cluster of its own for the unmeasured warm-up job (the measured nodes stay on their old channel). */
const WARM = { name: 'warm', channel: 'C0WARM00001' };
const CLUSTERS = [{ name: CLUSTER, channel: 'C0PROD00001' }, WARM];
const CHANNEL = '1.23/stable';

interface UpgradeRun {
  node: string;
  afterWall: number;
  afterSim: number;
  wholeWall: number;
  wholeSim: number;
  humanWait: number;
  commands: number;
  slackLag: number;
}

/** The simulated commands of [from, to] (the nodes' process's log): their union's length and count. */
async function simBetween(h: Harness, from: number, to: number): Promise<{ ms: number; commands: number }> {
  const side = await nodesSide(h);
  const recs = side.commands.filter((r) => r.startedAt >= from && r.startedAt <= to);
  return { ms: unionLength(recs.map((r): [number, number] => [r.startedAt, r.startedAt + r.durationMs])), commands: recs.length };
}

function nodesSide(h: Harness) {
  if (!h.simProcess) throw new Error('bench: the overhead benchmark runs its nodes in their own process');
  return h.simProcess.nodesSide(CLUSTER);
}

async function upgrade(h: Harness, node: string): Promise<UpgradeRun> {
  const requestAt = Date.now();
  const res = await queued(h, USERS.alice, `upgrade ${node} ${CHANNEL}`);
  const jobId = res.jobId;
  if (!jobId) throw new Error(`bench: upgrade ${node} was not queued: ${res.text}`);
  const button = await h.waitButton(jobId, 'Approve');
  await waitParked(h, jobId);
  const clickAt = Date.now();
  await h.click(USERS.bob, button);
  await h.waitState(jobId, 'succeeded', 60_000);
  const prefix = `job ${jobId} `;
  const doneAt = callAt(h, 'chat.update', (text) => text.startsWith(prefix) && text.endsWith(' · succeeded'), clickAt);
  const job = await h.app.queue.get(jobId);
  const gateAt = Object.values(job?.data.gates ?? {})[0]?.createdAt;
  const finishedAt = await jobEnd(h, jobId);
  if (gateAt === undefined || doneAt === undefined || finishedAt === undefined) throw new Error(`bench: job ${jobId}'s gate or end was not seen`);
  const after = await simBetween(h, clickAt, finishedAt);
  const whole = await simBetween(h, requestAt, finishedAt);
  const humanWait = clickAt - gateAt;
  return {
    node, afterWall: finishedAt - clickAt, afterSim: after.ms, wholeWall: finishedAt - requestAt - humanWait, wholeSim: whole.ms, humanWait, commands: whole.commands, slackLag: doneAt - finishedAt,
  };
}

/**
 * One upgrade on the warm-up cluster, not measured, then a `status` of the measured one: the
 * process's first job runs while V8 is still compiling the engine's hot paths, and its first
 * reads open the SSH connections. A bench run alone would otherwise charge that to the first
 * measured job (about 10 ms per command then, against about 2 after a warm-up).
 */
async function warmUp(h: Harness): Promise<void> {
  const res = await queued(h, USERS.alice, `upgrade k8s-1 ${CHANNEL}`, WARM.channel);
  if (!res.jobId) throw new Error(`bench: the warm-up upgrade was not queued: ${res.text}`);
  const button = await h.waitButton(res.jobId, 'Approve');
  await waitParked(h, res.jobId);
  await h.click(USERS.bob, button, button.messageTs, WARM.channel);
  await h.waitState(res.jobId, 'succeeded', 60_000);
  const before = h.slack.responses.length;
  await h.command(USERS.alice, 'status');
  await until('the warm-up status follow-up', () => h.slack.responses.length > before, 30_000);
}

async function run(fig: Figures): Promise<Row[]> {
  const rows: Row[] = [];
  for (const mode of SLACK_MODES) rows.push(...(await runMode(fig, mode)));
  return rows;
}

async function runMode(fig: Figures, mode: SlackMode): Promise<Row[]> {
  const rows: Row[] = [];
  log(`  -- ${mode.name}`);
  let trip = { p50: 0 };
  for (const [i, profile] of PROFILES.entries()) {
    if (profile.nodes !== undefined && mode.suffix !== '') continue; // the unscaled profile: with Slack on only (22 s)
    await withHarness({ clusters: CLUSTERS, latency: profile.latency, slack: mode.realism, simProcess: true }, async (h) => {
      await warmUp(h);
      // Measured where commands take 0 ms simulated (the test defaults, the first profile; the
      // realistic ones add up to 50 ms of simulated time to every command, `date` included).
      if (i === 0) {
        const { connect, rtt } = await sshRoundTrip(h, CLUSTER);
        const measured = stats(rtt);
        trip = measured;
        log(`  SSH exec round trip (src/ssh client → simulator, \`date +%s\`, 0 ms simulated): connect+first ${ms(connect)}, reused p50 ${ms(measured.p50)}, min ${ms(measured.min)}, max ${ms(measured.max)} (n=${measured.n})`);
        rows.push({ bench: 'overhead', figure: 'SSH exec round trip, reused connection p50', value: ms(measured.p50), n: measured.n, note: `trivial command; connect+first ${ms(connect)}` });
        fig[`sshRoundTripMs${mode.suffix}`] = num(trip.p50, 2);
      }
      log(`  profile "${profile.name}": ${profile.describe}`);
      const runs: UpgradeRun[] = [];
      for (const node of NODES.slice(0, profile.nodes ?? NODES.length)) {
        const r = await upgrade(h, node);
        runs.push(r);
        log(
          `    ${node}: approval→succeeded ${ms(r.afterWall)} wall / ${ms(r.afterSim)} simulated = ${ratio(r.afterWall / r.afterSim)}; ` +
            `request→succeeded ${ms(r.wholeWall)} (human wait ${ms(r.humanWait)} excluded) / ${ms(r.wholeSim)} = ${ratio(r.wholeWall / r.wholeSim)}; ` +
            `${r.commands} commands, ${ms((r.wholeWall - r.wholeSim) / r.commands)} overhead per command; Slack showed it ${ms(r.slackLag)} after the end`,
        );
      }
      const after = stats(runs.map((r) => r.afterWall / r.afterSim));
      const whole = stats(runs.map((r) => r.wholeWall / r.wholeSim));
      const wall = stats(runs.map((r) => r.afterWall));
      const sim = stats(runs.map((r) => r.afterSim));
      const perCommand = stats(runs.map((r) => (r.wholeWall - r.wholeSim) / r.commands));
      const lag = stats(runs.map((r) => r.slackLag));
      // The least this job could take on this transport: its commands one after the other, each
      // paying the measured round trip of a trivial command (what no bot-side change removes).
      const floor = stats(runs.map((r) => (r.wholeSim + r.commands * trip.p50) / r.wholeSim));
      log(`    transport floor: (simulated + commands × ${ms(trip.p50)} round trip) / simulated = ${ratio(floor.p50)}; the bot's own time per command beyond the round trip ${ms(perCommand.p50 - trip.p50)}`);
      if (i === 0) {
        fig[`perCommandOverheadMs${mode.suffix}`] = num(perCommand.p50, 2);
        fig[`perCommandBeyondRoundTripMs${mode.suffix}`] = num(perCommand.p50 - trip.p50, 2);
      } else if (i === 1) {
        fig[`upgradeOverheadRatio${mode.suffix}`] = num(whole.p50);
        fig[`upgradeOverheadFloor${mode.suffix}`] = num(floor.p50);
      } else fig[`upgradeOverheadRatioUnscaled${mode.suffix}`] = num(whole.p50);
      rows.push(
        { bench: 'overhead', figure: `${profile.name}: job end → Slack shows succeeded`, value: ms(lag.p50), n: lag.n, note: 'the thread catching up, after the job ended' },
        { bench: 'overhead', figure: `${profile.name}: approval→succeeded wall / simulated`, value: ratio(after.p50), n: after.n, note: `median; ${ms(wall.p50)} wall vs ${ms(sim.p50)} simulated` },
        { bench: 'overhead', figure: `${profile.name}: request→succeeded (no human wait) / simulated`, value: ratio(whole.p50), n: whole.n, note: `median; range ${ratio(whole.min)}–${ratio(whole.max)}` },
        { bench: 'overhead', figure: `${profile.name}: overhead per SSH command`, value: ms(perCommand.p50), n: perCommand.n, note: `median of (wall − simulated) / commands, ~${runs[0]?.commands ?? 0} commands per job` },
        { bench: 'overhead', figure: `${profile.name}: transport floor (commands × round trip)`, value: ratio(floor.p50), n: floor.n, note: `${ms(trip.p50)} per command; the ratio above less this is the bot's own` },
      );
    });
  }
  return rows.map((r) => ({ ...r, bench: `overhead (${mode.name})` }));
}

export const upgradeOverhead: Benchmark = { name: 'overhead', title: `Bot overhead on \`upgrade k8s-N ${CHANNEL}\``, run };
