/**
 * Typed MicroK8s, kubectl and snap operations on one node, over a RemoteShell.
 *
 * Every command is an argv array; every value that reaches it is validated first. Commands a
 * real node runs as root are `privileged` (every `microk8s …`, `snap refresh/revert`, the
 * backup); `snap list/info` and `date` are not.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { CommandFailedError, tail } from '../ssh/errors.ts';
import type { ExecOptions, ExecResult, RemoteShell } from '../ssh/types.ts';
import { NotReadyError, OutputParseError } from './errors.ts';
import { parseCordonOutput, parseDrainOutput, parseNodes, parsePods, parseWaitOutput } from './parse-kubectl.ts';
import { parseEpoch, parseSha256sum, parseStatSize } from './parse-misc.ts';
import { parseHoldOutput, parseRefreshOutput, parseRevertOutput, parseSnapInfo, parseSnapList, parseVersion } from './parse-snap.ts';
import { parseStatus } from './parse-status.ts';
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
import { assertChannel, assertNodeName, assertSeconds, holdDuration } from './validate.ts';

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

export function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export class MicroK8sNode {
  private readonly now: () => Date;
  private readonly backupDir: string;
  private readonly kubernetesDir: string;

  constructor(
    readonly shell: RemoteShell,
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

  /** `snap info microk8s`: tracking, installed, hold, the channel table. */
  async snapInfo(): Promise<SnapInfo> {
    return this.run(['snap', 'info', 'microk8s'], {}, (r) => parseSnapInfo(r.stdout));
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

  /** `microk8s kubectl get pods -A -o json` (only the pods on `node` when given). */
  async pods(options: { node?: string } = {}): Promise<KubePod[]> {
    const argv = [...KUBECTL, 'get', 'pods', '-A', '-o', 'json'];
    // No --field-selector: filtering here works the same on every kubectl and emulation.
    if (options.node !== undefined) assertNodeName(options.node);
    // Filtered here too: the answer must be right even where the selector is not honoured.
    return this.run(argv, { privileged: true }, (r) => parsePods(r.stdout).filter((p) => options.node === undefined || p.node === options.node));
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
  async backupDatastore(): Promise<BackupResult> {
    const remotePath = `${this.backupDir}/mk8s-backup-${backupStamp(this.now())}.tar.gz`;
    // GNU tar exits 1 when a file changed while it was read (dqlite keeps writing while
    // it runs) and still writes the archive; 2 is a real failure.
    await this.shell.exec(['tar', '-czf', remotePath, '-C', this.kubernetesDir, 'backend'], { privileged: true, okExitCodes: [0, 1] });
    const sha256 = await this.run(['sha256sum', remotePath], { privileged: true }, (r) => parseSha256sum(r.stdout, remotePath));
    const bytes = await this.run(['stat', '-c', '%s', remotePath], { privileged: true }, (r) => parseStatSize(r.stdout, remotePath));
    return { remotePath, sha256, bytes };
  }

  /**
   * Downloads a backup over SFTP and checks its size and sha256 against what the node
   * reported. Throws (and names both digests) on a mismatch.
   */
  async downloadBackup(backup: BackupResult, localPath: string): Promise<{ localPath: string; sha256: string; bytes: number }> {
    await this.shell.download(backup.remotePath, localPath);
    const [sha256, info] = await Promise.all([sha256OfFile(localPath), stat(localPath)]);
    if (sha256 !== backup.sha256 || info.size !== backup.bytes) {
      throw new Error(
        `the copy of ${backup.remotePath} from ${this.name} does not match: ${this.name} reported sha256 ${backup.sha256} (${backup.bytes} bytes), the copy has ${sha256} (${info.size} bytes)`,
      );
    }
    return { localPath, sha256, bytes: info.size };
  }

  // ---- misc --------------------------------------------------------------------------

  /** `date +%s` on the node. */
  async epochSeconds(): Promise<number> {
    return this.run(['date', '+%s'], {}, (r) => parseEpoch(r.stdout));
  }
}
