/**
 * The time the bot plans by: maintenance windows, scheduled starts, gate expiry, the
 * watch's "NotReady for longer than". Production uses the system clock; tests inject
 * a clock they move by hand (test/support/fake-clock.ts), so no test waits for a
 * window to open. `onChange` tells the worker that time jumped (the fake clock does;
 * the system clock never calls it — there BullMQ's delays fire on their own).
 */
export interface Clock {
  now(): number;
  /** Called after the clock jumped; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  onChange: () => () => undefined,
};

/** The real epoch ms at which `at` (in `clock`'s time) comes: what BullMQ's delays are measured in. */
export function realTime(clock: Clock, at: number): number {
  return Date.now() + Math.max(0, at - clock.now());
}
