/**
 * `microk8s leave` and `remove-node [--force]` on the simulated hosts (../membership.ts): leave
 * refuses on the only voter (exit 3) and fails without quorum; a legacy (pre-1.19) node resets
 * its etcd lock; remove-node deletes the Node object and, with `--force`, the dqlite entry.
 */
import { minorOf } from '../catalogue.ts';
import { fail, ok, type CommandContext, type CommandResult } from '../context.ts';
import { lacksPermission, permissionText } from '../microk8s.ts';
import { cutOff, deleteNodeObject, detach, rebalance } from './roles.ts';
import { ctxMain, world } from './world.ts';

const ONLY_VOTER =
  "This node currently holds the only copy of the Kubernetes database so it cannot leave the cluster.\nTo remove this node you can either first remove all other nodes with 'microk8s remove-node' or\nform a highly available cluster by adding at least three nodes.\n";

export async function leave(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const node = ctx.node;
  const minor = minorOf(node.version);
  if (node.stopped) return fail(1, 'microk8s is not running, try microk8s start\n');
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  if (args.some((a) => a === '-h' || a === '--help')) {
    return ok('Usage: microk8s leave [OPTIONS]\n\n  The node will depart from the cluster it is in.\n\nOptions:\n  -h, --help  Show this message and exit.\n');
  }
  const main = ctxMain(ctx);
  const w = world(main);
  const me = w.host(node);
  const restart = async (): Promise<void> => {
    await ctx.sleep(ctx.latency.restartMs);
    node.restartingUntil = ctx.state.now() + ctx.latency.restartMs;
  };
  const standard = 'Generating new cluster certificates.\nWaiting for node to start. .  \n';
  if (me.view && me.view.nodeList().length === 1) {
    // not in a cluster: 1.28+ says so; before, the dqlite reset runs on the single node
    if (minor >= 28 || !me.view.addons.has('ha-cluster')) return { stdout: 'This MicroK8s deployment is not acting as a node in a cluster.\n', stderr: '', code: 1 };
    await restart();
    return ok(standard);
  }
  const home = me.view ?? main;
  if (me.legacy) {
    // reset_current_etcd_installation: the lock and certificates go, MicroK8s restarts on its own
    await restart();
    detach(w, node, home, false);
    return ok('Stopped.\nStarted.\n');
  }
  if (node.role === 'worker') {
    await restart();
    detach(w, node, home, true);
    return ok(`Configuring services.\n${standard}`);
  }
  const voters = home.nodeList().filter((n) => n.dqliteRole === 'voter' && home.machines.get(n.name) === n);
  const members = home.nodeList().filter((n) => n.dqliteRole !== undefined && home.machines.get(n.name) === n);
  if (voters.length === 1 && voters[0] === node && members.length > 1) return { stdout: ONLY_VOTER, stderr: '', code: 3 };
  await ctx.sleep(ctx.latency.restartMs);
  if (!home.hasQuorum()) {
    const other = members.find((m) => m !== node);
    const b = `/var/snap/microk8s/${node.revision}/var/kubernetes/backend`;
    return {
      stdout: `Contacting node ${other?.dqliteAddress ?? '127.0.0.1:19001'} failed. Error:\nCalledProcessError(1, ['/snap/microk8s/${node.revision}/bin/dqlite', '-s', 'file://${b}/cluster.yaml', '-c', '${b}/cluster.crt', '-k', '${b}/cluster.key', '-f', 'json', 'k8s', '.remove ${node.dqliteAddress}'])\n`,
      stderr: 'Error: remove node: context deadline exceeded\n',
      code: 2,
    };
  }
  detach(w, node, home, true);
  node.restartingUntil = ctx.state.now() + ctx.latency.restartMs;
  return ok(standard);
}

export async function removeNode(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const node = ctx.node;
  const minor = minorOf(node.version);
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  if (node.role === 'worker') return { stdout: 'This MicroK8s deployment is acting as a node in a cluster. Please use microk8s leave.\n', stderr: '', code: 1 };
  if (args.length === 0) return { stdout: 'Please provide the node you want to remove.\n', stderr: '', code: 1 };
  const state = ctx.state;
  const ha = state.addons.has('ha-cluster');
  if (ha && args.length === 2 && args[1] !== '--force') return { stdout: 'Please provide the node and the optional --force flag.\n', stderr: '', code: 1 };
  const force = args.slice(1).includes('--force');
  const given = args[0] ?? '';
  const w = world(ctxMain(ctx));
  await ctx.sleep(ctx.latency.defaultMs);
  if (!node.servicesRunning || !state.hasQuorum()) {
    return { stdout: '', stderr: 'The connection to the server 127.0.0.1:16443 was refused - did you specify the right host or port?\n', code: 1 };
  }
  const byIp = state.nodeList().find((n) => n.ip === given);
  const name = byIp?.name ?? given;
  const target = state.nodes.get(name);
  if (!ha) {
    if (!target) return { stdout: `Node ${name} does not exist.\n`, stderr: '', code: 1 };
    deleteNodeObject(state, name);
    return ok();
  }
  const members = state.nodeList().filter((n) => n.dqliteRole !== undefined && state.machines.get(n.name) === n && n !== node);
  if (!target) {
    let out = `Node ${name} does not exist in Kubernetes.\n`;
    if (force) {
      out += `Attempting to remove ${name} from dqlite.\n`;
      const entry = members.find((m) => m.dqliteAddress.startsWith(`${name}:`));
      if (entry) {
        out += 'Removing node entry found in dqlite.\n';
        cutOff(w, state, entry, false);
      }
    }
    return { stdout: out, stderr: `Error from server (NotFound): nodes "${name}" not found\n`, code: 1 };
  }
  const entry = members.find((m) => m.dqliteAddress.startsWith(`${target.ip}:`));
  if (entry && !force) {
    return {
      stdout: `Removal failed. Node ${name} is registered with dqlite. Please, run first 'microk8s leave' on the departing node. \nIf the node is not available anymore and will never attempt to join the cluster in the future use the '--force' flag \nto unregister the node while removing it.\n`,
      stderr: '',
      code: 1,
    };
  }
  if (entry) cutOff(w, state, entry, true);
  deleteNodeObject(state, name);
  rebalance(state);
  return ok();
}
