/** Waiting for a calico-node rollout, bounded, and checking it reached every node. */
import { readCalicoDaemonSet, readCalicoPods, waitCalicoRollout } from '../microk8s/addons.ts';
import type { RemoteShell } from '../ssh/types.ts';

/**
 * `kubectl rollout status ds/calico-node --timeout=<N>s` on the controller, then the DaemonSet
 * must name `image` and every node in `nodes` run a Ready calico-node pod of it.
 */
export async function awaitCalicoRollout(shell: RemoteShell, image: string, nodes: readonly string[], timeoutSeconds: number): Promise<string> {
  await waitCalicoRollout(shell, timeoutSeconds);
  const ds = await readCalicoDaemonSet(shell);
  if (!ds) throw new Error('the calico-node DaemonSet is gone');
  if (ds.image !== image) throw new Error(`the calico-node DaemonSet runs ${ds.image}, not ${image}`);
  const pods = await readCalicoPods(shell);
  const behind = nodes.filter((n) => !pods.some((p) => p.node === n && p.image === image && p.ready));
  if (behind.length > 0) throw new Error(`calico-node on ${behind.join(', ')} does not run a Ready ${image} pod`);
  return `${ds.updated}/${ds.desired} calico-node pods updated, ${ds.available} available; ${nodes.join(', ')} run ${image}`;
}
