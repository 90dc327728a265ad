/**
 * Ack latency of the slash command: wall time from sending a signed POST to
 * /slack/events until its HTTP response (the ack) is read, with 200 requests in
 * flight at once, against Slack's 3000 ms limit; and the same requests sent
 * one at a time (unloaded) in the same run, for comparison.
 *
 * The client runs in its own process (bench/load-client.ts), so the bot's event
 * loop does not also sign and parse the load. Run twice: with the fake Slack
 * behaving like real Slack (200 ms a call, rate limits) and with it instant. The ratio
 * compares bursts of warm code: unmeasured rounds of a mix burst and a `help` burst come first
 * (one per WARM_UPS cluster). Then PAIRS pairs of a mixed burst and a `help` burst, side by side (which goes first
 * alternates, half and half): a single burst's p99 is nearly its max, and on a small shared
 * machine one pair alone ranged 1.0–2.0×. Bursts keep getting faster over a run (V8 keeps
 * optimising), so a pair's second burst is the faster one: a mix-first pair reads high and a
 * control-first pair low. The figure is the geometric mean of the pairs' ratios, in which that
 * drift cancels (with an odd count, the median was always one of the high, mix-first pairs).
 */
import type { Harness } from '../test/support/harness.ts';
import { USERS } from '../test/support/harness.ts';
import { SIGNING_SECRET } from '../test/support/harness.ts';
import { log, ms, num, pct, percentile, profiled, ratio, shuffled, spread, stats, until, waitParked, withHarness, SLACK_MODES, type Benchmark, type Figures, type Row, type SlackMode, queued } from './lib.ts';
import { startLoadClient, type LoadClient } from './load.ts';

const SLACK_LIMIT_MS = 3000;
const IN_FLIGHT = 200;
const UNLOADED_SAMPLES = 5;
/** Mixed burst + control burst pairs measured (each mixed burst upgrades a fresh idle cluster); even, so both orders count alike. */
const PAIRS = 6;
/** The idle clusters of the measured mixed bursts, one each. */
const IDLES = ['dev', 'dev2', 'dev3', 'dev4', 'dev5', 'dev6'];
/** Unmeasured mix + `help` rounds first, each mix on an idle cluster of its own. */
const WARM_UPS = ['warm', 'warm2', 'warm3'];

const CLUSTERS = [
  { name: 'prod', channel: 'C0PROD00001' },
  { name: 'stage', channel: 'C0STAGE0001' },
  { name: 'dev', channel: 'C0DEV000001' },
  { name: 'dev2', channel: 'C0DEV000002' },
  { name: 'dev3', channel: 'C0DEV000003' },
  { name: 'dev4', channel: 'C0DEV000004' },
  { name: 'dev5', channel: 'C0DEV000005' },
  { name: 'dev6', channel: 'C0DEV000006' },
  { name: 'qa', channel: 'C0QA0000001' },
  { name: 'warm', channel: 'C0WARM00001' },
  { name: 'warm2', channel: 'C0WARM00002' },
  { name: 'warm3', channel: 'C0WARM00003' },
];
const channelOf = (cluster: string) => CLUSTERS.find((c) => c.name === cluster)?.channel ?? '';

type Kind = 'help' | 'clusters' | 'status' | 'jobs' | 'audit' | 'dry-run' | 'busy-refused' | 'idle-upgrade';

interface Req {
  kind: Kind;
  user: string;
  text: string;
  cluster: string;
}

/** How many of each kind go into the burst of 200 (and what each one is). */
const MIX: Array<{ kind: Kind; count: number; what: string }> = [
  { kind: 'status', count: 40, what: 'status (ack at once, SSH reads follow on response_url)' },
  { kind: 'jobs', count: 40, what: 'jobs (Redis read)' },
  { kind: 'help', count: 20, what: 'help' },
  { kind: 'clusters', count: 10, what: 'clusters' },
  { kind: 'audit', count: 10, what: 'audit 10 (Redis stream read)' },
  { kind: 'dry-run', count: 30, what: 'upgrade … --dry-run (plan only)' },
  { kind: 'busy-refused', count: 45, what: 'upgrade on prod/stage, each held by a job awaiting approval → refused at once' },
  { kind: 'idle-upgrade', count: 5, what: 'upgrade on an idle cluster not read before, all at once → "checking…" at once (cold SSH); each precheck\'s verdict follows up: 1 queued, 4 refused by the hold' },
];

const viewer = (i: number) => `U0VIEW${String(i).padStart(4, '0')}`;
const operator = (i: number) => (i % 2 === 0 ? USERS.alice : USERS.mallory);

function request(kind: Kind, i: number): Req {
  const readCluster = ['prod', 'stage', 'dev'][i % 3] as string;
  const node = `k8s-${(i % 3) + 1}`;
  switch (kind) {
    case 'help':
      return { kind, user: viewer(i), text: i % 2 ? 'help' : 'help upgrade', cluster: readCluster };
    case 'clusters':
      return { kind, user: viewer(i), text: 'clusters', cluster: readCluster };
    case 'status':
      return { kind, user: viewer(i), text: 'status', cluster: readCluster };
    case 'jobs':
      return { kind, user: viewer(i), text: 'jobs', cluster: readCluster };
    case 'audit':
      return { kind, user: viewer(i), text: 'audit 10', cluster: readCluster };
    case 'dry-run':
      return { kind, user: operator(i), text: `upgrade ${node} 1.23/stable --dry-run`, cluster: readCluster };
    case 'busy-refused':
      return { kind, user: operator(i), text: `upgrade ${node} 1.23/stable`, cluster: i % 2 ? 'prod' : 'stage' };
    case 'idle-upgrade':
      break;
  }
  return { kind, user: operator(i), text: `upgrade ${node} 1.23/stable`, cluster: 'dev' };
}

interface Sample {
  req: Req;
  ms: number;
  status: number;
  text: string;
  jobId?: string;
}

let responseIds = 0;

/** Sends the requests from the load client process (all at once, or one after the other). */
async function sendAll(h: Harness, client: LoadClient, reqs: Req[], parallel: boolean): Promise<Sample[]> {
  const wire = reqs.map((r) => ({ user: r.user, text: r.text, channel: channelOf(r.cluster), responseUrl: h.slack.responseUrl(`load-${++responseIds}`) }));
  const acks = await client.send(wire, parallel);
  return acks.map((a, i) => {
    const jobId = /^Queued as job (\d+)\b/.exec(a.text)?.[1];
    return { req: reqs[i] as Req, ms: a.ms, status: a.status, text: a.text, ...(jobId ? { jobId } : {}) };
  });
}

async function send(h: Harness, client: LoadClient, req: Req): Promise<Sample> {
  return (await sendAll(h, client, [req], false))[0] as Sample;
}

type Outcome = 'answered' | 'queued' | 'busy' | 'checking' | 'deferred' | 'error';

function outcome(s: Sample): Outcome {
  if (s.status !== 200 || s.text.startsWith('Something went wrong')) return 'error';
  if (s.text === '') return 'deferred'; // acked empty at the bot's 2.5 s deadline; answer follows on response_url
  if (s.jobId) return 'queued';
  if (/ is busy: job /.test(s.text)) return 'busy';
  if (s.text.startsWith('Checking ')) return 'checking'; // a cold cluster's precheck: the verdict follows up
  return 'answered';
}

/** Waits for the status follow-ups (response_url posts) so the next phase starts quiet. */
async function settleFollowUps(h: Harness, expected: number): Promise<void> {
  await until(`${expected} response_url answers`, () => h.slack.responses.length >= expected, 30_000);
}

interface Burst {
  samples: Sample[];
  wall: number;
  followUpsWall: number;
  /** CPU this process (bot, fake Slack, simulated nodes) used until the last ack, and until the last status follow-up. */
  cpuAcks: number;
  cpuFollowUps: number;
  stats: ReturnType<typeof stats>;
  counts: Map<Outcome, number>;
  over: number;
}

/** 200 signed requests of the mix in flight at once; the idle-cluster upgrades go to `idle`. */
async function burst(h: Harness, client: LoadClient, idle: string, seed: number): Promise<Burst> {
  const reqs = shuffled(
    MIX.flatMap(({ kind, count }) => Array.from({ length: count }, (_, i) => (kind === 'idle-upgrade' ? { ...request(kind, i), cluster: idle } : request(kind, i)))),
    seed,
  );
  if (reqs.length !== IN_FLIGHT) throw new Error(`bench: mix adds up to ${reqs.length}, not ${IN_FLIGHT}`);
  const responsesBefore = h.slack.responses.length;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const samples = await sendAll(h, client, reqs, true);
  const wall = performance.now() - t0;
  const cpuAcks = cpuMs(cpu0);
  // The status reads follow up, and so do the prechecks that did not wait (a cold cluster: "Checking …").
  await settleFollowUps(h, responsesBefore + reqs.filter((r) => r.kind === 'status').length + samples.filter((s) => outcome(s) === 'checking').length);
  const followUpsWall = performance.now() - t0;
  const cpuFollowUps = cpuMs(cpu0);
  // The one upgrade the burst queued (in its ack, or in a precheck's follow-up) parks at its gate;
  // let it get there so the next phase starts quiet.
  const followedUp = h.slack.responses.slice(responsesBefore).map((r) => /^Queued as job (\d+)/.exec(typeof r.body.text === 'string' ? r.body.text : '')?.[1]);
  for (const jobId of [...samples.map((s) => s.jobId), ...followedUp]) if (jobId) await waitParked(h, jobId);
  const counts = new Map<Outcome, number>();
  for (const s of samples) counts.set(outcome(s), (counts.get(outcome(s)) ?? 0) + 1);
  return { samples, wall, followUpsWall, cpuAcks, cpuFollowUps, stats: stats(samples.map((s) => s.ms)), counts, over: samples.filter((s) => s.ms > SLACK_LIMIT_MS).length };
}

/** CPU time (user + system) this process used since `from`, in ms. */
function cpuMs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}

function describeBurst(label: string, b: Burst): void {
  log(`  ${label}: ${spread(b.stats)}; all ${IN_FLIGHT} acks in ${ms(b.wall)} (${(IN_FLIGHT / (b.wall / 1000)).toFixed(0)} req/s), status follow-ups done after ${ms(b.followUpsWall)}`);
  log(`    outcomes: ${[...b.counts].map(([k, v]) => `${v} ${k}`).join(', ')}; ${b.over} over ${SLACK_LIMIT_MS} ms`);
  log(`    CPU of this process until the last ack ${ms(b.cpuAcks)}, until the last follow-up ${ms(b.cpuFollowUps)}`);
}

async function run(fig: Figures): Promise<Row[]> {
  const rows: Row[] = [];
  for (const mode of SLACK_MODES) rows.push(...(await runMode(fig, mode)));
  return rows;
}

async function runMode(fig: Figures, mode: SlackMode): Promise<Row[]> {
  log(`  -- ${mode.name}`);
  return withHarness({ clusters: CLUSTERS, slack: mode.realism, simProcess: true }, async (h) => {
    const client = await startLoadClient(`http://127.0.0.1:${h.app.httpPort}/slack/events`, SIGNING_SECRET);
    try {
      return await measure(h, client, fig, mode);
    } finally {
      client.stop();
    }
  });
}

async function measure(h: Harness, client: LoadClient, fig: Figures, mode: SlackMode): Promise<Row[]> {
  {
    // Two busy clusters: each held by an upgrade parked at its approval gate.
    const holders: string[] = [];
    for (const cluster of ['prod', 'stage']) {
      const res = await queued(h, USERS.alice, 'upgrade k8s-1 1.23/stable', channelOf(cluster));
      if (!res.jobId) throw new Error(`bench: could not queue the holder job on ${cluster}: ${res.text}`);
      await waitParked(h, res.jobId);
      holders.push(res.jobId);
    }

    // Warm up every path once (Bolt, Redis scripts, SSH code).
    for (const kind of ['help', 'clusters', 'jobs', 'audit', 'dry-run', 'busy-refused', 'status'] as const) await send(h, client, request(kind, 0));
    await settleFollowUps(h, 1);
    // Then one burst of the mix and one of `help`, not in the ratio: the first bursts a process sees
    // run while V8 is still compiling the hot paths, so whichever of mix and control came first paid
    // for it (before, the mix: the ratio of the first Slack mode measured was ~2× the second's).
    const warmUps: Array<{ mix: Burst; control: ReturnType<typeof stats> }> = [];
    for (const [k, cluster] of WARM_UPS.entries()) {
      const mix = await burst(h, client, cluster, 39 - k);
      warmUps.push({ mix, control: stats((await sendAll(h, client, Array.from({ length: IN_FLIGHT }, (_, i) => request('help', i)), true)).map((s) => s.ms)) });
    }
    const cold = warmUps[0]?.mix;
    const coldControl = warmUps[0]?.control;
    if (!cold || !coldControl) throw new Error('bench: no warm-up burst was run');

    // Unloaded: one request at a time, each kind, after the previous one's follow-up has landed.
    const unloaded: Sample[] = [];
    for (const { kind } of MIX) {
      const samples = kind === 'idle-upgrade' ? 1 : UNLOADED_SAMPLES;
      for (let i = 0; i < samples; i++) {
        const req = kind === 'idle-upgrade' ? { ...request(kind, i), cluster: 'qa' } : request(kind, i + 1);
        const before = h.slack.responses.length;
        const sample = await send(h, client, req);
        unloaded.push(sample);
        if (kind === 'status') await settleFollowUps(h, before + 1);
        if (sample.jobId) await waitParked(h, sample.jobId);
      }
    }

    // Loaded: PAIRS pairs of the mix (a fresh idle cluster each time) and the control, code warm.
    // Control: the same number in flight, all `help` (no Redis, no SSH): the HTTP + signature + Bolt floor.
    const idles = IDLES.slice(0, PAIRS);
    const pairs: Array<{ mix: Burst; control: ReturnType<typeof stats>; controlCpu: number }> = [];
    const controlBurst = async (label: string) => {
      const cpu0 = process.cpuUsage();
      const st = stats((await profiled(label, () => sendAll(h, client, Array.from({ length: IN_FLIGHT }, (_, i) => request('help', i)), true))).map((s) => s.ms));
      return { st, cpu: cpuMs(cpu0) };
    };
    for (let k = 0; k < PAIRS; k++) {
      const tag = `ack-${mode.suffix || 'SlackOn'}-pair${k + 1}`;
      const mixFirst = k % 2 === 0;
      const c1 = mixFirst ? undefined : await controlBurst(`${tag}-control`);
      const mix = await profiled(`${tag}-mix`, () => burst(h, client, idles[k] as string, 42 + k));
      const c = c1 ?? (await controlBurst(`${tag}-control`));
      pairs.push({ mix, control: c.st, controlCpu: c.cpu });
    }
    const pairRatios = pairs.map((p) => p.mix.stats.p99 / p.control.p99);
    const ackRatio = geometricMean(pairRatios);
    const byOrder = (mixFirst: boolean) => geometricMean(pairRatios.filter((_, k) => (k % 2 === 0) === mixFirst));
    const first = pairs[0]?.mix;
    if (!first) throw new Error('bench: no burst pair was measured');

    // Report.
    const alone = stats(unloaded.map((s) => s.ms));
    log(`  busy: prod (job ${holders[0]}) and stage (job ${holders[1]}), both parked at their approval gate; idle: ${WARM_UPS.join(', ')} (warm-up bursts), ${idles.join(', ')} (the mixed bursts, in order)`);
    log(`  mix of ${IN_FLIGHT} in flight (shuffled; distinct viewer ids for reads, operators for upgrades):`);
    for (const m of MIX) log(`    ${String(m.count).padStart(3)} × ${m.what}`);
    for (const [k, w] of warmUps.entries()) {
      log(`  warm-up ${k + 1} (not in the ratio)${k === 0 ? ", the process's first bursts" : ''}: mix ${spread(w.mix.stats)} (CPU ${ms(w.mix.cpuAcks)}), then ${IN_FLIGHT} × help ${spread(w.control)}`);
    }
    for (const [k, p] of pairs.entries()) {
      describeBurst(`pair ${k + 1}, mixed`, p.mix);
      log(`  pair ${k + 1}, control (${IN_FLIGHT} × help, ${k % 2 === 0 ? 'after' : 'before'} the mix): ${spread(p.control)}; CPU of this process ${ms(p.controlCpu)} → ratio ${ratio(pairRatios[k] ?? 0)}`);
    }
    log(`  ${'kind'.padEnd(13)} ${'unloaded p50'.padStart(13)}   pair 1's mixed burst`);
    for (const { kind } of MIX) {
      const u = unloaded.filter((s) => s.req.kind === kind).map((s) => s.ms);
      const l = stats(first.samples.filter((s) => s.req.kind === kind).map((s) => s.ms));
      log(`  ${kind.padEnd(13)} ${ms(percentile(u, 50)).padStart(13)}   ${spread(l)} (n=${l.n})`);
    }
    log(
      `  ratio: geometric mean of the ${PAIRS} pairs ${ratio(ackRatio)} (mix-first pairs ${ratio(byOrder(true))}, control-first pairs ${ratio(byOrder(false))}: ` +
        `the drift between a pair's two bursts, cancelled by taking both orders alike); median pair ${ratio(percentile(pairRatios, 50))}`,
    );
    log('  note: the load client and the simulated nodes run in processes of their own; the bot and the fake Slack share this one');

    const mixP99 = pairs.map((p) => p.mix.stats.p99);
    const controlP99 = pairs.map((p) => p.control.p99);
    const all = (f: (b: Burst) => number) => pairs.reduce((n, p) => n + f(p.mix), 0);
    fig[`ackP99Ms${mode.suffix}`] = num(percentile(mixP99, 50), 1);
    fig[`ackFloorP99Ms${mode.suffix}`] = num(percentile(controlP99, 50), 1);
    fig[`ackUnloadedP50Ms${mode.suffix}`] = num(alone.p50, 2);
    fig[`ackRatio${mode.suffix}`] = num(ackRatio);
    fig[`ackRatioMedianPair${mode.suffix}`] = num(percentile(pairRatios, 50));
    fig[`ackRatioWorstPair${mode.suffix}`] = num(Math.max(...pairRatios));
    const range = (xs: number[]) => `${ms(Math.min(...xs))}–${ms(Math.max(...xs))}`;
    const rows: Row[] = [
      {
        bench: 'ack', figure: `ack p99 mixed / ack p99 ${IN_FLIGHT} × help, geometric mean of ${PAIRS} pairs`, value: ratio(ackRatio), n: PAIRS,
        note: `pairs ${pairRatios.map((r) => ratio(r)).join(' ')} (mix first in odd pairs); median pair ${ratio(percentile(pairRatios, 50))}`,
      },
      { bench: 'ack', figure: 'ack, one request alone (unloaded) p50', value: ms(alone.p50), n: alone.n, note: `all kinds, one at a time; max ${ms(alone.max)}` },
      { bench: 'ack', figure: `ack, ${IN_FLIGHT} in flight, warm-up burst (cold process) p99`, value: ms(cold.stats.p99), n: cold.stats.n, note: `not in the ratio; ${IN_FLIGHT} × help right after it: p99 ${ms(coldControl.p99)}` },
      { bench: 'ack', figure: `ack, ${IN_FLIGHT} mixed in flight, p50 (median of the bursts)`, value: ms(percentile(pairs.map((p) => p.mix.stats.p50), 50)), n: PAIRS, note: 'mixed kinds, see above' },
      { bench: 'ack', figure: `ack, ${IN_FLIGHT} mixed in flight, p99 (median of the bursts)`, value: ms(percentile(mixP99, 50)), n: PAIRS, note: `range ${range(mixP99)}` },
      { bench: 'ack', figure: `ack, ${IN_FLIGHT} mixed in flight, max of all bursts`, value: ms(Math.max(...pairs.map((p) => p.mix.stats.max))), n: PAIRS * IN_FLIGHT },
      {
        bench: 'ack',
        figure: `ack max / Slack's ${SLACK_LIMIT_MS} ms limit (all mixed bursts)`,
        value: pct(Math.max(...pairs.map((p) => p.mix.stats.max)) / SLACK_LIMIT_MS),
        n: PAIRS * IN_FLIGHT,
        note: `${all((b) => b.over)} over the limit, ${all((b) => b.counts.get('deferred') ?? 0)} deferred, ${all((b) => b.counts.get('error') ?? 0)} errors`,
      },
      { bench: 'ack', figure: 'ack p50, 1st mixed burst / unloaded', value: ratio(first.stats.p50 / alone.p50, 0), n: first.stats.n },
      { bench: 'ack', figure: `control: ${IN_FLIGHT} × help in flight p99 (median of ${PAIRS})`, value: ms(percentile(controlP99, 50)), n: PAIRS, note: `range ${range(controlP99)}; HTTP + signature + Bolt floor, no Redis or SSH` },
    ];
    return rows.map((r) => ({ ...r, bench: `ack (${mode.name})` }));
  }
}

/** exp(mean(ln x)): the mean of ratios in which a factor that raises one order's pairs and lowers the other's cancels. */
function geometricMean(xs: readonly number[]): number {
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

export const ackLatency: Benchmark = { name: 'ack', title: `Slash-command ack latency, ${IN_FLIGHT} signed requests in flight`, run };
