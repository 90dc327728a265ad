/**
 * `microk8s inspect` (reference §7, `MK:scripts/inspect.sh`): checks the services, gathers the
 * report into `$SNAP_DATA/inspection-report/` (deleted and recreated), then tars it into
 * `/var/snap/microk8s/<rev>/inspection-report-YYYYmmdd_HHMMSS.tar.gz` on the node. A service
 * that is not running prints a FAIL line and makes the exit code 1.
 *
 * The wrapper runs the script through sudo: over a non-interactive SSH session without root
 * that is sudo's "a terminal is required" refusal.
 *
 * Test knobs (`inspectFlags(node)`): services reported down, WARNING lines to print.
 */
import { minorOf } from './catalogue.ts';
import { fail, type CommandContext, type CommandResult } from './context.ts';
import { tar } from './coreutils.ts';
import type { SimNode } from './node.ts';

export interface InspectFlags {
  /** Service names (`kubelite`, `containerd`, …) reported as not running. */
  down: Set<string>;
  /** Texts printed as WARNING lines by suggest_fixes. */
  warnings: string[];
}

const flags = new WeakMap<SimNode, InspectFlags>();

/** The inspect knobs of a node (created on first use). */
export function inspectFlags(node: SimNode): InspectFlags {
  let f = flags.get(node);
  if (!f) {
    f = { down: new Set(), warnings: [] };
    flags.set(node, f);
  }
  return f;
}

const HELP = 'This script will inspect your microk8s installation. It will report any issue it finds,\nand create a tarball of logs and traces which can be attached to an issue filed against\nthe microk8s project.\n';

function services(node: SimNode, minor: number): string[] {
  if (node.role === 'worker') return ['cluster-agent', 'containerd', 'kubelite', 'apiserver-proxy'];
  if (minor <= 23) return ['cluster-agent', 'containerd', 'apiserver-kicker', 'kubelite'];
  return ['cluster-agent', 'containerd', 'kubelite', 'k8s-dqlite', 'apiserver-kicker'];
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

export async function inspect(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  if (args.includes('-h') || args.includes('--help')) return { stdout: HELP, stderr: '', code: 0 };
  if (!ctx.root && ctx.sudoRequired) {
    return fail(1, 'sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\n');
  }
  const node = ctx.node;
  const minor = minorOf(node.version);
  const knobs = inspectFlags(node);
  const root: CommandContext = { ...ctx, root: true };
  const data = `/var/snap/microk8s/${node.revision}`;
  const dump = `${data}/inspection-report`;
  const fs = node.fs;
  const write = (path: string, text: string) => {
    const dir = path.slice(0, path.lastIndexOf('/'));
    fs.mkdirp(dir, true);
    fs.writeFile(path, Buffer.from(text), true, ctx.state.now());
  };
  // rm -rf inspection-report; mkdir
  for (const p of fs.files.keys()) if (p.startsWith(`${dump}/`)) fs.files.delete(p);
  fs.mkdirp(dump, true);

  let out = minor >= 24 ? 'Inspecting system\n' : '';
  out += 'Inspecting Certificates\nInspecting services\n';
  let code = 0;
  for (const svc of services(node, minor)) {
    const unit = `snap.microk8s.daemon-${svc}`;
    const running = node.servicesRunning && !knobs.down.has(svc);
    write(`${dump}/${unit}/systemctl.log`, `● ${unit}.service - Service for snap application microk8s.daemon-${svc}\n     Active: ${running ? 'active (running)' : 'inactive (dead)'}\n`);
    write(`${dump}/${unit}/journal.log`, `-- Logs begin --\n${running ? `Started Service for snap application microk8s.daemon-${svc}.` : `microk8s.daemon-${svc}.service: Failed with result 'exit-code'.`}\n`);
    if (running) out += `  Service ${unit} is running\n`;
    else {
      out += `  \x1b[31m FAIL: \x1b[0m Service ${unit} is not running\nFor more details look at: sudo journalctl -u ${unit}\n`;
      code = 1;
    }
  }
  out += '  Copy service arguments to the final report tarball\nInspecting AppArmor configuration\nGathering system information\n';
  out +=
    minor >= 24
      ? '  Copy processes list to the final report tarball\n  Copy disk usage information to the final report tarball\n  Copy memory usage information to the final report tarball\n  Copy server uptime to the final report tarball\n  Copy openSSL information to the final report tarball\n  Copy snap list to the final report tarball\n  Copy VM name (or none) to the final report tarball\n  Copy current linux distribution to the final report tarball\n  Copy asnycio usage and limits to the final report tarball\n  Copy inotify max_user_instances and max_user_watches to the final report tarball\n  Copy network configuration to the final report tarball\n'
      : '  Copy processes list to the final report tarball\n  Copy snap list to the final report tarball\n  Copy VM name (or none) to the final report tarball\n  Copy disk usage information to the final report tarball\n  Copy memory usage information to the final report tarball\n  Copy server uptime to the final report tarball\n  Copy current linux distribution to the final report tarball\n  Copy openSSL information to the final report tarball\n  Copy network configuration to the final report tarball\n';
  write(`${dump}/sys/snap-list`, `Name      Version  Rev   Tracking     Publisher   Notes\nmicrok8s  ${node.version}  ${node.revision}  ${node.tracking}  canonical**  classic\n`);
  write(`${dump}/sys/uptime`, ' 10:12:01 up 19 days,  3:02,  1 user,  load average: 0.52, 0.58, 0.59\n');
  write(`${dump}/network/ip-addr`, `2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n    inet ${node.ip}/24 brd 10.0.0.255 scope global eth0\n`);
  out += 'Inspecting kubernetes cluster\n  Inspect kubernetes cluster\n';
  write(`${dump}/k8s/version`, `Client Version: ${node.kubeletVersion}\n`);
  write(`${dump}/k8s/get-all`, ctx.state.podsOn(node.name).map((p) => `${p.namespace}  pod/${p.name}  1/1  Running\n`).join(''));
  if (minor <= 23) out += 'Inspecting juju\n  Inspect Juju\nInspecting kubeflow\n  Inspect Kubeflow\n';
  if (minor >= 24 && ctx.state.addons.has('ha-cluster') && node.role === 'control-plane') {
    out += 'Inspecting dqlite\n  Inspect dqlite\n';
    for (const [path, file] of ctx.state.backendFiles(node)) {
      if (path.endsWith('/cluster.yaml') || path.endsWith('/info.yaml')) write(`${dump}/dqlite/${path.slice(path.lastIndexOf('/') + 1)}`, file.data.toString());
    }
  }
  out += '\n';
  for (const w of knobs.warnings) out += minor >= 24 ? `\x1b[0;33m WARNING: \x1b[0m ${w}\n` : `WARNING:  ${w}\n`;
  out += 'Building the report tarball\n';
  await ctx.sleep(ctx.latency.defaultMs);
  const d = new Date(node.clockSeconds() * 1000);
  const stamp = `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}_${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`;
  const tarball = `${data}/inspection-report-${stamp}.tar.gz`;
  const made = tar(root, ['-czf', tarball, '-C', data, 'inspection-report']);
  if (made.code !== 0) return { stdout: out, stderr: made.stderr, code: 1 };
  out += `  Report tarball is at ${tarball}\n`;
  return { stdout: out, stderr: '', code };
}
