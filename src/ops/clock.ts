import type { RunContext } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import { allInOrder } from '../util/in-order.ts';

export interface ClockReading {
  node: string;
  /** Node clock minus the bot's clock, in seconds (the bot's clock sampled around the command). */
  offsetSeconds: number;
}

/**
 * Reads `date +%s` on each node and compares the clocks. Skew breaks
 * certificates and dqlite (the seed's NTP note), so a spread above the policy
 * stops the runbook.
 */
export async function checkClocks(run: RunContext, nodes: string[]): Promise<ClockReading[]> {
  // All nodes at once: each offset is taken against the midpoint of its own round trip.
  const readings = await allInOrder(
    nodes.map(async (node): Promise<ClockReading> => {
      const before = Date.now();
      const epoch = await run.node(node).epochSeconds();
      const after = Date.now();
      return { node, offsetSeconds: Math.round(epoch - (before + after) / 2000) };
    }),
  );
  const offsets = readings.map((r) => r.offsetSeconds);
  const spread = Math.max(...offsets) - Math.min(...offsets);
  const limit = run.cluster.policy.maxClockSkew / 1000;
  if (spread >= limit) {
    const detail = readings.map((r) => `${r.node} ${r.offsetSeconds >= 0 ? '+' : ''}${r.offsetSeconds} s`).join(', ');
    throw new RunbookFailure(`Clocks are out of sync by ${spread} s (limit ${limit} s): ${detail}. Fix NTP on the nodes first.`);
  }
  return readings;
}
