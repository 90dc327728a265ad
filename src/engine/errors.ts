/** The runbook errors live with the other user-facing errors (src/errors/user-facing.ts). */
export { ReplayedStepError, RunbookFailure, StopRunbook } from '../errors/user-facing.ts';

/** A runbook asked for something that breaks determinism on replay (a step's title changed). Internal. */
export class ReplayMismatchError extends Error {
  override name = 'ReplayMismatchError';
}
