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
