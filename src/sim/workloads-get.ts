/**
 * `kubectl get deploy|svc [NAME] [-o json|yaml|wide|name]` of the simulated workloads
 * (workloads.ts): the objects as the API server shows them, and kubectl's tables.
 */
import type { CommandContext, CommandResult } from './context.ts';
import { apiUnavailable } from './kubectl-common.ts';
import { humanDuration, kubeJson, kubeYaml, listOf } from './kube-output.ts';
import type { SimState } from './state.ts';
import { kubectlTable } from './tabwriter.ts';
import { DEPLOY_TYPES, deployNotFound } from './workloads-kubectl.ts';
import { available, workloadStore, type SimDeployment, type SimService, type WorkloadStore } from './workloads.ts';

type Json = Parameters<typeof kubeJson>[0];

function deploymentObject(store: WorkloadStore, d: SimDeployment, state: SimState): Json {
  const pods = store.podsOf(d);
  const avail = available(store, d, state);
  const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const status: { [k: string]: Json } = { observedGeneration: d.generation, replicas: pods.length, updatedReplicas: pods.length };
  if (avail > 0) {
    status.availableReplicas = avail;
    status.readyReplicas = avail;
  }
  if (avail < d.replicas) status.unavailableReplicas = d.replicas - avail;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      annotations: { 'deployment.kubernetes.io/revision': '1' },
      creationTimestamp: iso(d.createdAt),
      generation: d.generation,
      labels: { app: d.name },
      name: d.name,
      namespace: d.namespace,
      resourceVersion: String(state.raftIndex),
      uid: d.uid,
    },
    spec: {
      progressDeadlineSeconds: 600,
      replicas: d.replicas,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: d.name } },
      strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
      template: {
        metadata: { creationTimestamp: null, labels: { app: d.name } },
        spec: {
          containers: [{ image: d.image, imagePullPolicy: 'IfNotPresent', name: imageName(d.image), resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
          dnsPolicy: 'ClusterFirst',
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
    },
    status,
  };
}

/** The container name kubectl create deployment derives from the image (`dontrebootme/microbot:v1` → `microbot`). */
function imageName(image: string): string {
  const last = image.split('/').pop() ?? image;
  return last.split(/[:@]/)[0] ?? last;
}

function serviceObject(s: SimService, state: SimState): Json {
  const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const port: { [k: string]: Json } = { port: s.port, protocol: 'TCP', targetPort: s.targetPort };
  if (s.name === 'kubernetes') port.name = 'https';
  if (s.nodePort !== undefined) port.nodePort = s.nodePort;
  const spec: { [k: string]: Json } = {
    clusterIP: s.clusterIP,
    clusterIPs: [s.clusterIP],
    internalTrafficPolicy: 'Cluster',
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    ports: [port],
    sessionAffinity: 'None',
    type: s.type,
  };
  if (Object.keys(s.selector).length > 0) spec.selector = s.selector;
  if (s.type === 'NodePort') spec.externalTrafficPolicy = 'Cluster';
  const metadata: { [k: string]: Json } = {
    creationTimestamp: iso(s.createdAt),
    labels: s.name === 'kubernetes' ? { component: 'apiserver', provider: 'kubernetes' } : { app: s.selector.app ?? s.name },
    name: s.name,
    namespace: s.namespace,
    resourceVersion: String(state.raftIndex),
    uid: s.uid,
  };
  return { apiVersion: 'v1', kind: 'Service', metadata, spec, status: { loadBalancer: {} } };
}

/** `kubectl get svc|deploy [NAME…] [-o …]` (dispatched from kubectl.ts's get). */
export function getWorkloads(ctx: CommandContext, type: string, names: string[], flags: Map<string, string>): CommandResult {
  const isDeploy = DEPLOY_TYPES.has(type);
  const down = apiUnavailable(ctx, `get ${isDeploy ? 'deployments.apps' : 'services'}`);
  if (down) return down;
  ctx.state.reconcile();
  const store = workloadStore(ctx.state);
  const all = flags.get('all-namespaces') === 'true';
  const ns = flags.get('namespace') ?? 'default';
  const output = flags.get('output') ?? '';
  const noHeaders = flags.get('no-headers') === 'true';
  const now = ctx.state.now();
  let stderr = '';
  let items: Json[] = [];
  let table = '';
  let shown: string[] = [];
  if (isDeploy) {
    let list = [...store.deployments.values()].filter((d) => all || d.namespace === ns).toSorted((a, b) => a.name.localeCompare(b.name));
    if (names.length > 0) {
      list = names.flatMap((n) => {
        const d = list.find((x) => x.name === n);
        if (!d) stderr += deployNotFound(n);
        return d ? [d] : [];
      });
    }
    items = list.map((d) => deploymentObject(store, d, ctx.state));
    shown = list.map((d) => `deployment.apps/${d.name}`);
    const rows: string[][] = noHeaders ? [] : [[...(all ? ['NAMESPACE'] : []), 'NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', ...(output === 'wide' ? ['CONTAINERS', 'IMAGES', 'SELECTOR'] : [])]];
    for (const d of list) {
      const a = available(store, d, ctx.state);
      const up = store.podsOf(d).length;
      rows.push([...(all ? [d.namespace] : []), d.name, `${a}/${d.replicas}`, String(up), String(a), humanDuration(now - d.createdAt), ...(output === 'wide' ? [imageName(d.image), d.image, `app=${d.name}`] : [])]);
    }
    if (list.length > 0) table = kubectlTable(rows);
  } else {
    let list = [...store.services.values()].filter((s) => all || s.namespace === ns).toSorted((a, b) => a.name.localeCompare(b.name));
    if (names.length > 0) {
      list = names.flatMap((n) => {
        const s = list.find((x) => x.name === n);
        if (!s) stderr += `Error from server (NotFound): services "${n}" not found\n`;
        return s ? [s] : [];
      });
    }
    items = list.map((s) => serviceObject(s, ctx.state));
    shown = list.map((s) => `service/${s.name}`);
    const rows: string[][] = noHeaders ? [] : [[...(all ? ['NAMESPACE'] : []), 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', ...(output === 'wide' ? ['SELECTOR'] : [])]];
    for (const s of list) {
      const ports = s.nodePort !== undefined ? `${s.port}:${s.nodePort}/TCP` : `${s.port}/TCP`;
      const selector = Object.entries(s.selector).map(([k, v]) => `${k}=${v}`).join(',') || '<none>';
      rows.push([...(all ? [s.namespace] : []), s.name, s.type, s.clusterIP, '<none>', ports, humanDuration(now - s.createdAt), ...(output === 'wide' ? [selector] : [])]);
    }
    if (list.length > 0) table = kubectlTable(rows);
  }
  if (items.length === 0 && names.length === 0 && (output === '' || output === 'wide')) stderr += all ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`;
  const code = stderr.includes('(NotFound)') ? 1 : 0;
  const single = names.length === 1 && items.length === 1;
  let stdout: string;
  if (output === 'json') stdout = items.length === 0 && names.length > 0 ? '' : kubeJson(single && items[0] !== undefined ? items[0] : listOf(items));
  else if (output === 'yaml') stdout = items.length === 0 && names.length > 0 ? '' : kubeYaml(single && items[0] !== undefined ? items[0] : listOf(items));
  else if (output === 'name') stdout = shown.map((n) => `${n}\n`).join('');
  else stdout = table;
  return { stdout, stderr, code };
}
