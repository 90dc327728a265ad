/** Kubernetes objects and kubectl's printers (JSON, YAML, tables) for the simulated cluster. */
import { stringify as yamlStringify } from 'yaml';
import type { SimNode } from './node.ts';
import type { SimPod, SimState } from './state.ts';
import { kubectlTable } from './tabwriter.ts';
import { uuid } from './ids.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** kubectl -o json: Go's encoding of unstructured maps (sorted keys), 4-space indent, HTML-safe escapes. */
export function kubeJson(value: Json): string {
  const sorted = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === 'object') {
      const out: { [k: string]: Json } = {};
      for (const [k, val] of Object.entries(v).toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = sorted(val);
      return out;
    }
    return v;
  };
  return `${JSON.stringify(sorted(value), null, 4).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')}\n`;
}

export function kubeYaml(value: Json): string {
  return yamlStringify(value, { sortMapEntries: true, lineWidth: 0 });
}

export function listOf(items: Json[]): Json {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

/** k8s.io/apimachinery duration.HumanDuration, the AGE column. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export function nodeLabels(node: SimNode): Record<string, string> {
  if (node.windows) {
    // what kubelet on Windows registers (no MicroK8s role label: it did not join through MicroK8s)
    return { 'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'windows', 'node.kubernetes.io/windows-build': `10.0.${node.windows.build}` };
  }
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': node.name,
    'kubernetes.io/os': 'linux',
    'microk8s.io/cluster': 'true',
  };
  if (node.role === 'control-plane') labels['node.kubernetes.io/microk8s-controlplane'] = 'microk8s-controlplane';
  else labels['node.kubernetes.io/microk8s-worker'] = 'microk8s-worker';
  return labels;
}

function containerdVersion(kubelet: string): string {
  const m = /^v1\.(\d+)/.exec(kubelet);
  const minor = m ? Number(m[1]) : 22;
  return minor >= 26 ? 'containerd://1.6.15' : minor >= 24 ? 'containerd://1.5.13' : 'containerd://1.5.7';
}

export function nodeObject(state: SimState, node: SimNode): Json {
  const now = state.now();
  const cond = state.readyCondition(node);
  const heartbeat = iso(cond === 'Unknown' ? node.lastTransition : now - (now % 10_000));
  const since = iso(node.lastTransition);
  const pressure = (type: string, reason: string, message: string): Json =>
    cond === 'Unknown'
      ? { lastHeartbeatTime: heartbeat, lastTransitionTime: since, message: 'Kubelet stopped posting node status.', reason: 'NodeStatusUnknown', status: 'Unknown', type }
      : { lastHeartbeatTime: heartbeat, lastTransitionTime: iso(node.createdAt), message, reason, status: 'False', type };
  const ready: Json =
    cond === 'True'
      ? { lastHeartbeatTime: heartbeat, lastTransitionTime: since, message: 'kubelet is posting ready status. AppArmor enabled', reason: 'KubeletReady', status: 'True', type: 'Ready' }
      : cond === 'False'
        ? { lastHeartbeatTime: heartbeat, lastTransitionTime: since, message: 'container runtime status check may not have completed yet', reason: 'KubeletNotReady', status: 'False', type: 'Ready' }
        : { lastHeartbeatTime: heartbeat, lastTransitionTime: since, message: 'Kubelet stopped posting node status.', reason: 'NodeStatusUnknown', status: 'Unknown', type: 'Ready' };
  const taints: Json[] = [];
  for (const [key, added] of node.taintsAddedAt) {
    if (key === 'node.kubernetes.io/unschedulable') taints.push({ effect: 'NoSchedule', key, timeAdded: iso(added) });
    else {
      taints.push({ effect: 'NoSchedule', key, timeAdded: iso(added) });
      taints.push({ effect: 'NoExecute', key, timeAdded: iso(added) });
    }
  }
  const spec: { [k: string]: Json } = {};
  if (taints.length > 0) spec.taints = taints;
  if (node.cordoned) spec.unschedulable = true;
  const resources = { cpu: '4', 'ephemeral-storage': '40470732Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '8148560Ki', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'projectcalico.org/IPv4Address': `${node.ip}/24`,
        'projectcalico.org/IPv4VXLANTunnelAddr': `10.1.${state.podBlock(node)}.192`,
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
      creationTimestamp: iso(node.createdAt),
      labels: nodeLabels(node),
      name: node.name,
      resourceVersion: String(state.raftIndex),
      uid: node.uid,
    },
    spec,
    status: {
      addresses: [
        { address: node.ip, type: 'InternalIP' },
        { address: node.name, type: 'Hostname' },
      ],
      allocatable: { ...resources, memory: '8046160Ki' },
      capacity: resources,
      conditions: [
        pressure('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        pressure('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        pressure('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        ready,
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'amd64',
        bootID: node.bootId,
        containerRuntimeVersion: node.windows ? 'containerd://1.6.6' : containerdVersion(node.kubeletVersion),
        kernelVersion: node.windows ? `10.0.${node.windows.build}.${node.windows.ubr}` : '5.4.0-90-generic',
        kubeProxyVersion: node.kubeletVersion,
        kubeletVersion: node.kubeletVersion,
        machineID: node.machineId,
        operatingSystem: node.windows ? 'windows' : 'linux',
        osImage: node.windows ? `${node.windows.productName} Evaluation` : 'Ubuntu 20.04.3 LTS',
        systemUUID: node.uid,
      },
    },
  };
}

export function podObject(state: SimState, pod: SimPod): Json {
  const metadata: { [k: string]: Json } = {
    creationTimestamp: iso(pod.createdAt),
    labels: pod.labels,
    name: pod.name,
    namespace: pod.namespace,
    resourceVersion: String(state.raftIndex),
    uid: pod.uid,
  };
  if (pod.owner) {
    metadata.generateName = pod.owner.kind === 'ReplicaSet' || pod.owner.kind === 'DaemonSet' ? `${pod.owner.name}-` : pod.owner.name;
    metadata.ownerReferences = [{ apiVersion: pod.owner.kind === 'Job' ? 'batch/v1' : 'apps/v1', blockOwnerDeletion: true, controller: true, kind: pod.owner.kind, name: pod.owner.name, uid: pod.owner.uid }];
  }
  if (pod.mirror) metadata.annotations = { 'kubernetes.io/config.mirror': uuid(`mirror:${pod.name}`), 'kubernetes.io/config.source': 'file' };
  const containerName = pod.app;
  const spec: { [k: string]: Json } = {
    containers: [{ image: pod.image, imagePullPolicy: 'IfNotPresent', name: containerName, resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
    dnsPolicy: 'ClusterFirst',
    enableServiceLinks: true,
    preemptionPolicy: 'PreemptLowerPriority',
    priority: 0,
    restartPolicy: 'Always',
    schedulerName: 'default-scheduler',
    securityContext: {},
    serviceAccount: 'default',
    serviceAccountName: 'default',
    terminationGracePeriodSeconds: 30,
    tolerations: [
      { effect: 'NoExecute', key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 300 },
      { effect: 'NoExecute', key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 300 },
    ],
  };
  if (pod.nodeName) spec.nodeName = pod.nodeName;
  if (pod.hostNetwork) spec.hostNetwork = true;
  if (pod.emptyDir) spec.volumes = [{ emptyDir: {}, name: 'scratch' }];
  let status: { [k: string]: Json };
  if (pod.phase === 'Running' && pod.nodeName) {
    const node = state.nodes.get(pod.nodeName);
    const started = iso(pod.createdAt + 2000);
    status = {
      conditions: [
        { lastProbeTime: null, lastTransitionTime: iso(pod.createdAt), status: 'True', type: 'Initialized' },
        { lastProbeTime: null, lastTransitionTime: started, status: 'True', type: 'Ready' },
        { lastProbeTime: null, lastTransitionTime: started, status: 'True', type: 'ContainersReady' },
        { lastProbeTime: null, lastTransitionTime: iso(pod.createdAt), status: 'True', type: 'PodScheduled' },
      ],
      containerStatuses: [
        {
          containerID: `containerd://${uuid(`ctr:${pod.uid}`).replace(/-/g, '')}${uuid(`ctr2:${pod.uid}`).replace(/-/g, '')}`.slice(0, 77),
          image: `docker.io/library/${pod.image}:latest`,
          imageID: `docker.io/library/${pod.image}@sha256:${uuid(`img:${pod.image}`).replace(/-/g, '')}${uuid(`img2:${pod.image}`).replace(/-/g, '')}`,
          lastState: {},
          name: containerName,
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: started } },
        },
      ],
      hostIP: node?.ip ?? '',
      phase: 'Running',
      podIP: pod.podIP ?? '',
      podIPs: pod.podIP ? [{ ip: pod.podIP }] : [],
      qosClass: 'BestEffort',
      startTime: iso(pod.createdAt),
    };
  } else {
    const total = state.nodes.size;
    status = {
      conditions: [
        {
          lastProbeTime: null,
          lastTransitionTime: iso(pod.createdAt),
          message: `0/${total} nodes are available: ${total} node(s) were unschedulable.`,
          reason: 'Unschedulable',
          status: 'False',
          type: 'PodScheduled',
        },
      ],
      phase: 'Pending',
      qosClass: 'BestEffort',
    };
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec, status };
}

export function nodeStatusColumn(state: SimState, node: SimNode): string {
  const ready = state.readyCondition(node) === 'True' ? 'Ready' : 'NotReady';
  return node.cordoned ? `${ready},SchedulingDisabled` : ready;
}

export function nodesTable(state: SimState, nodes: SimNode[], wide: boolean, noHeaders: boolean): string {
  const now = state.now();
  const rows: string[][] = [];
  if (!noHeaders) rows.push(wide ? ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'] : ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
  for (const n of nodes) {
    const base = [n.name, nodeStatusColumn(state, n), '<none>', humanDuration(now - n.createdAt), n.kubeletVersion];
    rows.push(wide ? [...base, n.ip, '<none>', 'Ubuntu 20.04.3 LTS', '5.4.0-90-generic', containerdVersion(n.kubeletVersion)] : base);
  }
  return kubectlTable(rows);
}

export function podsTable(state: SimState, pods: SimPod[], opts: { allNamespaces: boolean; wide: boolean; noHeaders: boolean }): string {
  const now = state.now();
  const rows: string[][] = [];
  const head = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'];
  const wideHead = ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'];
  if (!opts.noHeaders) rows.push([...(opts.allNamespaces ? ['NAMESPACE'] : []), ...head, ...(opts.wide ? wideHead : [])]);
  for (const p of pods) {
    const running = p.phase === 'Running';
    const base = [p.name, running ? '1/1' : '0/1', p.phase, '0', humanDuration(now - p.createdAt)];
    const wide = [p.podIP ?? '<none>', p.nodeName ?? '<none>', '<none>', '<none>'];
    rows.push([...(opts.allNamespaces ? [p.namespace] : []), ...base, ...(opts.wide ? wide : [])]);
  }
  return kubectlTable(rows);
}
