/** Helpers shared by the end-to-end tests that drive the bot through Slack against the simulator. */
import { expect } from 'vitest';
import type { SimCommandRecord, SimNodeSpec } from '../../src/sim/index.ts';
import { USERS, type Harness } from './harness.ts';

/** Control-plane nodes k8s-1 … k8s-<count> (a cluster shape), each with `spec`'s settings. */
export function controlPlanes(count: number, spec: Omit<SimNodeSpec, 'name' | 'role'> = {}): SimNodeSpec[] {
  return Array.from({ length: count }, (_, i) => ({ name: `k8s-${i + 1}`, ...spec }));
}

/** Worker nodes w1 … w<count> (a cluster shape), each with `spec`'s settings. */
export function workers(count: number, spec: Omit<SimNodeSpec, 'name' | 'role'> = {}): SimNodeSpec[] {
  return Array.from({ length: count }, (_, i) => ({ name: `w${i + 1}`, role: 'worker', ...spec }));
}

/** The command's words without the `sudo -n --` prefix. */
export function words(c: SimCommandRecord): string {
  return c.argv.filter((w, i) => !(i < 3 && (w === 'sudo' || w === '-n' || w === '--'))).join(' ');
}

/** bob clicks the job's newest Approve button (waiting for it); then the job must reach `state` within 30 s. */
export async function approveGate(h: Harness, jobId: string, state = 'succeeded'): Promise<void> {
  expect(await h.click(USERS.bob, await h.waitButton(jobId, 'Approve'))).toBe(200);
  await h.waitState(jobId, state, 30_000);
}

/** Runs a mutating request (alice) through its plan approval (bob approves) to `state`; returns the job id. */
export async function requestApproved(h: Harness, text: string, state = 'succeeded'): Promise<string> {
  const { jobId, text: ack } = await h.command(USERS.alice, text);
  expect(ack).toMatch(/^Queued as job \d+/);
  await h.waitState(jobId!, 'awaiting approval');
  await approveGate(h, jobId!, state);
  return jobId!;
}

/** alice sends each request; each is answered (200) with a refusal matching its pattern, and none is queued. */
export async function expectRefused(h: Harness, cases: ReadonlyArray<readonly [string, RegExp]>): Promise<void> {
  for (const [text, expected] of cases) {
    const answer = await h.command(USERS.alice, text);
    expect(answer.status, text).toBe(200);
    expect(answer.jobId, text).toBeUndefined();
    expect(answer.text, text).toMatch(expected);
  }
}
