/** src/util/single-flight.ts: concurrent identical reads share one; nothing is kept once it settled. */
import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../src/util/single-flight.ts';
import { deferred } from '../support/deferred.ts';

describe('SingleFlight', () => {
  it('gives concurrent callers of one key the same read, other keys their own', async () => {
    const flight = new SingleFlight<string>();
    let reads = 0;
    const { promise: gate, resolve: release } = deferred();
    const read = (v: string) => async () => {
      reads++;
      await gate;
      return v;
    };
    const a = flight.get('prod', read('a'));
    const b = flight.get('prod', read('b'));
    const c = flight.get('stage', read('c'));
    release();
    expect(await Promise.all([a, b, c])).toEqual(['a', 'a', 'c']);
    expect(reads).toBe(2);
  });

  it('reads afresh once the read settled, a failed one included', async () => {
    const flight = new SingleFlight<number>();
    let n = 0;
    await expect(flight.get('k', async () => Promise.reject(new Error(`read ${++n} failed`)))).rejects.toThrow('read 1 failed');
    expect(await flight.get('k', async () => ++n)).toBe(2);
    expect(await flight.get('k', async () => ++n)).toBe(3);
  });
});
