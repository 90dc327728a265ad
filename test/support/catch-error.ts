/** Awaits a promise that must reject with an instance of `cls`, and returns that error, typed. */
export async function rejectionOf<T extends Error>(promise: Promise<unknown>, cls: abstract new (...args: never[]) => T): Promise<T> {
  let outcome: unknown;
  try {
    await promise;
  } catch (err) {
    outcome = err;
    if (err instanceof cls) return err;
  }
  const got = outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : outcome === undefined ? 'no rejection' : JSON.stringify(outcome);
  throw new Error(`expected a ${cls.name}, got ${got}`);
}
