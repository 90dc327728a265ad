/** Helpers of the recover-quorum end-to-end tests. */
import { expect } from 'vitest';
import type { SimCluster } from '../../src/sim/index.ts';
import { USERS, type Harness } from './harness.ts';

const { bob, carol } = USERS;

/** Commands that change a node (what a refused or dry run must never send). */
export const MUTATING = /^(microk8s (stop|start|remove-node|leave|join)|rm |cp |mv |tar -x|\/snap\/microk8s\/current\/bin\/dqlite)/;

export const text = (h: Harness, id: string) => h.thread(id).map((m) => `${m.text}\n${JSON.stringify(m.blocks)}`).join('\n');

/** Bob approves the plan gate; then the destructive gate's Approve button, once it is posted. */
export async function approvePlanThenDestructiveButton(h: Harness, id: string) {
  await h.waitState(id, 'awaiting approval', 30_000);
  expect(await h.click(bob, await h.waitButton(id, 'Approve'))).toBe(200);
  return destructiveButton(h, id);
}

/** Plan gate (bob), then the destructive gate: bob's approval is 1 of 2, carol's opens it. */
export async function approveBoth(h: Harness, id: string): Promise<void> {
  const destructive = await approvePlanThenDestructiveButton(h, id);
  expect(await h.click(bob, destructive)).toBe(200);
  await h.slack.waitFor(() => h.thread(id).find((m) => m.ts === destructive.messageTs && m.text.includes('(1 of 2 approvals)')), 10_000);
  expect(await h.click(carol, destructive)).toBe(200);
}

/** The destructive gate's Approve button, once it is posted. */
export function destructiveButton(h: Harness, id: string) {
  return h.slack.waitFor(() => {
    const msg = h.thread(id).find((m) => m.text.includes('Stop every survivor') && m.buttons.some((b) => b.label === 'Approve'));
    const b = msg?.buttons.find((x) => x.label === 'Approve');
    return b && msg ? { ...b, messageTs: msg.ts } : undefined;
  }, 30_000);
}

/** Takes `lost` down for good (SSH and dqlite). */
export async function lose(sim: SimCluster, lost: readonly string[]): Promise<void> {
  for (const n of lost) await sim.setDown(n, true);
}

