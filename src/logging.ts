import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths pino censors wherever they appear in a log object. Secrets must not be
 * logged at all; this is the second line of defence.
 */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'signingSecret',
  '*.signingSecret',
  'passphrase',
  '*.passphrase',
  'privateKey',
  '*.privateKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  '*.SLACK_BOT_TOKEN',
  '*.SLACK_SIGNING_SECRET',
  '*.SLACK_APP_TOKEN',
  // Redis: connection options, and the AUTH arguments ioredis puts on a reply error (err.command.args).
  'password',
  '*.password',
  'sentinelPassword',
  '*.sentinelPassword',
  'REDIS_URL',
  '*.REDIS_URL',
  'REDIS_SENTINEL_PASSWORD',
  '*.REDIS_SENTINEL_PASSWORD',
  'err.command.args',
  '*.err.command.args',
  'command.args',
];

/**
 * A pino logger that censors secret fields by path and, as a last line, any
 * known secret value (tokens, passphrases) anywhere in the written line —
 * pino's redaction does not look inside message strings or error texts.
 */
export function createLogger(level: string, options: { destination?: DestinationStream; secrets?: (string | undefined)[] } = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s): s is string => typeof s === 'string' && s.length >= 6);
  const config = {
    level,
    base: { app: 'mk8s-ops' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: {
      streamWrite: (line: string) => secrets.reduce((out, secret) => out.split(secret).join('[redacted]'), line),
    },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** The longest a line waits in the log buffer (bufferedDestination). */
const LOG_FLUSH_MS = 100;

/**
 * A log destination on `fd` for a busy process: written asynchronously and in chunks (up to
 * 4 KiB) instead of one write per line — with one line per command, per-line writes were a
 * tenth of a worker's CPU in a fleet rollout. A line waits at most LOG_FLUSH_MS; whatever is
 * buffered is written synchronously when the process exits (pino's exit hook). A SIGKILL loses
 * what was not written yet.
 */
export function bufferedDestination(fd: number): DestinationStream {
  const boom = pino.destination({ dest: fd, sync: false, minLength: 4096 });
  let unflushed = false;
  setInterval(() => {
    if (!unflushed) return;
    unflushed = false;
    boom.flush();
  }, LOG_FLUSH_MS).unref();
  return {
    write(line: string) {
      unflushed = true;
      boom.write(line);
    },
  };
}

/** The secret values in the environment, for createLogger's last-line scrub: tokens, passphrases, Redis passwords. */
export function secretValues(env: NodeJS.ProcessEnv, passphraseEnvs: string[] = []): string[] {
  const names = ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'REDIS_SENTINEL_PASSWORD', ...passphraseEnvs];
  const values = names.map((n) => env[n]);
  values.push(...redisUrlPassword(env.REDIS_URL));
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length > 0))];
}

/** The password in a redis:// URL, raw and percent-decoded (either form could end up in a line). */
function redisUrlPassword(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const raw = new URL(url).password;
    return raw ? [raw, decodeURIComponentSafe(raw)] : [];
  } catch {
    return [];
  }
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
