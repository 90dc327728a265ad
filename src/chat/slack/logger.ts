/**
 * Bolt/WebClient/SocketMode log through pino, with secrets scrubbed.
 *
 * pino's `redact` only touches object keys; the Slack libraries log strings.
 * So every string that reaches pino from here goes through a scrubber that
 * removes the configured secrets verbatim, anything shaped like a Slack token
 * (xoxb-…, xapp-…) and the `ticket=` of a Socket Mode URL.
 */
import { LogLevel } from '@slack/bolt';
import type { Logger as BoltLogger } from '@slack/bolt';
import type { Logger as PinoLogger } from 'pino';

export const REDACTED = '[REDACTED]';

export type Scrub = (s: string) => string;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Builds a scrubber for the given secrets (empty and very short values are ignored). */
export function secretScrubber(secrets: ReadonlyArray<string | undefined>): Scrub {
  const exact = secrets
    .filter((s): s is string => typeof s === 'string' && s.length >= 6)
    .toSorted((a, b) => b.length - a.length)
    .map(escapeRegExp);
  const patterns: RegExp[] = [];
  if (exact.length > 0) patterns.push(new RegExp(exact.join('|'), 'g'));
  patterns.push(/\bxox[a-z]-[A-Za-z0-9-]+/g, /\bxapp-[A-Za-z0-9-]+/g);
  return (s: string) => {
    let out = s;
    for (const p of patterns) out = out.replace(p, REDACTED);
    return out.replace(/ticket=[^&\s"'\\]+/g, `ticket=${REDACTED}`);
  };
}

/** Reads `value.a.b…` from something of unknown shape (an error's `data.error`, say). */
export function field(value: unknown, ...path: string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = Reflect.get(current, key);
  }
  return current;
}

/** A plain, scrubbed description of an error, safe for logs (no token in message or stack). */
export function errorInfo(err: unknown, scrub: Scrub): { type: string; message: string; code?: string; stack?: string } {
  if (err instanceof Error) {
    const code = field(err, 'code');
    return {
      type: err.name,
      message: scrub(err.message),
      ...(typeof code === 'string' ? { code } : {}),
      ...(err.stack ? { stack: scrub(err.stack) } : {}),
    };
  }
  return { type: typeof err, message: scrub(String(err)) };
}

function describe(part: unknown, scrub: Scrub): string {
  if (typeof part === 'string') return scrub(part);
  if (part instanceof Error) return scrub(`${part.name}: ${part.message}`);
  try {
    return scrub(JSON.stringify(part) ?? String(part));
  } catch {
    return scrub(String(part));
  }
}

function boltLevelOf(pino: PinoLogger): LogLevel {
  switch (pino.level) {
    case 'trace':
    case 'debug':
      return LogLevel.DEBUG;
    case 'info':
      return LogLevel.INFO;
    case 'warn':
      return LogLevel.WARN;
    default:
      return LogLevel.ERROR;
  }
}

/**
 * Adapts a pino logger to the `Logger` interface of @slack/logger (used by Bolt,
 * WebClient and the Socket Mode client). The level stays pino's: `setLevel` is ignored.
 */
export function boltLogger(pino: PinoLogger, scrub: Scrub): BoltLogger {
  let name = 'slack';
  const emit = (level: 'debug' | 'info' | 'warn' | 'error', msg: unknown[]) => {
    if (!pino.isLevelEnabled(level)) return;
    const err = msg.find((m): m is Error => m instanceof Error);
    const text = msg.map((m) => describe(m, scrub)).join(' ');
    pino[level]({ component: name, ...(err ? { err: errorInfo(err, scrub) } : {}) }, text);
  };
  return {
    debug: (...msg: unknown[]) => emit('debug', msg),
    info: (...msg: unknown[]) => emit('info', msg),
    warn: (...msg: unknown[]) => emit('warn', msg),
    error: (...msg: unknown[]) => emit('error', msg),
    setLevel: () => {},
    getLevel: () => boltLevelOf(pino),
    setName: (n: string) => {
      name = n;
    },
  };
}
