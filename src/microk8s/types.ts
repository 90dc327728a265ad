/** Typed views of MicroK8s, snap and kubectl output. Parsers live beside this file. */

export interface SnapState {
  /** e.g. `v1.22.3` */
  version: string;
  /** snap revision, e.g. `2551` */
  revision: string;
  /** e.g. `1.22/stable`; `latest/stable` for the default track */
  tracking: string;
  /** Notes column split on commas: `classic`, `held`, `disabled`, ... (`-` → []) */
  notes: string[];
}

export interface HaMember {
  address: string;
  role: 'voter' | 'standby' | 'spare';
}

export interface MicroK8sStatus extends MicroK8sStatusExtra {
  running: boolean;
  /** Present when running. */
  highAvailability?: boolean;
  members: HaMember[];
  /** Raw first line when not running, e.g. `microk8s is not running, try microk8s start`. */
  message?: string;
}

export interface KubeNode {
  name: string;
  ready: boolean;
  /** spec.unschedulable (cordoned) */
  unschedulable: boolean;
  /** status.nodeInfo.kubeletVersion, e.g. `v1.22.3-3+9ec7c40ec93c73` */
  kubeletVersion: string;
  /** `control-plane` when labelled node.kubernetes.io/microk8s-controlplane, `worker` when microk8s-worker */
  role: 'control-plane' | 'worker' | 'unknown';
  internalIp?: string;
  labels: Record<string, string>;
  /** status.nodeInfo: `Windows Server 2022 Datacenter`, `10.0.20348.587`, `windows` */
  osImage?: string;
  kernelVersion?: string;
  operatingSystem?: string;
  /** When the Ready condition last changed (its lastTransitionTime), epoch ms: how long a node has been NotReady. */
  readySince?: number;
}

export interface KubePod {
  namespace: string;
  name: string;
  node?: string;
  phase: string;
  /** true when an owner reference is a DaemonSet (drain ignores these) */
  daemonSet: boolean;
  /** true when it is a static/mirror pod */
  mirror: boolean;
}

export interface DrainResult {
  /** `namespace/name` of every pod the drain evicted */
  evicted: string[];
}

export interface BackupResult {
  /** Path of the tarball on the node */
  remotePath: string;
  sha256: string;
  bytes: number;
}

// ---- Additions (parsers beside this file) -------------------------------------------------

export interface MicroK8sAddon {
  name: string;
  /** `core`, `community`, ...; absent before 1.24 (no addon repositories). */
  repository?: string;
  /** `--format yaml` only; an empty `version:` is none. */
  version?: string;
  description?: string;
  enabled: boolean;
}

export interface MicroK8sStatusExtra {
  /** Addons, when the output listed them. */
  addons?: MicroK8sAddon[];
  /** True when the node answered that it is a worker ("acting as a node in a cluster"). */
  worker?: boolean;
}

export interface SnapChannelInfo {
  /** e.g. `v1.23.17`; absent for a closed channel. */
  version?: string;
  /** Release date as printed (`2021-07-27`, or RFC3339 with --abs-time). */
  released?: string;
  revision?: string;
  size?: string;
  notes?: string[];
  /** `^`/`↑`: closed, following the next less risky channel of the track; `--`/`–`: closed. */
  closed?: boolean;
}

export interface SnapInfo {
  name: string;
  /** e.g. `1.22/stable`; absent when the snap is not installed. */
  tracking?: string;
  installed?: { version: string; revision: string; size?: string; notes: string[] };
  /** `hold:` as printed (`forever`, `in 4 days, at 14:00 UTC`, a date), when refreshes are held. */
  hold?: string;
  refreshDate?: string;
  /** `channels:` table, keyed by channel name (`1.23/stable`, `latest/edge`, ...). */
  channels: Record<string, SnapChannelInfo>;
}

export interface RefreshResult {
  /** false when snapd said there was nothing to refresh to. */
  changed: boolean;
  /** The version snapd reported (`microk8s (1.23/stable) v1.23.0 from Canonical** refreshed`). */
  version?: string;
  /** The channel in brackets, when printed (omitted by snapd for `latest/stable`). */
  channel?: string;
  /** Extra notice, e.g. `Channel 1.23/candidate for microk8s is closed; temporarily forwarding to 1.23/stable.` */
  notice?: string;
}

export interface HoldResult {
  held: boolean;
  /** `forever` or the RFC3339 time the hold ends. */
  until?: string;
}

export interface VersionInfo {
  version: string;
  revision: string;
}
