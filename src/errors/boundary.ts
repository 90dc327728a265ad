/**
 * The one error boundary: what chat may show of any error.
 *
 *   user-facing (src/errors/user-facing.ts)  → its message, escaped for Slack mrkdwn
 *                                              (composed runbook messages as they are)
 *   Redis not answering (ioredis gave up, a    → StoreUnavailableError's message: nothing was done,
 *   closed connection, a replica or loading)     try again in a few seconds
 *   anything else                            → "internal error (ref err-1a2b3c4d)"; the log
 *                                              has the full error and its stack under that ref
 *
 * Used by the bot core, the worker, the engine's failed-step message and the Slack adapter,
 * and by errorText() wherever a runbook puts an error into a message. The same error object
 * keeps its ref, so it is logged once however many places show it.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { Logger } from 'pino';
import { escapeMrkdwn } from '../util/mrkdwn.ts';
import { StoreUnavailableError, UserFacingError } from './user-facing.ts';

/** Writes an internal error, with its stack, under `ref`. */
export type InternalErrorLog = (ref: string, err: unknown) => void;

export interface ShownError {
  /** Slack-safe mrkdwn for chat. */
  text: string;
  /** The same without mrkdwn escaping (for the audit stream, which escapes when it renders). */
  plain: string;
  /** Set for an internal error: the ref the log has it under. */
  ref?: string;
}

/** An internal error logged through `logger` (pino serializes `err` with its stack). */
export function logTo(logger: Pick<Logger, 'error'>): InternalErrorLog {
  return (ref, err) => logger.error({ ref, err }, `internal error ${ref}`);
}

let processLog: InternalErrorLog | undefined;

/** The log used when a caller names none (set once by the app; else pino on stderr). */
export function setInternalErrorLog(log: InternalErrorLog): void {
  processLog = log;
}

function defaultLog(): InternalErrorLog {
  processLog ??= logTo(pino({ base: { app: 'mk8s-ops' } }, pino.destination(2)));
  return processLog;
}

const refs = new WeakMap<object, string>();

export function newErrorRef(): string {
  return `err-${randomBytes(4).toString('hex')}`;
}

export function internalErrorText(ref: string): string {
  return `internal error (ref ${ref})`;
}

export function isUserFacing(err: unknown): err is UserFacingError {
  return err instanceof UserFacingError;
}

/**
 * ioredis's errors for a Redis that is not there right now: it gave up on a command after its
 * reconnect attempts, the connection was closed under the command, or the server answered that
 * it cannot serve writes yet (loading its data, a replica, no master). Not a bug of ours.
 */
function storeUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError' || err.message === 'Connection is closed.') return true;
  return err.name === 'ReplyError' && /^(LOADING|READONLY|MASTERDOWN|TRYAGAIN) /.test(err.message);
}

/** What chat may show of `err`; an internal error is logged (once) and shown as its ref. */
export function showError(err: unknown, log?: InternalErrorLog): ShownError {
  if (!(err instanceof UserFacingError) && storeUnavailable(err)) return showError(new StoreUnavailableError(err), log);
  if (err instanceof UserFacingError) {
    return { text: err.composed ? err.message : escapeMrkdwn(err.message), plain: err.message };
  }
  const key = typeof err === 'object' && err !== null ? err : undefined;
  let ref = key ? refs.get(key) : undefined;
  if (!ref) {
    ref = newErrorRef();
    if (key) refs.set(key, ref);
    try {
      (log ?? defaultLog())(ref, err);
    } catch {
      // a failing log must not turn into a second error here
    }
  }
  const text = internalErrorText(ref);
  return { text, plain: text, ref };
}

/** showError(err).text: the error as chat may show it, for putting into a message. */
export function errorText(err: unknown): string {
  return showError(err).text;
}
