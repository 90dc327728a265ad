/** checkClocks (src/ops/clock.ts): each node's `date +%s` against the bot's clock, and the skew limit. */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { checkClocks } from '../../src/ops/clock.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('checkClocks', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }], policy: { maxClockSkew: '30s' } });

  it('reads date +%s on every node asked, in order, and gives each offset from the bot clock', async () => {
    rig.sim.setClockSkew('k8s-2', 12);
    try {
      const readings = await rig.run((run) => checkClocks(run, ['k8s-1', 'k8s-2']));
      expect(readings.map((r) => r.node)).toEqual(['k8s-1', 'k8s-2']);
      expect(Math.abs(readings[0]!.offsetSeconds)).toBeLessThanOrEqual(1);
      expect(Math.abs(readings[1]!.offsetSeconds - 12)).toBeLessThanOrEqual(1);
      expect(rig.commands()).toEqual(['date +%s', 'date +%s']);
      expect(rig.commands('k8s-3')).toEqual([]);
    } finally {
      rig.sim.setClockSkew('k8s-2', 0);
    }
  });

  it('refuses a spread at or above the policy limit, naming each node with its offset', async () => {
    rig.sim.setClockSkew('k8s-3', -40);
    try {
      const err = await rejectionOf(rig.run((run) => checkClocks(run, ['k8s-1', 'k8s-2', 'k8s-3'])), RunbookFailure);
      // `date +%s` is whole seconds: each offset is ±1 s of the skew, so the spread is 39–41 s.
      expect(err.message).toMatch(/^Clocks are out of sync by (39|40|41) s \(limit 30 s\): k8s-1 [+-]\d s, k8s-2 [+-]\d s, k8s-3 -(39|40|41) s\. Fix NTP on the nodes first\.$/);
    } finally {
      rig.sim.setClockSkew('k8s-3', 0);
    }
  });
});
