/**
 * The load client, run as its own process (bench/load.ts starts it), so the bot's event loop
 * does not also sign, send and parse the load. Reads one JSON batch per stdin line:
 *   { "id": 1, "parallel": true, "requests": [{ "user", "channel", "text", "responseUrl" }] }
 * and answers one JSON line per batch on stdout:
 *   { "id": 1, "samples": [{ "ms": 3.1, "status": 200, "text": "…" }] }
 * Environment: MK8S_BENCH_URL (the bot's /slack/events), MK8S_BENCH_SECRET (signing secret).
 */
import { createInterface } from 'node:readline';
import { signedRequest, slashCommandBody, type SlashCommandInput } from '../test/support/slack-signing.ts';

interface Batch {
  id: number;
  parallel: boolean;
  requests: SlashCommandInput[];
}

const url = process.env.MK8S_BENCH_URL ?? '';
const secret = process.env.MK8S_BENCH_SECRET ?? '';

async function one(req: SlashCommandInput): Promise<{ ms: number; status: number; text: string }> {
  const t0 = performance.now();
  const res = await signedRequest(url, slashCommandBody(req), secret);
  const raw = await res.text();
  const ms = performance.now() - t0;
  let text = raw;
  try {
    text = (JSON.parse(raw) as { text?: string }).text ?? raw;
  } catch {
    // an empty ack
  }
  return { ms, status: res.status, text };
}

async function run(batch: Batch): Promise<void> {
  const samples = [];
  if (batch.parallel) samples.push(...(await Promise.all(batch.requests.map(one))));
  else for (const r of batch.requests) samples.push(await one(r));
  process.stdout.write(`${JSON.stringify({ id: batch.id, samples })}\n`);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  void run(JSON.parse(line) as Batch).catch((err: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
  });
});
