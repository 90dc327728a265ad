import { startApp } from './app.ts';
import { chatMode, parseEnv } from './config/env.ts';
import { loadInventory } from './config/inventory.ts';
import { bufferedDestination, createLogger, secretValues } from './logging.ts';

/**
 * Process entry: config, then the roles (bot, worker or both). With no Slack
 * credentials the bot talks on the console.
 */
async function main(): Promise<void> {
  const env = parseEnv();
  const inventory = loadInventory(env.MK8S_INVENTORY);
  const passphraseEnvs = Object.values(inventory.clusters).flatMap((c) => (c.ssh.passphraseEnv ? [c.ssh.passphraseEnv] : []));
  // In console mode the terminal is for the chat: logs go to stderr. Otherwise stdout, written
  // asynchronously in chunks, off the step's path (bufferedDestination).
  const { default: pino } = await import('pino');
  const destination = chatMode(env) === 'console' ? pino.destination(2) : bufferedDestination(1);
  const logger = createLogger(env.LOG_LEVEL, { destination, secrets: secretValues(process.env, passphraseEnvs) });
  const app = await startApp({ env, inventory, logger });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await app.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  if (app.mode === 'console' && env.MK8S_ROLE !== 'worker') {
    await app.done;
    await stop('end of input');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`mk8s-ops: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
