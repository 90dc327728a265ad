/**
 * Ack latency of the slash command: wall time from sending a signed POST to
 * /slack/events until its HTTP response (the ack) is read, with 200 requests in
 * flight at once, against Slack's 3000 ms limit; and the same requests sent
 * one at a time (unloaded) in the same run, for comparison.
 *
 * The client runs in the same process as the bot (one event loop, 2 cores), so
 * the loaded figures include the client's own signing and parsing.
 */
import type { Harness } from '../test/support/harness.ts';
import { USERS } from '../test/support/harness.ts';
import { log, ms, pct, percentile, ratio, shuffled, spread, stats, until, waitParked, withHarness, type Benchmark, type Row } from './lib.ts';

const SLACK_LIMIT_MS = 3000;
const IN_FLIGHT = 200;
const UNLOADED_SAMPLES = 5;

const CLUSTERS = [
  { name: 'prod', channel: 'C0PROD00001' },
  { name: 'stage', channel: 'C0STAGE0001' },
  { name: 'dev', channel: 'C0DEV000001' },
  { name: 'dev2', channel: 'C0DEV000002' },
  { name: 'qa', channel: 'C0QA0000001' },
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
  { kind: 'idle-upgrade', count: 5, what: 'upgrade on an idle cluster, all at once → SSH precheck each, then 1 queued and 4 refused by the hold' },
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

async function send(h: Harness, req: Req): Promise<Sample> {
  const t0 = performance.now();
  const res = await h.command(req.user, req.text, channelOf(req.cluster));
  const elapsed = performance.now() - t0;
  return { req, ms: elapsed, status: res.status, text: res.text, ...(res.jobId ? { jobId: res.jobId } : {}) };
}

type Outcome = 'answered' | 'queued' | 'busy' | 'deferred' | 'error';

function outcome(s: Sample): Outcome {
  if (s.status !== 200 || s.text.startsWith('Something went wrong')) return 'error';
  if (s.text === '') return 'deferred'; // acked empty at the bot's 2.5 s deadline; answer follows on response_url
  if (s.jobId) return 'queued';
  if (/ is busy: job /.test(s.text)) return 'busy';
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
  stats: ReturnType<typeof stats>;
  counts: Map<Outcome, number>;
  over: number;
}

/** 200 signed requests of the mix in flight at once; the idle-cluster upgrades go to `idle`. */
async function burst(h: Harness, idle: string, seed: number): Promise<Burst> {
  const reqs = shuffled(
    MIX.flatMap(({ kind, count }) => Array.from({ length: count }, (_, i) => (kind === 'idle-upgrade' ? { ...request(kind, i), cluster: idle } : request(kind, i)))),
    seed,
  );
  if (reqs.length !== IN_FLIGHT) throw new Error(`bench: mix adds up to ${reqs.length}, not ${IN_FLIGHT}`);
  const responsesBefore = h.slack.responses.length;
  const t0 = performance.now();
  const samples = await Promise.all(reqs.map((req) => send(h, req)));
  const wall = performance.now() - t0;
  await settleFollowUps(h, responsesBefore + reqs.filter((r) => r.kind === 'status').length);
  const followUpsWall = performance.now() - t0;
  // The one upgrade the burst queued parks at its gate; let it get there so the next phase starts quiet.
  for (const s of samples) if (s.jobId) await waitParked(h, s.jobId);
  const counts = new Map<Outcome, number>();
  for (const s of samples) counts.set(outcome(s), (counts.get(outcome(s)) ?? 0) + 1);
  return { samples, wall, followUpsWall, stats: stats(samples.map((s) => s.ms)), counts, over: samples.filter((s) => s.ms > SLACK_LIMIT_MS).length };
}

function describeBurst(label: string, b: Burst): void {
  log(`  ${label}: ${spread(b.stats)}; all ${IN_FLIGHT} acks in ${ms(b.wall)} (${(IN_FLIGHT / (b.wall / 1000)).toFixed(0)} req/s), status follow-ups done after ${ms(b.followUpsWall)}`);
  log(`    outcomes: ${[...b.counts].map(([k, v]) => `${v} ${k}`).join(', ')}; ${b.over} over ${SLACK_LIMIT_MS} ms`);
}

async function run(): Promise<Row[]> {
  return withHarness({ clusters: CLUSTERS }, async (h) => {
    // Two busy clusters: each held by an upgrade parked at its approval gate.
    const holders: string[] = [];
    for (const cluster of ['prod', 'stage']) {
      const res = await h.command(USERS.alice, 'upgrade k8s-1 1.23/stable', channelOf(cluster));
      if (!res.jobId) throw new Error(`bench: could not queue the holder job on ${cluster}: ${res.text}`);
      await waitParked(h, res.jobId);
      holders.push(res.jobId);
    }

    // Warm up every path once (Bolt, Redis scripts, SSH code).
    for (const kind of ['help', 'clusters', 'jobs', 'audit', 'dry-run', 'busy-refused', 'status'] as const) await send(h, request(kind, 0));
    await settleFollowUps(h, 1);

    // Unloaded: one request at a time, each kind, after the previous one's follow-up has landed.
    const unloaded: Sample[] = [];
    for (const { kind } of MIX) {
      const samples = kind === 'idle-upgrade' ? 1 : UNLOADED_SAMPLES;
      for (let i = 0; i < samples; i++) {
        const req = kind === 'idle-upgrade' ? { ...request(kind, i), cluster: 'qa' } : request(kind, i + 1);
        const before = h.slack.responses.length;
        const sample = await send(h, req);
        unloaded.push(sample);
        if (kind === 'status') await settleFollowUps(h, before + 1);
        if (sample.jobId) await waitParked(h, sample.jobId);
      }
    }

    // Loaded: the first burst the process sees, then the same mix again once the code is hot.
    const first = await burst(h, 'dev', 42);
    const second = await burst(h, 'dev2', 43);

    // Control: the same number in flight, all `help` (no Redis, no SSH): the HTTP + signature + Bolt floor.
    const control = stats((await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => send(h, request('help', i))))).map((s) => s.ms));

    // Report.
    const alone = stats(unloaded.map((s) => s.ms));
    log(`  busy: prod (job ${holders[0]}) and stage (job ${holders[1]}), both parked at their approval gate; idle: dev (1st burst), dev2 (2nd burst)`);
    log(`  mix of ${IN_FLIGHT} in flight (shuffled; distinct viewer ids for reads, operators for upgrades):`);
    for (const m of MIX) log(`    ${String(m.count).padStart(3)} × ${m.what}`);
    describeBurst('1st burst', first);
    describeBurst('2nd burst', second);
    log(`  control, ${IN_FLIGHT} × help only in flight: ${spread(control)}`);
    log(`  ${'kind'.padEnd(13)} ${'unloaded p50'.padStart(13)}   1st burst`);
    for (const { kind } of MIX) {
      const u = unloaded.filter((s) => s.req.kind === kind).map((s) => s.ms);
      const l = stats(first.samples.filter((s) => s.req.kind === kind).map((s) => s.ms));
      log(`  ${kind.padEnd(13)} ${ms(percentile(u, 50)).padStart(13)}   ${spread(l)} (n=${l.n})`);
    }
    log('  note: client, bot and the simulated nodes\' SSH servers share one process; the status follow-ups\' SSH handshakes run during the burst');

    const worst = first.stats.p99 >= second.stats.p99 ? first : second;
    const deferred = (b: Burst) => b.counts.get('deferred') ?? 0;
    const errors = (b: Burst) => b.counts.get('error') ?? 0;
    return [
      { bench: 'ack', figure: 'ack, one request alone (unloaded) p50', value: ms(alone.p50), n: alone.n, note: `all kinds, one at a time; max ${ms(alone.max)}` },
      { bench: 'ack', figure: `ack, ${IN_FLIGHT} in flight, 1st burst p50`, value: ms(first.stats.p50), n: first.stats.n, note: 'mixed kinds, see above' },
      { bench: 'ack', figure: `ack, ${IN_FLIGHT} in flight, 1st burst p99`, value: ms(first.stats.p99), n: first.stats.n },
      { bench: 'ack', figure: `ack, ${IN_FLIGHT} in flight, 1st burst max`, value: ms(first.stats.max), n: first.stats.n },
      { bench: 'ack', figure: `ack, ${IN_FLIGHT} in flight, 2nd burst p50`, value: ms(second.stats.p50), n: second.stats.n, note: 'same mix, code warm' },
      { bench: 'ack', figure: `ack, ${IN_FLIGHT} in flight, 2nd burst p99`, value: ms(second.stats.p99), n: second.stats.n },
      { bench: 'ack', figure: `ack, ${IN_FLIGHT} in flight, 2nd burst max`, value: ms(second.stats.max), n: second.stats.n },
      {
        bench: 'ack',
        figure: `ack p99 / Slack's ${SLACK_LIMIT_MS} ms limit (worse burst)`,
        value: pct(worst.stats.p99 / SLACK_LIMIT_MS),
        n: worst.stats.n,
        note: `${first.over + second.over} over the limit, ${deferred(first) + deferred(second)} deferred, ${errors(first) + errors(second)} errors in both bursts`,
      },
      { bench: 'ack', figure: 'ack p50, 1st burst / unloaded', value: ratio(first.stats.p50 / alone.p50, 0), n: first.stats.n },
      { bench: 'ack', figure: `control: ${IN_FLIGHT} × help in flight p50 / p99`, value: `${ms(control.p50)} / ${ms(control.p99)}`, n: control.n, note: 'HTTP + signature + Bolt floor, no Redis or SSH' },
    ];
  });
}

export const ackLatency: Benchmark = { name: 'ack', title: `Slash-command ack latency, ${IN_FLIGHT} signed requests in flight`, run };
