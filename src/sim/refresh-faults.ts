/**
 * Per-node faults of `snap refresh microk8s` that change the node's state the way the real
 * failure does (unlike a canned failure from the fault table):
 *
 * - A configure hook that fails: snapd undoes the change, so the node keeps its old
 *   revision and channel (its services restart on it), and the command fails with
 *       error: cannot perform the following tasks:
 *       - Run configure hook of "microk8s" snap if present (run hook "configure": <output>)
 * - A node that comes back NotReady after a refresh (its kubelet never reports Ready on
 *   the new revision) until the test clears it, or a `snap revert` returns it to the old one.
 */
import { fail, type CommandContext, type CommandResult } from './context.ts';
import type { SimNode } from './node.ts';

interface RefreshFaults {
  hookFailures: number;
  hookOutput: string;
  notReadyAfterRefresh: boolean;
  /** The NotReady was caused by this fault (a revert heals it). */
  madeNotReady: boolean;
}

const table = new WeakMap<SimNode, RefreshFaults>();

function faultsOf(node: SimNode): RefreshFaults {
  let f = table.get(node);
  if (!f) {
    f = { hookFailures: 0, hookOutput: '', notReadyAfterRefresh: false, madeNotReady: false };
    table.set(node, f);
  }
  return f;
}

/** The next `times` refreshes of this node to a new revision fail in the configure hook. */
export function failConfigureHook(node: SimNode, options: { times?: number; output?: string } = {}): void {
  const f = faultsOf(node);
  f.hookFailures = options.times ?? 1;
  f.hookOutput = options.output ?? 'Job for snap.microk8s.daemon-kubelite.service failed because the control process exited with error code.';
}

/** While on, a refresh to a new revision leaves the node NotReady (until cleared or reverted). */
export function setNotReadyAfterRefresh(node: SimNode, on: boolean): void {
  faultsOf(node).notReadyAfterRefresh = on;
}

/**
 * Called by `snap refresh` before it switches to the new revision: a pending configure-hook
 * failure is consumed, the change is undone (services restart on the old revision) and the
 * error is returned.
 */
export function configureHookFailure(ctx: CommandContext): CommandResult | undefined {
  const f = table.get(ctx.node);
  if (!f || f.hookFailures <= 0) return undefined;
  f.hookFailures -= 1;
  ctx.node.restartingUntil = ctx.state.now() + ctx.latency.restartMs;
  ctx.state.reconcile();
  return fail(1, `error: cannot perform the following tasks:\n- Run configure hook of "microk8s" snap if present (run hook "configure": ${f.hookOutput})\n`);
}

/** Called by `snap refresh` once the node runs the new revision. */
export function afterRevisionChange(node: SimNode): void {
  const f = table.get(node);
  if (!f?.notReadyAfterRefresh) return;
  node.ready = false;
  f.madeNotReady = true;
}

/** Called by `snap revert`: the old revision's kubelet is healthy again. */
export function afterRevert(node: SimNode): void {
  const f = table.get(node);
  if (!f?.madeNotReady) return;
  node.ready = true;
  f.madeNotReady = false;
}
