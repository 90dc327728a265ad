/** Waiting for a calico-node rollout, bounded, and checking it reached every node. */
import type { RunContext } from '../engine/context.ts';
import { CheckFailedError } from '../errors/user-facing.ts';

/**
 * `kubectl rollout status ds/calico-node --timeout=<N>s` on the controller, then the DaemonSet
 * must name `image` and every node in `nodes` run a Ready calico-node pod of it.
 */
export async function awaitCalicoRollout(run: RunContext, controller: string, image: string, nodes: readonly string[], timeoutSeconds: number): Promise<string> {
  const addons = run.node(controller).addons;
  await addons.waitCalicoRollout(timeoutSeconds);
  const ds = await addons.calicoDaemonSet();
  if (!ds) throw new CheckFailedError('the calico-node DaemonSet is gone');
  if (ds.image !== image) throw new CheckFailedError(`the calico-node DaemonSet runs ${ds.image}, not ${image}`);
  const pods = await addons.calicoPods();
  const behind = nodes.filter((n) => !pods.some((p) => p.node === n && p.image === image && p.ready));
  if (behind.length > 0) throw new CheckFailedError(`calico-node on ${behind.join(', ')} does not run a Ready ${image} pod`);
  return `${ds.updated}/${ds.desired} calico-node pods updated, ${ds.available} available; ${nodes.join(', ')} run ${image}`;
}
