import type { Clock } from '../../src/schedule/clock.ts';

/**
 * A clock a test moves by hand: `set` and `advance` jump it and tell the app
 * (parked jobs whose window or start is due are woken at once). Nothing waits for real time.
 */
export class FakeClock implements Clock {
  private listeners = new Set<() => void>();
  constructor(private ms: number) {}

  now(): number {
    return this.ms;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(iso: string | number): void {
    this.ms = typeof iso === 'number' ? iso : Date.parse(iso);
    for (const l of this.listeners) l();
  }

  advance(ms: number): void {
    this.set(this.ms + ms);
  }
}
