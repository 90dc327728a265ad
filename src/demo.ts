import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startApp } from './app.ts';
import { parseEnv } from './config/env.ts';
import { loadInventory } from './config/inventory.ts';
import { createLogger, secretValues } from './logging.ts';
import { describeRedisTarget, redisTarget } from './queue/connection.ts';
import { startSimCluster } from './sim/index.ts';
import { RedisNotFoundError, startPrivateRedis, type PrivateRedis } from './util/redis-server.ts';

const CHANNEL = 'C0DEMO00001';

/**
 * `npm run demo`: a simulated 3-node MicroK8s cluster over real SSH on
 * loopback, a private Redis unless REDIS_URL (or REDIS_SENTINELS) is set, the worker, and the
 * console chat. Nothing outside this machine is touched.
 */
async function demo(): Promise<void> {
  let redis: PrivateRedis | undefined;
  if (!process.env.REDIS_URL && !process.env.REDIS_SENTINELS) {
    try {
      redis = await startPrivateRedis();
    } catch (err) {
      if (err instanceof RedisNotFoundError) {
        process.stderr.write(`mk8s-ops demo needs Redis: ${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'mk8s-demo-'));
  // Latencies a little like a real cluster's, scaled down so the demo is quick.
  const sim = await startSimCluster({ latency: { defaultMs: 30, drainMs: 1_500, refreshMs: 3_000, restartMs: 2_000 } });
  const files = await sim.writeClientFiles(dir);
  const inventoryPath = join(dir, 'inventory.yml');
  writeFileSync(
    inventoryPath,
    sim.inventoryYaml({
      clusterName: 'demo',
      channel: CHANNEL,
      ...files,
      rbac: { operators: ['alice'], approvers: ['bob', 'carol'], viewers: ['*'] },
    }),
  );

  const env = parseEnv({
    ...process.env,
    SLACK_BOT_TOKEN: undefined,
    SLACK_SIGNING_SECRET: undefined,
    SLACK_APP_TOKEN: undefined,
    REDIS_URL: redis?.url ?? process.env.REDIS_URL,
    MK8S_INVENTORY: inventoryPath,
    MK8S_ROLE: 'all',
    PORT: process.env.PORT ?? '0',
    MK8S_BACKUP_DIR: process.env.MK8S_BACKUP_DIR ?? join(dir, 'backups'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const logger = createLogger(env.LOG_LEVEL, { destination: pino.destination(2), secrets: secretValues(process.env) });
  const app = await startApp({ env, inventory: loadInventory(inventoryPath), logger, console: { user: 'alice', channel: CHANNEL } });

  process.stdout.write(
    [
      '',
      'mk8s-ops demo — a simulated MicroK8s cluster "demo" (k8s-1, k8s-2, k8s-3 on 1.22/stable) over SSH on loopback.',
      `Redis: ${redis ? `private redis-server on port ${redis.port}` : describeRedisTarget(redisTarget(env))}. Health: http://127.0.0.1:${app.httpPort}/healthz`,
      'You are alice (operator). bob and carol are approvers. Try:',
      '  /mk8s status',
      '  /mk8s upgrade k8s-1 1.23/stable --dry-run',
      '  /mk8s upgrade k8s-1 1.23/stable',
      '  as bob            (switch user)',
      '  approve <job>     (or reject <job>)',
      '  /mk8s help        quit to leave',
      '',
    ].join('\n'),
  );

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.stop();
    await sim.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await app.done;
  await stop();
}

demo().catch((err: unknown) => {
  process.stderr.write(`mk8s-ops demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
