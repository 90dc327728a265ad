/**
 * A Redis Sentinel group of real processes on free loopback ports, in a temporary directory:
 * a primary, its replicas (`--replicaof`) and sentinels (`redis-sentinel`, or
 * `redis-server <conf> --sentinel` where that binary is missing), with passwords on the data
 * nodes and on the sentinels, and fast failure detection (down-after 1 s, failover-timeout
 * 3 s). `env` connects the app to it the way production does (REDIS_SENTINELS …).
 *
 *   const g = await startSentinelGroup();
 *   await g.primary.kill();                       // SIGKILL
 *   await g.waitMaster(g.replicas[0]!.port);      // the sentinels promoted the replica
 *   await g.stop();
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, spawnRedis } from '../../src/util/redis-server.ts';

export const DATA_PASSWORD = 'redis-data-pw-4b7e91c2d5';
export const SENTINEL_PASSWORD = 'sentinel-pw-0f3a6d28e1';
export const MASTER_NAME = 'mk8s-test';

export interface RedisNode {
  port: number;
  /** SIGKILL (a crash: nothing flushed, nothing handed over) and wait for the exit. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a node that answers nothing for a while. */
  pause(): void;
  resume(): void;
}

export interface SentinelGroupOptions {
  replicas?: number;
  sentinels?: number;
}

export interface SentinelGroup {
  primary: RedisNode;
  replicas: RedisNode[];
  sentinels: RedisNode[];
  /** The app's environment for this group: REDIS_SENTINELS, REDIS_SENTINEL_NAME, REDIS_SENTINEL_PASSWORD, REDIS_URL (the data nodes' password). */
  env: Record<string, string>;
  /** A client straight to one data node (not through Sentinel). */
  client(port: number): Redis;
  /** Resolves once every live sentinel names `port` as the master. */
  waitMaster(port: number, timeoutMs?: number): Promise<void>;
  /** A planned switchover (`SENTINEL FAILOVER`, asked of the first sentinel): a replica is promoted, the old master, alive, becomes its replica. */
  failover(): Promise<void>;
  /** The sentinels' and the data nodes' own logs (for a failure message). */
  logs(): string;
  stop(): Promise<void>;
}

function sentinelCommand(): { binary: string; args: (conf: string) => string[] } {
  const found = spawnSync('redis-sentinel', ['--version'], { stdio: 'ignore' });
  if (!found.error && found.status === 0) return { binary: 'redis-sentinel', args: (conf) => [conf] };
  return { binary: process.env.REDIS_SERVER_BIN ?? 'redis-server', args: (conf) => [conf, '--sentinel'] };
}

function node(proc: ChildProcess, port: number): RedisNode {
  return {
    port,
    pause: () => proc.kill('SIGSTOP'),
    resume: () => proc.kill('SIGCONT'),
    kill: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      });
    },
  };
}

/** Polls `check` until it holds, or throws after `timeoutMs` naming `what` and `detail()`. */
export const until = async (what: string, check: () => Promise<boolean>, timeoutMs: number, detail: () => string): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

export async function startSentinelGroup(options: SentinelGroupOptions = {}): Promise<SentinelGroup> {
  const dir = mkdtempSync(join(tmpdir(), 'mk8s-sentinel-'));
  const procs: ChildProcess[] = [];
  const server = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const dataUrl = (port: number) => `redis://:${DATA_PASSWORD}@127.0.0.1:${port}`;
  const startData = async (replicaOf?: number): Promise<RedisNode> => {
    const port = await freePort();
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `dump-${port}.rdb`, '--save', '', '--appendonly', 'no',
      '--maxmemory-policy', 'noeviction', '--requirepass', DATA_PASSWORD, '--masterauth', DATA_PASSWORD,
      // A replica's first sync at once (the default waits 5 s for more replicas to share it).
      '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--logfile', join(dir, `redis-${port}.log`),
      ...(replicaOf ? ['--replicaof', '127.0.0.1', String(replicaOf)] : []),
    ];
    const proc = await spawnRedis(server, args, dataUrl(port));
    procs.push(proc);
    return node(proc, port);
  };

  try {
    const primary = await startData();
    const replicas: RedisNode[] = [];
    for (let i = 0; i < (options.replicas ?? 1); i++) replicas.push(await startData(primary.port));

    const count = options.sentinels ?? 3;
    const quorum = Math.floor(count / 2) + 1;
    const cmd = sentinelCommand();
    const sentinels: RedisNode[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      // Sentinel rewrites its config file (what it learnt: replicas, other sentinels, epochs).
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `logfile ${join(dir, `sentinel-${port}.log`)}`,
          `requirepass ${SENTINEL_PASSWORD}`,
          `sentinel sentinel-pass ${SENTINEL_PASSWORD}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary.port} ${quorum}`,
          `sentinel auth-pass ${MASTER_NAME} ${DATA_PASSWORD}`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 3000`,
          `sentinel parallel-syncs ${MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      const proc = await spawnRedis(cmd.binary, cmd.args(conf), `redis://:${SENTINEL_PASSWORD}@127.0.0.1:${port}`);
      procs.push(proc);
      sentinels.push(node(proc, port));
    }

    const logs = () =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.log'))
        .map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8').split('\n').slice(-40).join('\n')}`)
        .join('\n');
    const ask = async <T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> => {
      const r = new Redis({ port, host: '127.0.0.1', password: SENTINEL_PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return await fn(r);
      } finally {
        r.disconnect();
      }
    };
    const pairs = (flat: unknown): Record<string, string>[] =>
      (flat as string[][]).map((f) => Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : []))) as Record<string, string>);

    // Ready for a failover: every sentinel sees the replicas in sync and the other sentinels (quorum reachable).
    await until(
      'the sentinels did not see each other and the replicas',
      async () => {
        for (const s of sentinels) {
          const ok = await ask(s.port, async (r) => {
            const known = pairs(await r.call('SENTINEL', 'sentinels', MASTER_NAME));
            const reps = pairs(await r.call('SENTINEL', 'replicas', MASTER_NAME));
            const synced = replicas.every((rep) => reps.some((x) => Number(x.port) === rep.port && x.flags === 'slave' && x['master-link-status'] === 'ok'));
            return known.length === count - 1 && synced;
          });
          if (!ok) return false;
        }
        return true;
      },
      20_000,
      logs,
    );

    const group: SentinelGroup = {
      primary,
      replicas,
      sentinels,
      env: {
        REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
        REDIS_SENTINEL_NAME: MASTER_NAME,
        REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
        // Through Sentinel the URL's host and port are not used: only its password (and db).
        REDIS_URL: `redis://:${DATA_PASSWORD}@sentinel-managed:6379/0`,
      },
      client: (port) => new Redis({ port, host: '127.0.0.1', password: DATA_PASSWORD, maxRetriesPerRequest: 1, retryStrategy: () => null }),
      async waitMaster(port, timeoutMs = 20_000) {
        await until(
          `the sentinels did not all name port ${port} as the master`,
          async () => {
            for (const s of sentinels) {
              const addr = (await ask(s.port, (r) => r.call('SENTINEL', 'get-master-addr-by-name', MASTER_NAME))) as string[];
              if (Number(addr[1]) !== port) return false;
            }
            return true;
          },
          timeoutMs,
          logs,
        );
      },
      logs,
      async failover() {
        const answer = await ask(sentinels[0]!.port, (r) => r.call('SENTINEL', 'failover', MASTER_NAME));
        if (answer !== 'OK') throw new Error(`SENTINEL FAILOVER answered ${String(answer)}`);
      },
      async stop() {
        for (const p of procs) {
          if (p.exitCode === null && p.signalCode === null) {
            const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
            p.kill('SIGCONT');
            p.kill('SIGKILL');
            await exited;
          }
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return group;
  } catch (err) {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
