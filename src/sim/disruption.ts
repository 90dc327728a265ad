/**
 * PodDisruptionBudgets in the simulated cluster: pods a budget covers refuse eviction
 * (429 from the eviction API), so `kubectl drain` retries them every 5 s and, with a
 * `--timeout`, gives up with kubectl's own messages:
 *
 *   error when evicting pods/"web-0" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.
 *   …
 *   There are pending pods in node "k8s-1" when an error occurred: error when evicting pods/"web-0" -n "default": global timeout reached: 2s
 *   pod/web-0
 *   error: unable to drain node "k8s-1" due to error:error when evicting pods/"web-0" -n "default": global timeout reached: 2s, continuing command...
 *   There are pending nodes to be drained:
 *    k8s-1
 *   error when evicting pods/"web-0" -n "default": global timeout reached: 2s
 *
 * Budgets are kept beside the SimState (tests add and remove them); lifting a budget while
 * a drain retries lets that drain finish.
 */
import { formatGoDuration, type CommandContext, type CommandResult } from './context.ts';
import type { SimPod, SimState } from './state.ts';

export interface SimDisruptionBudget {
  namespace: string;
  name: string;
  /** Pods whose labels include all of these are covered. */
  matchLabels: Record<string, string>;
  /** How often drain retries a refused eviction in the simulator (kubectl: 5 s; tests use less). The text still says 5s. */
  retryMs?: number;
}

const budgets = new WeakMap<SimState, SimDisruptionBudget[]>();

function list(state: SimState): SimDisruptionBudget[] {
  let l = budgets.get(state);
  if (!l) {
    l = [];
    budgets.set(state, l);
  }
  return l;
}

/** Adds a budget that allows no disruption (like `maxUnavailable: 0`). */
export function addDisruptionBudget(state: SimState, budget: SimDisruptionBudget): void {
  removeDisruptionBudget(state, budget.name, budget.namespace);
  list(state).push({ ...budget, matchLabels: { ...budget.matchLabels } });
}

export function removeDisruptionBudget(state: SimState, name: string, namespace = 'default'): void {
  const l = list(state);
  const i = l.findIndex((b) => b.name === name && b.namespace === namespace);
  if (i >= 0) l.splice(i, 1);
}

export function disruptionBudgets(state: SimState): readonly SimDisruptionBudget[] {
  return list(state);
}

/** A budget covers this pod: evicting it is refused. */
export function evictionRefused(state: SimState, pod: SimPod): boolean {
  return list(state).some((b) => b.namespace === pod.namespace && Object.entries(b.matchLabels).every(([k, v]) => pod.labels[k] === v));
}

const RETRY_MS = 5_000;

function retryAfter(state: SimState, pod: SimPod): number {
  const b = list(state).find((x) => x.namespace === pod.namespace && Object.entries(x.matchLabels).every(([k, v]) => pod.labels[k] === v));
  return b?.retryMs ?? RETRY_MS;
}
const POLL_MS = 10;

function aggregate(errors: string[]): string {
  return errors.length === 1 ? (errors[0] ?? '') : `[${errors.join(', ')}]`;
}

/**
 * The eviction phase of a drain when a budget covers any of `toEvict` (undefined when none
 * is covered: the ordinary drain goes on). Returns everything the drain prints after its
 * `evicting pod …` lines, and its exit code.
 */
export async function evictWithBudgets(ctx: CommandContext, nodeName: string, toEvict: SimPod[], timeoutMs: number): Promise<CommandResult | undefined> {
  const { state } = ctx;
  if (!toEvict.some((p) => evictionRefused(state, p))) return undefined;
  let stdout = '';
  let stderr = '';
  const started = Date.now();
  const deadline = timeoutMs > 0 ? started + timeoutMs : Infinity;
  // The others go as usual.
  const free = toEvict.filter((p) => !evictionRefused(state, p));
  let blocked = toEvict.filter((p) => evictionRefused(state, p));
  const nextTry = new Map<SimPod, number>(blocked.map((p) => [p, started]));
  let freeDone = free.length === 0;
  const freeAt = started + ctx.latency.drainMs;
  for (;;) {
    const now = Date.now();
    if (!freeDone && now >= freeAt) {
      for (const pod of free) {
        if (state.pods.includes(pod)) state.evict(pod);
        stdout += `pod/${pod.name} evicted\n`;
      }
      freeDone = true;
    }
    for (const pod of blocked) {
      if ((nextTry.get(pod) ?? 0) > now) continue;
      if (!evictionRefused(state, pod)) {
        if (state.pods.includes(pod)) state.evict(pod);
        stdout += `pod/${pod.name} evicted\n`;
        nextTry.delete(pod);
        continue;
      }
      stderr += `error when evicting pods/"${pod.name}" -n "${pod.namespace}" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n`;
      nextTry.set(pod, now + retryAfter(state, pod));
    }
    blocked = blocked.filter((p) => nextTry.has(p));
    if (blocked.length === 0 && freeDone) {
      state.reconcile();
      return { stdout: `${stdout}node/${nodeName} drained\n`, stderr, code: 0 };
    }
    if (Date.now() >= deadline) {
      if (!freeDone) {
        for (const pod of free) {
          if (state.pods.includes(pod)) state.evict(pod);
          stdout += `pod/${pod.name} evicted\n`;
        }
      }
      const agg = aggregate(blocked.map((p) => `error when evicting pods/"${p.name}" -n "${p.namespace}": global timeout reached: ${formatGoDuration(timeoutMs)}`));
      stderr += `There are pending pods in node "${nodeName}" when an error occurred: ${agg}\n${blocked.map((p) => `pod/${p.name}\n`).join('')}`;
      stderr += `error: unable to drain node "${nodeName}" due to error:${agg}, continuing command...\nThere are pending nodes to be drained:\n ${nodeName}\n${agg}\n`;
      state.reconcile();
      return { stdout, stderr, code: 1 };
    }
    // A client that went away leaves kubectl retrying forever (no --timeout): stop with it.
    if (ctx.signal.aborted && timeoutMs === 0) return { stdout, stderr, code: 1 };
    await ctx.sleep(Math.max(1, Math.min(POLL_MS, deadline - Date.now())));
  }
}
