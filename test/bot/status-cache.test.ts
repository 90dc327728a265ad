import { describe, expect, it } from 'vitest';
import { StatusCache } from '../../src/bot/status-cache.ts';

/** A load whose result the test hands over when it wants, counting the calls. */
function loader() {
  let calls = 0;
  let resolve: (v: string) => void = () => undefined;
  let reject: (e: Error) => void = () => undefined;
  return {
    get calls() {
      return calls;
    },
    load: () => {
      calls += 1;
      return new Promise<string>((res, rej) => {
        resolve = res;
        reject = rej;
      });
    },
    resolve: (v: string) => resolve(v),
    reject: (e: Error) => reject(e),
  };
}

describe('StatusCache: single flight, short cache', () => {
  it('one read for everyone asking at once, then the answer serves for the TTL, then a new read', async () => {
    let now = 1_000;
    const cache = new StatusCache<string>(5_000, () => now);
    const l = loader();
    const asks = [cache.get('prod', l.load), cache.get('prod', l.load), cache.get('prod', l.load)];
    expect(l.calls).toBe(1);
    l.resolve('v1');
    expect(await Promise.all(asks)).toEqual(['v1', 'v1', 'v1']);
    now += 4_999;
    expect(await cache.get('prod', l.load)).toBe('v1');
    expect(l.calls).toBe(1);
    now += 1;
    const later = cache.get('prod', l.load);
    expect(l.calls).toBe(2);
    l.resolve('v2');
    expect(await later).toBe('v2');
  });

  it('clusters do not share; a failed read is not kept', async () => {
    const cache = new StatusCache<string>(60_000);
    const a = loader();
    const b = loader();
    const pa = cache.get('prod', a.load);
    const pb = cache.get('stage', b.load);
    expect([a.calls, b.calls]).toEqual([1, 1]);
    a.reject(new Error('k8s-1 unreachable'));
    b.resolve('stage ok');
    await expect(pa).rejects.toThrow('k8s-1 unreachable');
    expect(await pb).toBe('stage ok');
    const again = cache.get('prod', a.load);
    expect(a.calls).toBe(2);
    a.resolve('prod ok');
    expect(await again).toBe('prod ok');
  });

  it('TTL 0: requests at the same time share a read, later ones read again', async () => {
    const cache = new StatusCache<string>(0);
    const l = loader();
    const both = [cache.get('prod', l.load), cache.get('prod', l.load)];
    l.resolve('v1');
    expect(await Promise.all(both)).toEqual(['v1', 'v1']);
    const next = cache.get('prod', l.load);
    expect(l.calls).toBe(2);
    l.resolve('v2');
    expect(await next).toBe('v2');
  });
});
