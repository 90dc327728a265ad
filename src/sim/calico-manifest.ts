/**
 * The Calico manifest a simulated MicroK8s revision ships at
 * `$SNAP/upgrade-scripts/000-switch-to-calico/resources/calico.yaml`: the same documents and
 * the same traps as the real one (reference §C4), shortened (two CRDs instead of twenty):
 * `calico/cni` images first, and from 1.25 the commented-out `mount-bpffs` init container that
 * names the node image before the real `calico-node` container does.
 */

/** calico/node per MicroK8s minor (branch tips; 1.25 at release shipped v3.23.3). */
export function calicoNodeVersion(minor: number): string {
  if (minor >= 33) return 'v3.29.3';
  if (minor >= 32) return 'v3.28.1';
  if (minor >= 28) return 'v3.25.1';
  if (minor >= 27) return 'v3.25.0';
  if (minor >= 26) return 'v3.23.5';
  if (minor >= 25) return 'v3.23.3';
  if (minor >= 24) return 'v3.21.4';
  if (minor >= 22) return 'v3.19.1';
  return 'v3.13.2';
}

function kubeControllersVersion(minor: number): string {
  return minor === 22 || minor === 23 ? 'v3.17.3' : calicoNodeVersion(minor);
}

function crd(plural: string, kind: string): string {
  return `---
# Source: calico/templates/kdd-crds.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.crd.projectcalico.org
spec:
  group: crd.projectcalico.org
  names:
    kind: ${kind}
    listKind: ${kind}List
    plural: ${plural}
    singular: ${kind.toLowerCase()}
  scope: Cluster
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        type: object
        properties:
          apiVersion:
            type: string
          kind:
            type: string
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
    served: true
    storage: true
`;
}

function env(name: string, value: string, comment?: string): string {
  return `${comment ? `            # ${comment}\n` : ''}            - name: ${name}\n              value: "${value}"\n`;
}

function fromConfig(name: string, key: string, comment?: string): string {
  return `${comment ? `            # ${comment}\n` : ''}            - name: ${name}\n              valueFrom:\n                configMapKeyRef:\n                  name: calico-config\n                  key: ${key}\n`;
}

/** The whole bundled manifest of a MicroK8s minor. */
export function bundledCalicoYaml(minor: number): string {
  const v = calicoNodeVersion(minor);
  const kc = kubeControllersVersion(minor);
  const mtu = minor <= 23 ? '1440' : '0';
  const bpffs =
    minor >= 25
      ? `        # # This init container mounts the necessary filesystems needed by the BPF data plane
        # - name: "mount-bpffs"
        #   image: docker.io/calico/node:${v}
        #   imagePullPolicy: IfNotPresent
        #   command: ["calico-node", "-init", "-best-effort"]
`
      : `        # Adds a Flex Volume Driver that creates a per-pod Unix Domain Socket to allow Dikastes
        - name: flexvol-driver
          image: docker.io/calico/pod2daemon-flexvol:${v}
          securityContext:
            privileged: true
`;
  const envs =
    env('DATASTORE_TYPE', 'kubernetes', 'Use Kubernetes API as the backing datastore.') +
    env('WAIT_FOR_DATASTORE', 'true', 'Wait for the datastore.') +
    `            # Set based on the k8s node name.\n            - name: NODENAME\n              valueFrom:\n                fieldRef:\n                  fieldPath: spec.nodeName\n` +
    fromConfig('CALICO_NETWORKING_BACKEND', 'calico_backend', 'Choose the backend to use.') +
    env('CLUSTER_TYPE', 'k8s,bgp', 'Cluster type to identify the deployment type') +
    env('IP', 'autodetect', 'Auto-detect the BGP IP address.') +
    env('IP_AUTODETECTION_METHOD', 'first-found') +
    `            # Enable IPIP\n            # - name: CALICO_IPV4POOL_IPIP\n            #   value: "Always"\n` +
    env('CALICO_IPV4POOL_VXLAN', 'Always', 'Enable or Disable VXLAN on the default IP pool.') +
    (minor >= 25 ? env('CALICO_IPV6POOL_VXLAN', 'Never', 'Enable or Disable VXLAN on the default IPv6 IP pool.') : '') +
    fromConfig('FELIX_IPINIPMTU', 'veth_mtu', 'Set MTU for tunnel device used if ipip is enabled') +
    fromConfig('FELIX_VXLANMTU', 'veth_mtu', 'Set MTU for the VXLAN tunnel device.') +
    fromConfig('FELIX_WIREGUARDMTU', 'veth_mtu', 'Set MTU for the Wireguard tunnel device.') +
    env('CALICO_IPV4POOL_CIDR', '10.1.0.0/16', 'The default IPv4 pool to create on startup if none exists. Changing this value after installation will have no effect.') +
    env('CALICO_DISABLE_FILE_LOGGING', 'true', 'Disable file logging so `kubectl logs` works.') +
    env('FELIX_DEFAULTENDPOINTTOHOSTACTION', 'ACCEPT', 'Set Felix endpoint to host default action to ACCEPT.') +
    env('FELIX_IPV6SUPPORT', 'false', 'Disable IPv6 on Kubernetes.') +
    (minor <= 24 ? env('FELIX_LOGSEVERITYSCREEN', 'error') : '') +
    env('FELIX_HEALTHENABLED', 'true') +
    (minor >= 24 ? `            - name: FELIX_FEATUREDETECTOVERRIDE\n              value: ChecksumOffloadBroken=true\n` : '');
  return `---
# Source: calico/templates/calico-kube-controllers.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: calico-kube-controllers
  namespace: kube-system
---
# Source: calico/templates/calico-node.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: calico-node
  namespace: kube-system
---
# Source: calico/templates/calico-config.yaml
# This ConfigMap is used to configure a self-hosted Calico installation.
kind: ConfigMap
apiVersion: v1
metadata:
  name: calico-config
  namespace: kube-system
data:
  # Typha is disabled.
  typha_service_name: "none"
  # Configure the backend to use.
  # calico_backend: "bird"
  calico_backend: "vxlan"

  # Configure the MTU to use for workload interfaces and tunnels.
  veth_mtu: "${mtu}"

  # The CNI network configuration to install on each node.
  cni_network_config: |-
    {
      "name": "k8s-pod-network",
      "cniVersion": "0.3.1",
      "plugins": [
        { "type": "calico", "datastore_type": "kubernetes", "mtu": __CNI_MTU__, "ipam": { "type": "calico-ipam" } },
        { "type": "portmap", "snat": true, "capabilities": {"portMappings": true} }
      ]
    }
${crd('ippools', 'IPPool')}${crd('felixconfigurations', 'FelixConfiguration')}---
# Source: calico/templates/calico-node-rbac.yaml
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: calico-node
rules:
  - apiGroups: [""]
    resources: ["pods", "nodes", "namespaces"]
    verbs: ["get"]
---
# Source: calico/templates/calico-node.yaml
# This manifest installs the calico-node container, as well
# as the CNI plugins and network config on
# each master and worker node in a Kubernetes cluster.
kind: DaemonSet
apiVersion: apps/v1
metadata:
  name: calico-node
  namespace: kube-system
  labels:
    k8s-app: calico-node
spec:
  selector:
    matchLabels:
      k8s-app: calico-node
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
  template:
    metadata:
      labels:
        k8s-app: calico-node
    spec:
      nodeSelector:
        kubernetes.io/os: linux
      hostNetwork: true
      serviceAccountName: calico-node
      priorityClassName: system-node-critical
      initContainers:
        # This container performs upgrade from host-local IPAM to calico-ipam.
        - name: upgrade-ipam
          image: docker.io/calico/cni:${v}
          command: ["/opt/cni/bin/calico-ipam", "-upgrade"]
          env:
${fromConfig('CALICO_NETWORKING_BACKEND', 'calico_backend')}        # This container installs the CNI binaries
        # and CNI network config file on each node.
        - name: install-cni
          image: docker.io/calico/cni:${v}
          command: ["/opt/cni/bin/install"]
          env:
${env('CNI_CONF_NAME', '10-calico.conflist', 'Name of the CNI config file to create.')}${fromConfig('CNI_MTU', 'veth_mtu', 'CNI MTU Config variable')}${env('CNI_NET_DIR', '/var/snap/microk8s/current/args/cni-network')}${bpffs}      containers:
        # Runs calico-node container on each Kubernetes node. This
        # container programs network policy and routes on each
        # host.
        - name: calico-node
          image: docker.io/calico/node:${v}
          env:
${envs}          securityContext:
            privileged: true
          resources:
            requests:
              cpu: 250m
---
# Source: calico/templates/calico-kube-controllers.yaml
# See https://github.com/projectcalico/kube-controllers
apiVersion: apps/v1
kind: Deployment
metadata:
  name: calico-kube-controllers
  namespace: kube-system
  labels:
    k8s-app: calico-kube-controllers
spec:
  replicas: 1
  selector:
    matchLabels:
      k8s-app: calico-kube-controllers
  template:
    metadata:
      name: calico-kube-controllers
      namespace: kube-system
      labels:
        k8s-app: calico-kube-controllers
    spec:
      serviceAccountName: calico-kube-controllers
      containers:
        - name: calico-kube-controllers
          image: docker.io/calico/kube-controllers:${kc}
          env:
            - name: ENABLED_CONTROLLERS
              value: node
            - name: DATASTORE_TYPE
              value: kubernetes
`;
}
