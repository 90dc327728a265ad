import type { Button } from '../chat/port.ts';
import type { ChatState } from './job-data.ts';

/** The runbook stops cleanly without failing: rejected, expired, cancelled, or the plan no longer holds. */
export class StopRunbook extends Error {
  override name = 'StopRunbook';
  constructor(
    readonly state: Extract<ChatState, 'rejected' | 'expired' | 'cancelled' | 'failed'>,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A failure the runbook explains to people: what went wrong, in words, and the
 * next safe actions offered as buttons (retry, roll back, uncordon).
 */
export class RunbookFailure extends Error {
  override name = 'RunbookFailure';
  constructor(
    message: string,
    readonly offers: Button[] = [],
  ) {
    super(message);
  }
}

/** A step that failed in an earlier activation, replayed as the same failure. */
export class ReplayedStepError extends Error {
  override name = 'ReplayedStepError';
}

/** A runbook asked for something that breaks determinism on replay (a step's title changed). */
export class ReplayMismatchError extends Error {
  override name = 'ReplayMismatchError';
}
