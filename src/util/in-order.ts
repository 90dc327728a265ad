/**
 * Runs independent reads at once and answers as if they had run one after the other: every
 * value, or the first failure in the order given (not the first to arrive), so a message
 * names the same problem whatever the timing. Every promise settles before this returns, so
 * no read is left running unobserved.
 */
export async function allInOrder<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled: PromiseSettledResult<unknown>[] = await Promise.allSettled(promises);
  return settled.map(unwrap) as unknown as T;
}

/** The value of a settled promise, or its failure thrown (for checks made in order after reads made at once). */
export function unwrap<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
