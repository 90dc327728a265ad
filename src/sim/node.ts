/**
 * One simulated host (state.ts holds the cluster the hosts share): its snap revisions and
 * history, its Kubernetes Node facts (Ready, cordoned, taints, role), its dqlite role and id,
 * its files (a WindowsFs on a Windows host), its clock, and whether its services run.
 */
import type { ChannelRelease } from './catalogue.ts';
import { SimFs } from './fs.ts';
import { sha, uuid } from './ids.ts';
import type { SimState } from './state.ts';
import type { SimWindows } from './windows/host.ts';

export type DqliteRole = 'voter' | 'standby' | 'spare';
export type NodeRole = 'control-plane' | 'worker';
export type ReadyCondition = 'True' | 'False' | 'Unknown';

export interface SimRevision {
  revision: number;
  version: string;
  kubeletVersion: string;
  /** The channel this revision was fetched from. */
  channel: string;
}

export interface SimHistoryEntry {
  at: number;
  action: 'install' | 'refresh' | 'revert';
  fromRevision?: number;
  toRevision: number;
  channel: string;
}

/** dqlite's first node always has this ID (go-dqlite BootstrapID). */
const BOOTSTRAP_ID = '3297041220608546238';

export class SimNode {
  /** Snap revisions kept on disk, oldest first (snapd keeps 2 on classic systems). */
  sequence: SimRevision[];
  /** Index of the active revision in `sequence`. */
  current: number;
  /** Snap tracking channel (`snap list` Tracking). A revert does not change it. */
  tracking: string;
  history: SimHistoryEntry[] = [];
  /** Kubelet healthy whenever the services run; set false to make the node NotReady. */
  ready = true;
  /** spec.unschedulable */
  cordoned = false;
  /** Host reachable over SSH and posting status. */
  up = true;
  /** `microk8s stop` was run. */
  stopped = false;
  /** Services restart (after refresh/revert/start) until this epoch ms. */
  restartingUntil = 0;
  clockSkewSeconds = 0;
  /** Raft entries this node's log is behind the cluster's (quorum recovery picks the newest log). */
  raftLag = 0;
  /** The backend is on disk as files (after `microk8s stop`, src/sim/dqlite.ts), not generated. */
  backendMaterialized = false;
  /** Why this node's dqlite failed to rejoin at its last start (its services then never come up). */
  datastoreFault: string | undefined;
  /** Dropped by a quorum recovery: its own datastore still lists these old members until it is reinstalled. */
  staleMembers: Array<{ address: string; id: string; role: DqliteRole | undefined }> | undefined;
  /** Its dqlite port still answers though SSH does not (a lost node that is not really gone). */
  portAnswersWhenDown = false;
  dqliteRole: DqliteRole | undefined;
  readonly dqliteId: string;
  failureDomain: number;
  /** Refresh hold: `forever` or an epoch ms. */
  hold: 'forever' | number | undefined;
  refreshDate: number;
  readonly createdAt: number;
  readonly uid: string;
  readonly bootId: string;
  readonly machineId: string;
  /** Its files (a WindowsFs on a Windows host). */
  fs: SimFs;
  /** Ready condition last seen, and when it changed (for lastTransitionTime). */
  lastCondition: ReadyCondition = 'True';
  lastTransition: number;
  readonly taintsAddedAt = new Map<string, number>();
  /** A Windows worker (src/sim/windows): no snap, its own shell; a Node object once kubelet joins. */
  windows: SimWindows | undefined;

  constructor(
    readonly name: string,
    /** Control plane or worker; changes when the node joins as a worker or leaves (src/sim/membership.ts). */
    public role: NodeRole,
    readonly index: number,
    readonly ip: string,
    release: ChannelRelease,
    channel: string,
    failureDomain: number,
    user: string,
    now: number,
    private readonly state: SimState,
  ) {
    this.sequence = [{ revision: release.revision, version: release.version, kubeletVersion: release.kubeletVersion, channel }];
    this.current = 0;
    this.tracking = channel;
    this.failureDomain = failureDomain;
    this.hold = undefined;
    this.createdAt = now - 19 * 86_400_000 - 3 * 3_600_000;
    this.refreshDate = now - 7 * 86_400_000;
    this.lastTransition = this.createdAt;
    this.history.push({ at: this.refreshDate, action: 'install', toRevision: release.revision, channel });
    this.dqliteId = index === 0 ? BOOTSTRAP_ID : BigInt(`0x${sha(`dqlite:${ip}`).slice(0, 15)}`).toString();
    this.uid = uuid(`node:${name}`);
    this.bootId = uuid(`boot:${name}`);
    this.machineId = sha(`machine:${name}`).slice(0, 32);
    this.fs = new SimFs(
      user,
      () => [['/var/snap/microk8s/current', `/var/snap/microk8s/${this.revision}`], ['/snap/microk8s/current', `/snap/microk8s/${this.revision}`]],
      () => this.state.backendFiles(this),
    );
  }

  get installed(): SimRevision {
    const rev = this.sequence[this.current] ?? this.sequence[0];
    if (!rev) throw new Error(`simulator: ${this.name} has no installed revision`);
    return rev;
  }
  get version(): string {
    return this.installed.version;
  }
  get revision(): number {
    return this.installed.revision;
  }
  get kubeletVersion(): string {
    return this.windows?.kubeletVersion ?? this.installed.kubeletVersion;
  }
  get dqliteAddress(): string {
    return `${this.ip}:19001`;
  }
  /** Services (API server, kubelet, dqlite) are up on this node. */
  get servicesRunning(): boolean {
    return this.up && !this.stopped && this.datastoreFault === undefined && this.state.now() >= this.restartingUntil;
  }
  get restarting(): boolean {
    return this.up && !this.stopped && this.state.now() < this.restartingUntil;
  }
  /** The node's clock, in seconds, as `date +%s` prints it. */
  clockSeconds(): number {
    return Math.floor(this.state.now() / 1000) + this.clockSkewSeconds;
  }
}
