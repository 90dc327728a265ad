/**
 * A short per-cluster cache for `status` reads, with single flight: however many people ask
 * at once, one SSH read per cluster runs, and its answer serves everyone for `ttlMs`
 * (MK8S_STATUS_CACHE_MS; 0 keeps the single flight but caches nothing). A failed read is
 * not kept.
 */
export class StatusCache<T> {
  private readonly entries = new Map<string, { value: Promise<T>; settledAt?: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && (hit.settledAt === undefined || this.now() - hit.settledAt < this.ttlMs)) return hit.value;
    const entry: { value: Promise<T>; settledAt?: number } = { value: Promise.resolve() as Promise<never> };
    entry.value = load().then(
      (v) => {
        entry.settledAt = this.now();
        if (this.ttlMs <= 0 && this.entries.get(key) === entry) this.entries.delete(key);
        return v;
      },
      (err: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw err;
      },
    );
    this.entries.set(key, entry);
    return entry.value;
  }
}
