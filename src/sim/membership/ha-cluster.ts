/**
 * `microk8s enable ha-cluster` on the simulated hosts (../membership.ts), the one add-on that
 * changes membership: an old-style cluster's node gets a dqlite datastore (a voter) and restarts;
 * the workers joined to it the old way must leave and join again.
 */
import { minorOf } from '../catalogue.ts';
import { fail, type CommandContext, type CommandResult } from '../context.ts';
import { lacksPermission, permissionText } from '../microk8s.ts';

export async function enable(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const node = ctx.node;
  const minor = minorOf(node.version);
  const addons = args.filter((a) => !a.startsWith('-'));
  if (addons.length === 0) return fail(2, "Usage: microk8s enable [OPTIONS] ADDONS...\nTry 'microk8s enable -h' for help.\n\nError: Missing argument 'ADDONS...'.\n");
  const wanted = addons[0]?.replace(/^core\//, '');
  if (wanted !== 'ha-cluster' || addons.length > 1) return fail(1, `mk8s-sim: \`microk8s enable ${addons.join(' ')}\` is not simulated (only ha-cluster)\n`);
  if (node.role === 'worker') return { stdout: 'This MicroK8s deployment is acting as a node in a cluster.\nPlease use the master node.\n', stderr: '', code: 1 };
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  if (node.stopped) return fail(1, 'microk8s is not running, try microk8s start\n');
  const infer = minor >= 24 ? 'Infer repository core for addon ha-cluster\n' : '';
  const state = ctx.state;
  if (state.addons.has('ha-cluster')) {
    return { stdout: minor >= 24 ? 'Addon core/ha-cluster is already enabled\n' : 'Addon ha-cluster is already enabled.\n', stderr: infer, code: 0 };
  }
  const readyNodes = state.nodeList().filter((n) => state.isReady(n)).length;
  await ctx.sleep(ctx.latency.restartMs);
  state.addons.add('ha-cluster');
  node.dqliteRole = 'voter';
  node.restartingUntil = state.now() + ctx.latency.restartMs;
  state.bump();
  state.reconcile();
  let out =
    'Enabling HA\nUpgrading the network CNI\nWaiting for the cluster to restart\nWaiting for the CNI to deploy\ndaemon set "calico-node" successfully rolled out\ndeployment "calico-kube-controllers" successfully rolled out\nConfiguring the datastore\nWaiting for the cluster to start with the new datastore\n\nThe node is now HA ready. Join three or more nodes to form an HA cluster.\n\n';
  if (readyNodes >= 2) out += 'The worker nodes already joined to this master need to be removed them and re-joined.\n';
  return { stdout: out, stderr: infer, code: 0 };
}
