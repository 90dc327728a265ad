/**
 * The plan that was approved is the steps that ran: for each runbook, the titles of the plan in
 * its "Approve plan" gate are, in order, the titles of the steps its thread shows (the re-check
 * after the approval is the gate's own step). A step added to a body but not to its plan — or
 * worded differently — fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECHECK_TITLE } from '../../src/engine/context.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;

/** The numbered plan lines of a gate message (renderPlan: `1. title _(on node)_ ⚠️ destructive`). */
function planTitles(blocks: unknown[]): string[] {
  const text = JSON.stringify(blocks);
  const body = JSON.parse(`"${/Plan:\\n(.*?)(?<!\\)"/.exec(text)?.[1] ?? ''}"`) as string;
  return body
    .split('\n')
    .map((l) => /^\d+\. (.*?)(?: _\(on .*\)_)?(?: ⚠️ destructive)?$/.exec(l)?.[1])
    .filter((t): t is string => t !== undefined);
}

describe('plan steps and thread steps come from one source', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ clusters: [{ name: 'prod', channel: 'C0PROD00001' }] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it.each(['cordon k8s-2', 'uncordon k8s-2', 'drain k8s-3', 'hold k8s-2 24h', 'unhold k8s-2', 'backup', 'inspect k8s-1', 'upgrade k8s-1 1.23/stable', 'verify', 'failure-domain k8s-3 2', 'remove-node k8s-3'])('%s', async (command) => {
    const r = await h.command(alice, command);
    expect(r.jobId, r.text).toBeDefined();
    const id = r.jobId!;
    let plan: string[] = [];
    if (!command.startsWith('inspect')) {
      const gate = await h.slack.waitFor(() => h.thread(id).find((m) => m.buttons.some((b) => b.label === 'Approve')), 30_000);
      plan = planTitles(gate.blocks);
      await h.click(bob, await h.waitButton(id, 'Approve'));
    }
    await h.waitState(id, 'succeeded', 60_000);
    const job = await h.app.queue.get(id);
    const steps = Object.entries(job!.data.steps)
      .toSorted(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1)))
      .map(([, s]) => s.title)
      .filter((t) => t !== RECHECK_TITLE);
    if (command.startsWith('inspect')) {
      // no plan gate (it changes nothing): compare with its dry run
      const dry = await h.command(alice, `${command} --dry-run`);
      plan = planTitles(JSON.parse(dry.full.slice(dry.full.indexOf('\n[') + 1)) as unknown[]);
    }
    expect(plan.length).toBeGreaterThan(0);
    expect(steps).toEqual(plan);
  });
});
