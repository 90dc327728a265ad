/**
 * A fleet on real separate processes: the bot here (harness, MK8S_ROLE=bot) and two
 * MK8S_ROLE=worker processes (the container's command, bench/procs.ts) on the same Redis. First one 5-node cluster's
 * `upgrade-cluster 1.23/stable --batch 1` alone, then 20 other 5-node clusters approved at
 * once; the ratio is the fleet's wall (first click → last job end) ÷ the lone cluster's
 * (click → end). Then the same again to 1.24, and the figure is the mean of the two rounds.
 * Latencies ×0.1. Also the SSH connections the lone job opened per node
 * (every handshake the node's server accepted between the request and the job's end: the
 * bot's precheck, and each worker process an activation of the job ran on) and the
 * workers' resident memory, and the CPU every process used while the twenty ran (the simulated
 * nodes run in a process of their own, but on a machine of few cores they still share its CPU).
 */
import { availableParallelism } from 'node:os';
import type { SimNodeSpec } from '../src/sim/index.ts';
import { USERS, type Harness, type HarnessCluster } from '../test/support/harness.ts';
import { cpuMsOf, jobEnd, log, ms, num, ratio, rssMbOf, waitParked, withHarness, SLACK_MODES, type Benchmark, type Figures, type Row, type SlackMode, queued } from './lib.ts';
import { startBotProcess, type BotProcess } from './procs.ts';

const SCALE = 0.1;
const FLEET = 20;
/** The two rounds: every cluster starts on 1.22 and goes up one minor per round. */
const ROUNDS = ['1.23/stable', '1.24/stable'];
const SPEC: SimNodeSpec[] = [{ name: 'k8s-1' }, { name: 'k8s-2', failureDomain: 2 }, { name: 'k8s-3', failureDomain: 3 }, { name: 'w1', role: 'worker' }, { name: 'w2', role: 'worker' }];

const clusterName = (i: number) => `c${String(i).padStart(2, '0')}`;
const channelOf = (i: number) => `C0FLEET${String(i).padStart(4, '0')}`;

/** Queues the rolling upgrade on cluster i and waits until it is parked at its plan gate. */
async function queue(h: Harness, i: number, channel: string): Promise<{ jobId: string; button: Awaited<ReturnType<Harness['waitButton']>> }> {
  const res = await queued(h, USERS.alice, `upgrade-cluster ${channel} --batch 1 --pause-after none`, channelOf(i));
  if (!res.jobId) throw new Error(`bench: upgrade-cluster on ${clusterName(i)} was not queued: ${res.text}`);
  const button = await h.waitButton(res.jobId, 'Approve', 60_000);
  await waitParked(h, res.jobId, 60_000);
  return { jobId: res.jobId, button };
}


async function run(fig: Figures): Promise<Row[]> {
  const rows: Row[] = [];
  for (const mode of SLACK_MODES) {
    try {
      rows.push(...(await runMode(fig, mode)));
    } catch (err) {
      // A fleet that cannot finish (e.g. jobs failing on Slack's rate limits) is a result too.
      const why = err instanceof Error ? err.message : String(err);
      process.stderr.write(`bench: fleet (${mode.name}) not measured: ${why}\n`);
      fig[`fleetRatio${mode.suffix}`] = null;
      rows.push({ bench: `fleet (${mode.name})`, figure: `${FLEET} clusters × 5 nodes at once / one alone`, value: 'n/a', note: why.slice(0, 120) });
    }
  }
  return rows;
}

async function runMode(fig: Figures, mode: SlackMode): Promise<Row[]> {
  log(`  -- ${mode.name}`);
  const clusters: HarnessCluster[] = Array.from({ length: FLEET + 1 }, (_, i) => ({ name: clusterName(i), channel: channelOf(i), nodes: SPEC, policy: { readyTimeout: '60s', drainTimeout: '60s' } }));
  const latency = { drainMs: 2000 * SCALE, refreshMs: 5000 * SCALE, restartMs: 3000 * SCALE, defaultMs: 0 };
  return withHarness({ clusters, latency, role: 'bot', slack: mode.realism, simProcess: true }, async (h) => {
    const workers: BotProcess[] = [];
    try {
      for (let w = 0; w < 2; w++) workers.push(await startBotProcess(h, 'worker', { MK8S_WORKER_CONCURRENCY: String(FLEET) }));
      const sims = h.simProcess;
      if (!sims) throw new Error('bench: no simulator process');
      const handshakes = async (cluster: string) => [...(await sims.connectionsAccepted(cluster)).values()].reduce((a, b) => a + b, 0);
      const redisPid = Number(/process_id:(\d+)/.exec(await h.app.redis.info('server'))?.[1]);
      const pids = { workers: workers.map((w) => w.proc.pid ?? 0), redis: redisPid, sims: sims.pid };

      // Two rounds (1.22 → 1.23, then 1.23 → 1.24), each one cluster alone and then twenty at once:
      // one fleet run alone moved by ±0.1 from run to run on 2 cores; the figure is their mean.
      const rounds: Array<{ channel: string; loneWall: number; fleetWall: number; opened: number }> = [];
      for (const channel of ROUNDS) {
        const before = await handshakes(clusterName(0));
        const lone = await queue(h, 0, channel);
        const loneClick = Date.now();
        await h.click(USERS.bob, lone.button, lone.button.messageTs, channelOf(0));
        const loneWall = (await jobEnd(h, lone.jobId)) - loneClick;
        // Every handshake a node accepted between the request and the job's end: the bot's precheck, and each worker an activation ran on.
        const opened = (await handshakes(clusterName(0))) - before;

        const jobs = [];
        for (let i = 1; i <= FLEET; i++) jobs.push(await queue(h, i, channel));
        const cpuBefore = { self: process.cpuUsage(), workers: await Promise.all(pids.workers.map(cpuMsOf)), redis: await cpuMsOf(pids.redis), sims: await cpuMsOf(pids.sims) };
        const clickAt = Date.now();
        await Promise.all(jobs.map((j, k) => h.click(USERS.bob, j.button, j.button.messageTs, channelOf(k + 1))));
        const ends = await Promise.all(jobs.map((j) => jobEnd(h, j.jobId)));
        const fleetWall = Math.max(...ends) - clickAt;
        const selfCpu = process.cpuUsage(cpuBefore.self);
        const cpu = {
          self: (selfCpu.user + selfCpu.system) / 1000,
          workers: (await Promise.all(pids.workers.map(cpuMsOf))).map((c, i) => c - (cpuBefore.workers[i] ?? 0)),
          redis: (await cpuMsOf(pids.redis)) - cpuBefore.redis,
          sims: (await cpuMsOf(pids.sims)) - cpuBefore.sims,
        };
        const cpuTotal = cpu.self + cpu.workers.reduce((a, b) => a + b, 0) + cpu.redis + cpu.sims;
        log(
          `  round ${rounds.length + 1} (→ ${channel}): one 5-node cluster alone ${ms(loneWall)}; ${FLEET} clusters at once on 2 worker processes ${ms(fleetWall)} → ${ratio(fleetWall / loneWall)}; ` +
            `${opened} SSH connections for the lone job's ${SPEC.length} nodes (${(opened / SPEC.length).toFixed(2)} per node)`,
        );
        log(
          `    CPU while the ${FLEET} ran: bot and fake Slack ${ms(cpu.self)}, workers ${cpu.workers.map((c) => ms(c)).join(' / ')}, simulated nodes ${ms(cpu.sims)}, redis ${ms(cpu.redis)}; ` +
            `${(cpuTotal / fleetWall).toFixed(2)} cores busy on average of ${availableParallelism()}`,
        );
        rounds.push({ channel, loneWall, fleetWall, opened });
      }
      const rss = await Promise.all(workers.map((w) => rssMbOf(w.proc.pid ?? 0)));
      const ratios = rounds.map((r) => r.fleetWall / r.loneWall);
      const fleetRatio = ratios.reduce((a, b) => a + b, 0) / ratios.length;
      const [first, second] = rounds;
      if (!first || !second) throw new Error('bench: a fleet round was not measured');
      log(
        `  fleet ÷ alone: ${ratios.map((r) => ratio(r)).join(', ')} → mean ${ratio(fleetRatio)}; SSH connections per node: ${(first.opened / SPEC.length).toFixed(2)} on the cluster's first job ` +
          `(one per process that reached it: the bot's precheck and each worker an activation ran on), ${(second.opened / SPEC.length).toFixed(2)} on its next (the bot's pool is warm; a worker's only if it ran there before); worker RSS ${rss.map((r) => r.toFixed(0)).join(' / ')} MB`,
      );
      fig[`fleetRatio${mode.suffix}`] = num(fleetRatio);
      // Not a matter of Slack: the first mode that gets here reports them.
      fig.sshConnectionsPerNodePerJobSplit ??= num(first.opened / SPEC.length, 2);
      fig.sshConnectionsPerNodePerJobSplitWarm ??= num(second.opened / SPEC.length, 2);
      fig.fleetWorkerRssMb ??= num(Math.max(...rss), 0);
      return [
        {
          bench: `fleet (${mode.name})`, figure: `${FLEET} clusters × 5 nodes at once / one alone, mean of ${rounds.length} rounds`, value: ratio(fleetRatio), n: rounds.length,
          note: rounds.map((r) => `${ms(r.fleetWall)} vs ${ms(r.loneWall)}`).join('; ') + ', 2 worker processes',
        },
        { bench: `fleet (${mode.name})`, figure: 'SSH connections opened per node per job', value: (first.opened / SPEC.length).toFixed(2), note: `${first.opened} handshakes for ${SPEC.length} nodes, request → end, the cluster's first job; next job ${(second.opened / SPEC.length).toFixed(2)}` },
        { bench: `fleet (${mode.name})`, figure: 'worker process RSS (max of 2)', value: `${Math.max(...rss).toFixed(0)} MB`, note: `after ${2 * (FLEET + 1)} rollouts` },
      ];
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });
}

export const fleet: Benchmark = { name: 'fleet', title: `${FLEET} clusters × 5 nodes on 2 worker processes (latencies ×${SCALE})`, run };
