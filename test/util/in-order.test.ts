/** src/util/in-order.ts: reads made at once, answered as if made in order. */
import { describe, expect, it } from 'vitest';
import { allInOrder, unwrap } from '../../src/util/in-order.ts';
import { deferred } from '../support/deferred.ts';

describe('allInOrder', () => {
  it('gives every value in the order asked, whatever order they arrive in', async () => {
    const first = deferred<string>();
    const second = deferred<number>();
    const all = allInOrder([first.promise, second.promise] as const);
    second.resolve(2);
    first.resolve('one');
    expect(await all).toEqual(['one', 2]);
  });

  it('throws the first failure in the order asked, not the first to arrive, once every read settled', async () => {
    const first = deferred<string>();
    const second = deferred<string>();
    const third = deferred<string>();
    let settled = false;
    const all = allInOrder([first.promise, second.promise, third.promise]).finally(() => (settled = true));
    third.reject(new Error('third'));
    await new Promise((r) => setTimeout(r, 5));
    second.reject(new Error('second'));
    await new Promise((r) => setTimeout(r, 5));
    expect(settled).toBe(false); // the first read is still out
    first.resolve('ok');
    await expect(all).rejects.toThrow('second');
  });
});

describe('unwrap', () => {
  it('returns a fulfilled value and throws a rejection', async () => {
    const [ok, bad] = await Promise.allSettled([Promise.resolve(1), Promise.reject(new Error('no'))]);
    expect(unwrap(ok)).toBe(1);
    expect(() => unwrap(bad)).toThrow('no');
  });
});
