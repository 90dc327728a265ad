/**
 * Facts about MicroK8s add-ons the bot acts on (reference §C3, read from
 * microk8s-core-addons `addons/<name>/disable`), and which Calico each MicroK8s release ships (§C4).
 */

/** What refreshing an add-on (disable, then enable) costs. */
export interface AddonRisk {
  /**
   * `refuse`: the bot never disables it; `destructive`: its own destructive approval stating the
   * loss; `approve`: an ordinary approval (an outage of the add-on while it is off).
   */
  level: 'refuse' | 'destructive' | 'approve';
  /** What `microk8s disable <addon>` does, for the approval (or the refusal). */
  disable: string;
  /** What is lost or down. */
  loss: string;
}

const HOSTPATH: AddonRisk = {
  level: 'destructive',
  disable:
    'deletes the hostpath provisioner and its StorageClass, then asks whether to remove the PV data; without a terminal it answers no and exits 1 with the provisioner already removed (the bot never passes :destroy-storage)',
  loss: 'no new hostpath volume can be provisioned until it is enabled again; the PV data under /var/snap/microk8s/common/default-storage is kept',
};

const RISKS: Readonly<Record<string, AddonRisk>> = {
  'hostpath-storage': HOSTPATH,
  storage: HOSTPATH,
  registry: {
    level: 'destructive',
    disable: 'deletes the container-registry namespace with its PVC registry-claim; the StorageClass reclaim policy Delete removes the volume',
    loss: 'every image pushed to the registry at localhost:32000 is deleted',
  },
  observability: {
    level: 'destructive',
    disable: 'helm-uninstalls the stack, deletes the observability namespace and the monitoring CRDs',
    loss: 'all collected metrics, logs and traces (their PVCs) and every ServiceMonitor/PodMonitor/PrometheusRule',
  },
  prometheus: {
    level: 'destructive',
    disable: 'deletes the kube-prometheus stack and removes ${SNAP_DATA}/kube-prometheus',
    loss: 'all collected metrics and the monitoring CRDs with their objects',
  },
  'cert-manager': {
    level: 'destructive',
    disable: 'deletes every *.cert-manager.io CRD',
    loss: 'every Certificate, Issuer and ClusterIssuer in the cluster (certificates are not renewed until recreated)',
  },
  dns: {
    level: 'destructive',
    disable: 'deletes CoreDNS, removes --cluster-dns/--cluster-domain from the kubelet arguments and restarts kubelet',
    loss: 'cluster DNS is down for every pod until it is enabled again (and kubelet restarts twice)',
  },
  rbac: {
    level: 'destructive',
    disable: 'switches the API server to --authorization-mode=AlwaysAllow, restarts it and deletes the bootstrap RBAC objects',
    loss: 'while it is off every authenticated request is allowed; RBAC objects the add-on created are recreated, others stay',
  },
  'ha-cluster': {
    level: 'refuse',
    disable: 'migrates the cluster off dqlite to flannel and etcd ("Disabling HA will reset your cluster in a clean state")',
    loss: 'the high-availability datastore and every joined node',
  },
  mayastor: {
    level: 'refuse',
    disable: 'by default (--remove-storage, --force) purges every DiskPool, then uninstalls',
    loss: 'all data on Mayastor volumes',
  },
  'rook-ceph': {
    level: 'refuse',
    disable: "refuses while CephClusters exist unless --force, which deletes them",
    loss: 'all data in the Ceph cluster',
  },
  minio: {
    level: 'refuse',
    disable: 'deletes the tenant secret and helm-uninstalls every release in minio-operator',
    loss: 'all object data',
  },
  metallb: {
    level: 'approve',
    disable: 'deletes the metallb-system namespace and its CRDs',
    loss: 'LoadBalancer services lose their external addresses until it is enabled again; address pools set up by hand must be recreated',
  },
  ingress: {
    level: 'approve',
    disable: 'deletes the ingress namespace (and the Gateway API CRDs)',
    loss: 'HTTP(S) ingress is down until it is enabled again',
  },
};

/** An add-on the bot knows nothing about: treated as destructive, saying so. */
const UNKNOWN: AddonRisk = {
  level: 'destructive',
  disable: 'runs its disable script (the bot has no record of what it deletes)',
  loss: 'unknown: read addons/<name>/disable in its repository first; anything it stored in the cluster may be deleted',
};

/** Add-ons whose disable is a no-op (pre-installed tools): refreshing them does nothing. */
export const BUILT_IN_ADDONS: ReadonlySet<string> = new Set(['helm', 'helm3']);

export function addonRisk(name: string): AddonRisk {
  return RISKS[name] ?? UNKNOWN;
}

/** The calico/node tag each MicroK8s minor ships at its branch tip (reference §C4). */
const CALICO_BY_MINOR: ReadonlyArray<[number, string]> = [
  [19, 'v3.13.2'],
  [22, 'v3.19.1'],
  [24, 'v3.21.4'],
  [25, 'v3.23.5'],
  [27, 'v3.25.0'],
  [28, 'v3.25.1'],
  [32, 'v3.28.1'],
  [33, 'v3.29.3'],
];

/** What a MicroK8s minor ships (undefined before 1.19); read the bundled manifest for the exact revision. */
export function calicoShippedBy(minor: number): string | undefined {
  let found: string | undefined;
  for (const [from, version] of CALICO_BY_MINOR) if (minor >= from) found = version;
  return found;
}
