/**
 * `status` of a 100-node cluster (3 control-plane nodes, 97 workers), sent by the load client
 * to a bot process of its own (both roles, started as the container starts it: the Dockerfile's
 * CMD on the compiled dist/), timed from the slash command to its follow-up on response_url;
 * three in a row (the first one opens the SSH connections). Then that process's resident
 * memory: the bot and worker at 100 nodes.
 */
import type { SimNodeSpec } from '../src/sim/index.ts';
import { SIGNING_SECRET, USERS, type Harness } from '../test/support/harness.ts';
import { log, ms, num, rssMbOf, until, withHarness, type Benchmark, type Figures, type Row } from './lib.ts';
import { startLoadClient } from './load.ts';
import { startBotProcess } from './procs.ts';

const NODES = 100;
const CHANNEL = 'C0BIG000001';
const RUNS = 3;

function nodes(): SimNodeSpec[] {
  const out: SimNodeSpec[] = [];
  for (let i = 1; i <= 3; i++) out.push({ name: `k8s-${i}` });
  for (let i = 1; i <= NODES - 3; i++) out.push({ name: `w${i}`, role: 'worker' });
  return out;
}

async function statusOnce(h: Harness, send: (id: string) => Promise<void>, id: string): Promise<number> {
  const t0 = Date.now();
  await send(id);
  const res = await until(`status follow-up ${id}`, () => h.slack.responses.find((r) => r.id === id), 60_000);
  const text = typeof res.body.text === 'string' ? res.body.text : '';
  if (!text.startsWith('status of big')) throw new Error(`bench: unexpected status answer: ${text.slice(0, 200)}`);
  return res.at - t0;
}

async function run(fig: Figures): Promise<Row[]> {
  return withHarness({ clusters: [{ name: 'big', channel: CHANNEL, nodes: nodes() }], role: 'bot', slack: { latencyMs: 200, rateLimits: true } }, async (h) => {
    const bot = await startBotProcess(h, 'all');
    const client = await startLoadClient(`http://127.0.0.1:${bot.port}/slack/events`, SIGNING_SECRET);
    try {
      const send = async (id: string) => {
        const [ack] = await client.send([{ user: USERS.alice, text: 'status', channel: CHANNEL, responseUrl: h.slack.responseUrl(id) }], false);
        if (ack?.status !== 200) throw new Error(`bench: status was not acked: ${ack?.status}`);
      };
      const walls: number[] = [];
      for (let i = 0; i < RUNS; i++) walls.push(await statusOnce(h, send, `status-${i}`));
      const rss = await rssMbOf(bot.proc.pid ?? 0);
      log(`  status of ${NODES} nodes: ${walls.map((w) => ms(w)).join(', ')} (first one cold); bot+worker process RSS ${rss.toFixed(0)} MB`);
      fig.status100Ms = num(walls[0] ?? Number.NaN, 0);
      fig.status100WarmMs = num(Math.min(...walls.slice(1)), 0);
      fig.rssMb = num(rss, 0);
      return [
        { bench: 'status', figure: `status of ${NODES} nodes, first (cold)`, value: ms(walls[0] ?? Number.NaN), note: 'slash command → follow-up on response_url' },
        { bench: 'status', figure: `status of ${NODES} nodes, again (warm)`, value: ms(Math.min(...walls.slice(1))), n: RUNS - 1 },
        { bench: 'status', figure: `RSS of bot + worker at ${NODES} nodes`, value: `${rss.toFixed(0)} MB`, note: 'one process with both roles, after the status reads' },
      ];
    } finally {
      client.stop();
      await bot.stop();
    }
  });
}

export const statusLarge: Benchmark = { name: 'status', title: `\`status\` of a ${NODES}-node cluster and the process's memory`, run };
