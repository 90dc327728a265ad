/**
 * The +switch-master message that switchover.ts acts on: the new master's address, only for
 * this master's name and a well-formed message. (The reconnect itself: test/e2e/redis-failover.)
 */
import { describe, expect, it } from 'vitest';
import { switchedTo } from '../../src/queue/switchover.ts';

describe('switchedTo', () => {
  it("reads the new master's address of our master", () => {
    expect(switchedTo('mk8s', 'mk8s 10.0.0.1 6379 10.0.0.2 6380')).toEqual({ host: '10.0.0.2', port: 6380 });
  });

  it("ignores another master's switch and anything malformed", () => {
    expect(switchedTo('mk8s', 'other 10.0.0.1 6379 10.0.0.2 6380')).toBeUndefined();
    expect(switchedTo('mk8s', 'mk8s 10.0.0.1 6379 10.0.0.2')).toBeUndefined();
    expect(switchedTo('mk8s', 'mk8s 10.0.0.1 6379 10.0.0.2 port')).toBeUndefined();
    expect(switchedTo('mk8s', 'mk8s 10.0.0.1 6379 10.0.0.2 70000')).toBeUndefined();
    expect(switchedTo('mk8s', '')).toBeUndefined();
  });
});
