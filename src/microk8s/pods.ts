/**
 * `microk8s kubectl get pods`: every pod, or those of one node. A node's pods are asked with
 * `--field-selector spec.nodeName=<node>` (the API server filters: on a cluster of thousands of
 * pods the whole list is tens of MB, past the SSH layer's 4 MiB cap on a command's output), and
 * still filtered here. Where the selector is refused or its answer cannot be read (a kubectl or
 * an emulation without it), the whole list is read instead, as it was before; so it is when the
 * answer is empty — a node nearly always runs a DaemonSet's pod (calico-node), and a check that
 * "no workload pods are left" must not pass on a selector that was quietly not understood.
 * Only a refusal or an unreadable answer falls back: a command that timed out or lost its
 * connection is thrown as it is (the whole list would wait out a second timeout on a hung node).
 */
import { CommandFailedError, OutputParseError } from '../errors/user-facing.ts';
import type { RemoteShell } from '../ssh/types.ts';
import { parsePods } from './parse-kubectl.ts';
import type { KubePod } from './types.ts';
import { assertNodeName } from './validate.ts';

const GET_PODS = ['microk8s', 'kubectl', 'get', 'pods', '-A', '-o', 'json'] as const;

export async function listPods(shell: RemoteShell, node?: string): Promise<KubePod[]> {
  if (node === undefined) return parsePods((await shell.exec(GET_PODS, { privileged: true })).stdout);
  assertNodeName(node);
  const onNode = (pods: KubePod[]) => pods.filter((p) => p.node === node);
  let selected: KubePod[] | undefined;
  try {
    selected = onNode(parsePods((await shell.exec([...GET_PODS, '--field-selector', `spec.nodeName=${node}`], { privileged: true })).stdout));
  } catch (err) {
    if (!(err instanceof CommandFailedError) && !(err instanceof OutputParseError)) throw err;
    selected = undefined;
  }
  if (selected !== undefined && selected.length > 0) return selected;
  return onNode(parsePods((await shell.exec(GET_PODS, { privileged: true })).stdout));
}
