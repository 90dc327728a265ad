/**
 * src/microk8s — every command the bot sends to a node, and the parser of its output.
 *
 * MicroK8sNode is the one door to a node: a typed method per command, or per group of them
 * (`node.membership`, `node.workload`, `node.addons`) (`snap list`, `microk8s
 * status`, `kubectl drain`, `add-node`/`join`, `inspect`, file reads and writes, …). Its shell is
 * private, so nothing outside this folder builds a command line. A new command goes here: its
 * argv and its options in a module by concern (membership.ts, files.ts, diagnostics.ts,
 * workload.ts, snap-proxy.ts), its parser in a parse-*.ts (real output formats, from
 * ../shared/reference/microk8s-cli.md, not the simulator's), and a method on MicroK8sNode.
 * Step helpers that decide what an answer means for a job live in src/ops.
 *
 * Every command is an argv array; every value that reaches it is validated first. Commands a
 * real node runs as root are `privileged` (every `microk8s …`, `snap refresh/revert`, the
 * backup); `snap list/info` and `date` are not.
 */
import { CommandFailedError, tail } from '../ssh/errors.ts';
import type { ExecOptions, ExecResult, RemoteShell } from '../ssh/types.ts';
import { AddonCommands } from './addons.ts';
import { DqliteBackend } from './backend.ts';
import * as diagnostics from './diagnostics.ts';
import { NotReadyError, OutputParseError } from './errors.ts';
import * as files from './files.ts';
import * as membership from './membership.ts';
import { parseCordonOutput, parseDrainOutput, parseNodes, parseWaitOutput } from './parse-kubectl.ts';
import { parseEpoch } from './parse-misc.ts';
import { listPods } from './pods.ts';
import { parseHoldOutput, parseKeptRevisions, parseRefreshOutput, parseRevertOutput, parseSnapInfo, parseSnapList, parseVersion, type KeptRevision } from './parse-snap.ts';
import { parseStatus } from './parse-status.ts';
import * as proxyNode from './snap-proxy.ts';
import { WindowsClusterSide } from './windows-cluster.ts';
import * as workload from './workload.ts';
import type {
  BackupResult,
  DrainResult,
  HoldResult,
  KubeNode,
  KubePod,
  MicroK8sStatus,
  RefreshResult,
  SnapInfo,
  SnapState,
  VersionInfo,
} from './types.ts';
import { assertChannel, assertNodeName, assertSeconds, assertUserName, holdDuration } from './validate.ts';

export interface MicroK8sNodeOptions {
  /** Clock for backup names (tests). */
  now?: () => Date;
  /** Where backups are written on the node. */
  backupDir?: string;
  /** The folder holding `backend/` (the dqlite datastore). */
  kubernetesDir?: string;
}

/** Slack for a command that has its own timeout (kubectl --timeout, status --timeout). */
const GRACE_MS = 60_000;

const KUBECTL = ['microk8s', 'kubectl'] as const;

/** `20260701T100000Z` */
export function backupStamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export { sha256OfFile } from './diagnostics.ts';

export class MicroK8sNode {
  private readonly now: () => Date;
  private readonly backupDir: string;
  private readonly kubernetesDir: string;

  constructor(
    private readonly shell: RemoteShell,
    options: MicroK8sNodeOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.backupDir = options.backupDir ?? '/var/snap/microk8s/common';
    this.kubernetesDir = options.kubernetesDir ?? '/var/snap/microk8s/current/var/kubernetes';
  }

  /** The inventory name of the node. */
  get name(): string {
    return this.shell.node;
  }

  /** Runs argv, then the parser; a parse failure names this node. */
  private async run<T>(argv: readonly string[], options: ExecOptions, parse: (r: ExecResult) => T): Promise<T> {
    const result = await this.shell.exec(argv, options);
    return this.parsed(() => parse(result));
  }

  /** Awaits a command of a module (diagnostics.ts, workload.ts): a parse failure names this node. */
  private async named<T>(pending: Promise<T>): Promise<T> {
    try {
      return await pending;
    } catch (err) {
      if (err instanceof OutputParseError) throw err.onNode(this.name);
      throw err;
    }
  }

  private parsed<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof OutputParseError) throw err.onNode(this.name);
      throw err;
    }
  }

  // ---- snap --------------------------------------------------------------------------

  /** `snap list microk8s`: version, revision, tracking channel, notes (held, …). */
  async snap(): Promise<SnapState> {
    return this.run(['snap', 'list', 'microk8s'], {}, (r) => parseSnapList(r.stdout));
  }

  /** `snap info [--abs-time] microk8s`: tracking, installed, hold (an RFC 3339 time with absTime), the channel table. */
  async snapInfo(options: { absTime?: boolean } = {}): Promise<SnapInfo> {
    return this.run(['snap', 'info', ...(options.absTime ? ['--abs-time'] : []), 'microk8s'], {}, (r) => parseSnapInfo(r.stdout));
  }

  /** `snap list --all microk8s`: every revision snapd keeps (the active one and the disabled ones). */
  async keptRevisions(): Promise<KeptRevision[]> {
    return this.run(['snap', 'list', '--all', 'microk8s'], {}, (r) => parseKeptRevisions(r.stdout));
  }

  /**
   * `snap refresh microk8s --channel <channel>` (the seed's spelling). `changed: false` when
   * snapd had nothing to do.
   */
  async refresh(channel: string): Promise<RefreshResult> {
    assertChannel(channel);
    return this.run(['snap', 'refresh', 'microk8s', '--channel', channel], { privileged: true }, (r) => parseRefreshOutput(r.stdout, r.stderr));
  }

  /** `snap revert microk8s`: back to the previous revision (and its data directory). */
  async revert(): Promise<{ version: string }> {
    return this.run(['snap', 'revert', 'microk8s'], { privileged: true }, (r) => parseRevertOutput(r.stdout, r.stderr));
  }

  /** `snap refresh --hold[=<duration>] microk8s`; default forever. */
  async hold(duration: string = 'forever'): Promise<HoldResult> {
    const d = holdDuration(duration);
    const flag = d === 'forever' ? '--hold' : `--hold=${d}`;
    return this.run(['snap', 'refresh', flag, 'microk8s'], { privileged: true }, (r) => parseHoldOutput(r.stdout, r.stderr));
  }

  /** `snap refresh --unhold microk8s`. */
  async unhold(): Promise<HoldResult> {
    return this.run(['snap', 'refresh', '--unhold', 'microk8s'], { privileged: true }, (r) => parseHoldOutput(r.stdout, r.stderr));
  }

  // ---- microk8s ----------------------------------------------------------------------

  /**
   * `microk8s status --format yaml` (`--wait-ready --timeout N` when asked to wait).
   * Not ready is exit 1 with parseable output: without a wait that is `running: false`; with
   * a wait it is a NotReadyError (so is a stopped node). A worker answers `worker: true`.
   */
  async status(options: { waitReadySeconds?: number } = {}): Promise<MicroK8sStatus> {
    const argv = ['microk8s', 'status', '--format', 'yaml'];
    const exec: ExecOptions = { privileged: true, okExitCodes: [0, 1] };
    const wait = options.waitReadySeconds;
    if (wait !== undefined) {
      assertSeconds(wait, 'the status wait');
      argv.push('--wait-ready', '--timeout', String(wait));
      exec.timeoutMs = wait * 1000 + GRACE_MS;
    }
    const r = await this.shell.exec(argv, exec);
    let status: MicroK8sStatus;
    try {
      status = this.parsed(() => parseStatus(r.stdout));
    } catch (err) {
      // exit 1 with no status on stdout: a real failure (permissions, missing snap, ...)
      if (r.code !== 0) throw new CommandFailedError(this.name, r.command, r.code, tail(r.stderr), undefined, tail(r.stdout, 10, 1000));
      throw err;
    }
    if (wait !== undefined && !status.running && !status.worker) {
      throw new NotReadyError(this.name, `MicroK8s on ${this.name} is not ready after waiting ${wait} s: ${status.message ?? 'microk8s is not running'}`);
    }
    return status;
  }

  /** `microk8s version` (1.25+); older releases fall back to `snap list`. */
  async version(): Promise<VersionInfo> {
    try {
      return await this.run(['microk8s', 'version'], { privileged: true }, (r) => parseVersion(r.stdout));
    } catch (err) {
      if (!(err instanceof CommandFailedError) || !/not a valid MicroK8s subcommand/.test(`${err.stderrTail}\n${err.stdoutTail}`)) throw err;
      const snap = await this.snap();
      return { version: snap.version, revision: snap.revision };
    }
  }

  // ---- kubectl -----------------------------------------------------------------------

  /** `microk8s kubectl get nodes -o json`. */
  async nodes(): Promise<KubeNode[]> {
    return this.run([...KUBECTL, 'get', 'nodes', '-o', 'json'], { privileged: true }, (r) => parseNodes(r.stdout));
  }

  /** One node as Kubernetes sees it, or undefined when it is not in the cluster. */
  async node(name: string): Promise<KubeNode | undefined> {
    assertNodeName(name);
    return (await this.nodes()).find((n) => n.name === name);
  }

  /** `microk8s kubectl get pods -A -o json` (only the pods on `node` when given: pods.ts). */
  async pods(options: { node?: string } = {}): Promise<KubePod[]> {
    return this.named(listPods(this.shell, options.node));
  }

  /** `microk8s kubectl drain <node> --ignore-daemonsets --delete-emptydir-data --timeout=<N>s`. */
  async drain(node: string, timeoutSeconds: number): Promise<DrainResult> {
    assertNodeName(node);
    assertSeconds(timeoutSeconds, 'the drain timeout');
    return this.run(
      [...KUBECTL, 'drain', node, '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${timeoutSeconds}s`],
      { privileged: true, timeoutMs: timeoutSeconds * 1000 + GRACE_MS },
      (r) => parseDrainOutput(`${r.stdout}\n${r.stderr}`, node),
    );
  }

  /** `microk8s kubectl cordon <node>`; already cordoned is fine (`changed: false`). */
  async cordon(node: string): Promise<{ changed: boolean }> {
    assertNodeName(node);
    return this.run([...KUBECTL, 'cordon', node], { privileged: true }, (r) => parseCordonOutput(r.stdout, node, 'cordon'));
  }

  /** `microk8s kubectl uncordon <node>`; already uncordoned is fine (`changed: false`). */
  async uncordon(node: string): Promise<{ changed: boolean }> {
    assertNodeName(node);
    return this.run([...KUBECTL, 'uncordon', node], { privileged: true }, (r) => parseCordonOutput(r.stdout, node, 'uncordon'));
  }

  /**
   * `microk8s kubectl wait --for=condition=Ready node/<node> --timeout=<N>s`, then reads the
   * node back and requires it Ready (kubectl wait can race a node flapping to NotReady or
   * Unknown). Returns the node as read. A timeout is a CommandFailedError from kubectl.
   */
  async waitNodeReady(node: string, timeoutSeconds: number): Promise<KubeNode> {
    assertNodeName(node);
    assertSeconds(timeoutSeconds, 'the wait timeout');
    await this.run(
      [...KUBECTL, 'wait', '--for=condition=Ready', `node/${node}`, `--timeout=${timeoutSeconds}s`],
      { privileged: true, timeoutMs: timeoutSeconds * 1000 + GRACE_MS },
      (r) => parseWaitOutput(r.stdout, node),
    );
    const seen = await this.node(node);
    if (!seen) throw new NotReadyError(node, `${node} is no longer in the cluster (kubectl get nodes on ${this.name} does not list it)`);
    if (!seen.ready) throw new NotReadyError(node, `${node} was Ready, then reported NotReady/Unknown again when read back from ${this.name}`);
    return seen;
  }

  // ---- datastore backup --------------------------------------------------------------

  /**
   * Tars the dqlite backend into `<backupDir>/mk8s-backup-<UTC stamp>.tar.gz` on the node,
   * then reads its sha256 and size there.
   */
  async backupDatastore(owner: string): Promise<BackupResult> {
    const remotePath = `${this.backupDir}/mk8s-backup-${backupStamp(this.now())}.tar.gz`;
    // The tarball holds every Secret of the cluster: made empty as 0600 <owner> (the SSH user,
    // who fetches it) before tar writes into it (an existing file keeps its mode), so no other
    // user of the node can ever read it. Any failure after this removes it again.
    await this.shell.exec(['install', '-m', '0600', '-o', assertUserName(owner), '/dev/null', remotePath], { privileged: true });
    try {
      // GNU tar exits 1 when a file changed while it was read (dqlite keeps writing while
      // it runs) and still writes the archive; 2 is a real failure.
      await this.shell.exec(['tar', '-czf', remotePath, '-C', this.kubernetesDir, 'backend'], { privileged: true, okExitCodes: [0, 1] });
      return { remotePath, ...(await this.checksum(remotePath)) };
    } catch (err) {
      await this.removeFile(remotePath).catch(() => undefined); // the first error is the one that matters
      throw err;
    }
  }

  /** `sha256sum` and `stat -c %s` of a file on the node. */
  checksum(path: string): Promise<{ sha256: string; bytes: number }> {
    return this.named(diagnostics.checksum(this.shell, path));
  }

  /** Fetches a file over SFTP and checks it against `expected` (a mismatched copy is deleted). */
  fetchChecked(remotePath: string, localPath: string, expected: { sha256: string; bytes: number }): Promise<diagnostics.FetchOutcome> {
    return diagnostics.fetchChecked(this.shell, remotePath, localPath, expected);
  }

  /** `sudo rm -f <path>`. */
  removeFile(path: string): Promise<void> {
    return diagnostics.removeFile(this.shell, path);
  }

  // ---- files (args/ha-conf, args/apiserver-proxy, …): see files.ts ----------------------

  /** The text of a root-owned file, or undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined> {
    return files.readRemoteFile(this.shell, path);
  }

  /** `cp -p FILE FILE.mk8s-<stamp>`; returns the backup's path. */
  backupFile(path: string, stamp: string): Promise<string> {
    return files.backupRemoteFile(this.shell, path, stamp);
  }

  /** Replaces a file's content by an atomic rename, keeping its owner and mode; read back and compared. */
  writeFile(path: string, content: string, tag: string, existed: boolean): Promise<void> {
    return files.writeRemoteFile(this.shell, path, content, tag, existed);
  }

  /** Puts a backup made by backupFile back in place (atomic rename, metadata of the backup). */
  restoreFile(backup: string, path: string): Promise<void> {
    return files.restoreRemoteFile(this.shell, backup, path);
  }

  // ---- add-ons and the Calico CNI: see addons.ts ----------------------------------------

  /** `microk8s status` add-ons, `enable|disable`, the calico-node DaemonSet and pods, `kubectl apply`, `test -e`. */
  get addons(): AddonCommands {
    return new AddonCommands(this.shell);
  }

  // ---- the dqlite backend directory: see backend.ts ------------------------------------

  /** The backend directory's commands (quorum recovery): listing, info.yaml/cluster.yaml, `.reconfigure`, tar, checksums. */
  backend(): DqliteBackend {
    return new DqliteBackend(this.shell);
  }

  // ---- membership: see membership.ts -------------------------------------------------

  /** `add-node`, `join`, `leave`, `remove-node`, `enable ha-cluster`, `stop`/`start`, and the checks before a join. */
  get membership(): membership.MembershipCommands {
    return new membership.MembershipCommands(this.shell);
  }

  // ---- diagnostics: see diagnostics.ts ------------------------------------------------

  /** `sudo microk8s inspect`. */
  inspect(): Promise<diagnostics.InspectOutcome> {
    return this.named(diagnostics.inspect(this.shell));
  }

  /** When the kubelet of `node` last renewed its Lease (epoch ms, as this node's API tells). */
  leaseRenewTime(node: string): Promise<number> {
    return diagnostics.leaseRenewTime(this.shell, node);
  }

  /** `snap services <service>` → its Current column. */
  serviceState(service: string): Promise<string | undefined> {
    return diagnostics.serviceState(this.shell, service);
  }

  /** `sudo snap restart <service>`. */
  restartService(service: string): Promise<void> {
    return diagnostics.restartService(this.shell, service);
  }

  // ---- the verification workload: see workload.ts --------------------------------------

  /** The verification workload's kubectl commands, and curl from this node. */
  get workload(): workload.WorkloadCommands {
    return new workload.WorkloadCommands(this.shell);
  }

  // ---- the Snap Store Proxy, from the node's side: see snap-proxy.ts ----------------------

  /** `snap get core proxy.store`: the store id it uses, or undefined (the public Snap Store). */
  proxyStore(): Promise<string | undefined> {
    return proxyNode.proxyStoreOf(this.shell);
  }

  /** Fetches the proxy's store assertion and `snap ack`s it. */
  ackStoreAssertions(domain: string): Promise<{ bytes: number }> {
    return proxyNode.ackStoreAssertions(this.shell, domain);
  }

  /** `sudo snap set core proxy.store=<id>`. */
  setProxyStore(storeId: string): Promise<void> {
    return proxyNode.setProxyStore(this.shell, storeId);
  }

  /** The cluster side of the Windows procedure on this control-plane node: see windows-cluster.ts. */
  get windows(): WindowsClusterSide {
    return new WindowsClusterSide(this.shell);
  }

  // ---- misc --------------------------------------------------------------------------

  /** `date +%s` on the node. */
  async epochSeconds(): Promise<number> {
    return this.run(['date', '+%s'], {}, (r) => parseEpoch(r.stdout));
  }
}
