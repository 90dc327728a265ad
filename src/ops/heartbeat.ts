/**
 * Proof that a node's kubelet reaches the API server again after something on the node was
 * restarted. The Ready condition alone cannot show it: Kubernetes marks a node NotReady only
 * after it missed heartbeats for the node-monitor grace period (40 s by default), so a node whose
 * kubelet just lost the API still reads Ready for a while.
 *
 * The kubelet renews its Lease in `kube-node-lease` every ~10 s. This reads the lease once (the
 * baseline, read after the restart), then waits for a renewal newer than it: that renewal was
 * written after the baseline was read, hence after the restart, through whatever path the kubelet
 * now uses (on a worker: the API-server proxy). No clocks are compared.
 */
import type { RunContext } from '../engine/context.ts';
import { showError } from '../errors/boundary.ts';
import { NotReadyError } from '../microk8s/errors.ts';

export interface LeaseWait {
  /** renewTime (epoch ms, node clock) of the baseline and of the newer renewal seen. */
  baseline: number;
  renewed: number;
}

/**
 * Reads a baseline renewal of `node`'s lease from `controller` (a control-plane node; retrying
 * while the API does not answer), then waits until a newer one appears. Throws NotReadyError when
 * none comes within `timeoutMs`.
 */
export async function waitForLeaseRenewal(run: RunContext, controller: string, node: string, timeoutMs: number): Promise<LeaseWait> {
  const ops = run.node(controller);
  const deadline = Date.now() + timeoutMs;
  let pause = 100;
  let baseline: number | undefined;
  let lastError = '';
  for (;;) {
    try {
      const t = await ops.leaseRenewTime(node);
      if (baseline === undefined) baseline = t;
      else if (t > baseline) return { baseline, renewed: t };
    } catch (err) {
      lastError = showError(err).plain; // an internal error only by its ref
    }
    if (Date.now() >= deadline) {
      const why = baseline === undefined ? `its lease could not be read from ${controller} (${lastError})` : `its kubelet has not renewed its lease since ${new Date(baseline).toISOString()}`;
      throw new NotReadyError(node, `${node} did not show a kubelet heartbeat within ${Math.round(timeoutMs / 1000)} s: ${why}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(0, deadline - Date.now()))));
    pause = Math.min(pause * 2, 2_000);
  }
}
