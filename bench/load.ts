/** Starts bench/load-client.ts as a child process and sends it batches of slash commands. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SlashCommandInput } from '../test/support/slack-signing.ts';

export interface LoadSample {
  ms: number;
  status: number;
  text: string;
}

export interface LoadClient {
  /** Sends the requests all at once (parallel) or one after the other, and returns their acks in order. */
  send(requests: SlashCommandInput[], parallel: boolean): Promise<LoadSample[]>;
  stop(): void;
}

const CLIENT = fileURLToPath(new URL('./load-client.ts', import.meta.url));

export async function startLoadClient(url: string, secret: string): Promise<LoadClient> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLIENT], {
    env: { ...process.env, MK8S_BENCH_URL: url, MK8S_BENCH_SECRET: secret },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = new Map<number, { resolve: (s: LoadSample[]) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const msg = JSON.parse(line) as { id?: number; samples?: LoadSample[]; error?: string };
    if (msg.error !== undefined) {
      for (const w of waiting.values()) w.reject(new Error(`load client: ${msg.error}`));
      waiting.clear();
      return;
    }
    const w = waiting.get(msg.id ?? -1);
    waiting.delete(msg.id ?? -1);
    w?.resolve(msg.samples ?? []);
  });
  proc.once('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`load client exited (${code})`));
    waiting.clear();
  });
  const client: LoadClient = {
    send: (requests, parallel) =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        waiting.set(id, { resolve, reject });
        proc.stdin.write(`${JSON.stringify({ id, parallel, requests })}\n`);
      }),
    stop: () => {
      proc.stdin.end();
      proc.kill();
    },
  };
  // Warm the child (tsx compile, first connection) before anything is timed.
  await client.send([], true);
  return client;
}
