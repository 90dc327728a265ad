/**
 * Concurrent identical reads share one: while a read of `key` is in flight, every caller asking
 * for the same key gets its promise; once it settles the next caller reads afresh (nothing is
 * cached). A burst of the same question — forty `jobs` in one channel — costs one read, and each
 * answer is at most one read old.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  get(key: string, read: () => Promise<T>): Promise<T> {
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const p = read().finally(() => {
      if (this.inFlight.get(key) === p) this.inFlight.delete(key);
    });
    this.inFlight.set(key, p);
    return p;
  }
}
