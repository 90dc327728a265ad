/** The cluster-status read (src/status/cluster-status.ts) that `status` and the watch share. */
import { describe, expect, it } from 'vitest';
import { addressHost } from '../../src/status/cluster-status.ts';

describe('addressHost', () => {
  it('takes the host out of a dqlite address', () => {
    expect(addressHost('10.0.0.11:19001')).toBe('10.0.0.11');
    expect(addressHost('[fd00::10]:19001')).toBe('fd00::10');
    expect(addressHost('k8s-1')).toBe('k8s-1');
  });
});
