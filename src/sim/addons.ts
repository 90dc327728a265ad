/**
 * `microk8s enable|disable <addon>` (reference §C2/§C3): the wrapper's checks and texts
 * (`Infer repository core for addon X`, already enabled/disabled, not found, several add-ons),
 * then the add-on's script. `enable ha-cluster` is src/sim/membership/ha-cluster.ts's.
 *
 * hostpath-storage (`storage` before 1.24) keeps its PV data under
 * `/var/snap/microk8s/common/default-storage`: `disable` removes the provisioner, then reads
 * the answer to "Remove PVC storage …?" from stdin — over SSH without a terminal that is EOF
 * (bash `read -p` prints no prompt then), so it exits 1 with the data kept;
 * `hostpath-storage:destroy-storage` removes the data.
 */
import { minorOf } from './catalogue.ts';
import { fail, type CommandContext, type CommandResult } from './context.ts';
import { addonsFor, lacksPermission, permissionText } from './microk8s.ts';

export const DEFAULT_STORAGE = '/var/snap/microk8s/common/default-storage';

interface Script {
  enable: string;
  disable: string;
}

const SCRIPTS: Record<string, Script> = {
  dns: {
    enable:
      'Enabling DNS\nUsing host configuration from /run/systemd/resolve/resolv.conf\nApplying manifest\nserviceaccount/coredns created\nconfigmap/coredns created\ndeployment.apps/coredns created\nservice/kube-dns created\nclusterrole.rbac.authorization.k8s.io/coredns created\nclusterrolebinding.rbac.authorization.k8s.io/coredns created\nCoreDNS service deployed with IP address 10.152.183.10\nRestarting kubelet\nDNS is enabled\n',
    disable:
      'Disabling DNS\nReconfiguring kubelet\nRemoving DNS manifest\ndeployment.apps "coredns" deleted\npod/coredns-7f9c69c78c-x2v8p condition met\nserviceaccount "coredns" deleted\nconfigmap "coredns" deleted\nservice "kube-dns" deleted\nclusterrole.rbac.authorization.k8s.io "coredns" deleted\nclusterrolebinding.rbac.authorization.k8s.io "coredns" deleted\nDNS is disabled\n',
  },
  'hostpath-storage': {
    enable:
      'Enabling default storage class.\nWARNING: Hostpath storage is not suitable for production environments.\n         A hostpath volume can grow beyond the size limit set in the volume claim manifest.\n\ndeployment.apps/hostpath-provisioner created\nstorageclass.storage.k8s.io/microk8s-hostpath created\nserviceaccount/microk8s-hostpath created\nclusterrole.rbac.authorization.k8s.io/microk8s-hostpath created\nclusterrolebinding.rbac.authorization.k8s.io/microk8s-hostpath created\nStorage will be available soon.\n',
    disable:
      'Disabling hostpath storage.\ndeployment.apps "hostpath-provisioner" deleted\nstorageclass.storage.k8s.io "microk8s-hostpath" deleted\nserviceaccount "microk8s-hostpath" deleted\nclusterrole.rbac.authorization.k8s.io "microk8s-hostpath" deleted\nclusterrolebinding.rbac.authorization.k8s.io "microk8s-hostpath" deleted\nStorage removed.\n',
  },
};

function script(name: string, minor: number): Script {
  if (name === 'storage' && minor < 24) {
    return { enable: 'Enabling default storage class\ndeployment.apps/hostpath-provisioner created\nstorageclass.storage.k8s.io/microk8s-hostpath created\nStorage will be available soon\n', disable: 'Disabling default storage\ndeployment.apps "hostpath-provisioner" deleted\nStorage removed\n' };
  }
  const known = SCRIPTS[name === 'storage' ? 'hostpath-storage' : name];
  if (known) return known;
  return { enable: `Enabling ${name}\n${name} is enabled\n`, disable: `Disabling ${name}\n${name} is disabled\n` };
}

/** Runs `enable|disable`; undefined hands `enable ha-cluster` to the membership module. */
export async function xable(ctx: CommandContext, action: 'enable' | 'disable', args: string[]): Promise<CommandResult | undefined> {
  const { node, state } = ctx;
  const minor = minorOf(node.version);
  const names = args.filter((a) => !a.startsWith('-'));
  if (names.length === 0) return fail(2, `Usage: microk8s ${action} [OPTIONS] ADDONS...\nTry 'microk8s ${action} -h' for help.\n\nError: Missing argument 'ADDONS...'.\n`);
  const [first = '', ...argv] = (names[0] ?? '').split(':');
  const bare = first.replace(/^core\//, '');
  if (action === 'enable' && bare === 'ha-cluster') return undefined;
  if (node.role === 'worker') return { stdout: 'This MicroK8s deployment is acting as a node in a cluster.\nPlease use the master node.\n', stderr: '', code: 1 };
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  if (node.stopped) return fail(1, 'microk8s is not running, try microk8s start\n');
  let stdout = '';
  if (names.length > 1) {
    stdout += `WARNING: Do not enable or disable multiple addons in one command.\n         This form of chained operations on addons will be DEPRECATED in the future.\n         Please, ${action} one addon at a time: 'microk8s ${action} <addon>'\n`;
    return { stdout: `${stdout}mk8s-sim: several add-ons in one command are not simulated\n`, stderr: '', code: 1 };
  }
  const known = addonsFor(minor).find((a) => a.name === bare);
  if (!known || (minor < 24 && first.includes('/'))) {
    return minor >= 24 ? fail(1, `Addon ${first} was not found in any repository\n`) : fail(1, `Nothing to do for \`${first}\`.\n`);
  }
  const infer = minor >= 24 && !first.includes('/') ? `Infer repository core for addon ${bare}\n` : '';
  const enabled = state.addons.has(bare);
  if ((action === 'enable') === enabled) {
    return { stdout: minor >= 24 ? `Addon core/${bare} is already ${action}d\n` : `Addon ${bare} is already ${action}d.\n`, stderr: infer, code: 0 };
  }
  if (action === 'disable' && bare === 'ha-cluster') {
    return { stdout: "Disabling HA will reset your cluster in a clean state.\nAny running workloads will be stopped and any data stored will be lost.\nIf you are sure you want to proceed please use the '--force' flag.\n", stderr: infer, code: 2 };
  }
  await ctx.sleep(ctx.latency.defaultMs);
  const text = script(bare, minor);
  if (action === 'enable') {
    state.addons.add(bare);
    if (bare === 'dns' && !state.pods.some((p) => p.app === 'coredns')) {
      const cp = state.nodeList().find((n) => n.role === 'control-plane' && state.isReady(n));
      state.addPod({ namespace: 'kube-system', app: 'coredns', labels: { 'k8s-app': 'kube-dns' }, owner: { kind: 'ReplicaSet', name: 'coredns-7f9c69c78c' }, ...(cp ? { nodeName: cp.name } : {}), image: 'coredns/coredns:1.10.1' });
    }
    state.bump();
    return { stdout: stdout + text.enable, stderr: infer, code: 0 };
  }
  state.addons.delete(bare);
  if (bare === 'dns') state.pods = state.pods.filter((p) => p.app !== 'coredns');
  state.bump();
  if (bare !== 'hostpath-storage' && bare !== 'storage') return { stdout: stdout + text.disable, stderr: infer, code: 0 };
  const reclaimed = minor >= 24 ? 'Storage space reclaimed.\n' : 'Storage space reclaimed\n';
  if (argv[0] === 'destroy-storage') {
    for (const path of Array.from(node.fs.files.keys())) if (path.startsWith(`${DEFAULT_STORAGE}/`)) node.fs.files.delete(path);
    for (const dir of Array.from(node.fs.dirs.keys())) if (dir === DEFAULT_STORAGE || dir.startsWith(`${DEFAULT_STORAGE}/`)) node.fs.dirs.delete(dir);
    return { stdout: stdout + text.disable + reclaimed, stderr: infer, code: 0 };
  }
  // `read -p …` on EOF (no terminal over SSH): no prompt, non-zero → `|| exit 1`; the data stays
  return { stdout: stdout + text.disable, stderr: infer, code: 1 };
}
