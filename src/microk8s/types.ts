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

export interface MicroK8sStatus {
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
