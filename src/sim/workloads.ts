/**
 * Deployments and NodePort services in the simulated cluster, for the seed's verification
 * workload ("通过部署新工作负载进行验证"):
 *
 *   kubectl create deploy NAME --image IMG      → deployment.apps/NAME created
 *   kubectl scale deploy NAME --replicas N      → deployment.apps/NAME scaled
 *   kubectl expose deploy NAME --port 80 --type NodePort → service/NAME exposed
 *   kubectl get svc|deploy [NAME] [-o json|yaml|wide|name]
 *   kubectl rollout status deploy/NAME [--timeout=Ns]
 *   kubectl delete deploy|svc NAME… [--ignore-not-found]
 *
 * The objects live beside the SimState (one store per state), so the shared state file is
 * untouched; the pods are ordinary SimPods owned by the deployment's ReplicaSet, so drain,
 * `get pods -l app=NAME` and the scheduler treat them like any other.
 *
 * Where: the objects and their pods (this file), the kubectl verbs that change them
 * (workloads-kubectl.ts), and `kubectl get deploy|svc` (workloads-get.ts).
 */
import type { SimPod, SimState } from './state.ts';
import { sha, uuid } from './ids.ts';

export interface SimDeployment {
  namespace: string;
  name: string;
  image: string;
  replicas: number;
  /** pod-template-hash: the ReplicaSet is `<name>-<hash>`. */
  hash: string;
  uid: string;
  createdAt: number;
  generation: number;
}

export interface SimService {
  namespace: string;
  name: string;
  uid: string;
  type: 'NodePort' | 'ClusterIP';
  clusterIP: string;
  port: number;
  targetPort: number;
  nodePort?: number;
  selector: Record<string, string>;
  createdAt: number;
  /** Round-robin cursor over the endpoints (kube-proxy picks at random; the simulator rotates so tests are repeatable). */
  next: number;
}

export class WorkloadStore {
  readonly deployments = new Map<string, SimDeployment>();
  readonly services = new Map<string, SimService>();
  private ipCursor = 2;

  constructor(private readonly state: SimState) {
    // Every cluster has the API server's service.
    this.services.set(key('default', 'kubernetes'), {
      namespace: 'default',
      name: 'kubernetes',
      uid: uuid('svc:default/kubernetes'),
      type: 'ClusterIP',
      clusterIP: '10.152.183.1',
      port: 443,
      targetPort: 16443,
      selector: {},
      createdAt: state.createdAt,
      next: 0,
    });
  }

  deployment(namespace: string, name: string): SimDeployment | undefined {
    return this.deployments.get(key(namespace, name));
  }

  service(namespace: string, name: string): SimService | undefined {
    return this.services.get(key(namespace, name));
  }

  /** The NodePort service listening on `port`, if any. */
  byNodePort(port: number): SimService | undefined {
    return [...this.services.values()].find((s) => s.nodePort === port);
  }

  /** The deployment's pods (its ReplicaSet's), oldest first. */
  podsOf(d: SimDeployment): SimPod[] {
    const rs = `${d.name}-${d.hash}`;
    return this.state.pods.filter((p) => p.namespace === d.namespace && p.owner?.kind === 'ReplicaSet' && p.owner.name === rs).toSorted((a, b) => a.createdAt - b.createdAt);
  }

  /** Pods a service sends traffic to: Running, on a node that is up, matching its selector. */
  endpoints(s: SimService): SimPod[] {
    if (Object.keys(s.selector).length === 0) return [];
    return this.state.pods
      .filter((p) => p.namespace === s.namespace && p.phase === 'Running' && p.nodeName !== undefined)
      .filter((p) => Object.entries(s.selector).every(([k, v]) => p.labels[k] === v))
      .filter((p) => {
        const node = p.nodeName ? this.state.nodes.get(p.nodeName) : undefined;
        return node !== undefined && node.up && !node.stopped;
      })
      .toSorted((a, b) => a.name.localeCompare(b.name));
  }

  create(namespace: string, name: string, image: string, replicas: number): SimDeployment {
    const now = this.state.now();
    const d: SimDeployment = {
      namespace,
      name,
      image,
      replicas: 0,
      hash: templateHash(`${namespace}/${name}:${image}`),
      uid: uuid(`deploy:${namespace}/${name}:${now}`),
      createdAt: now,
      generation: 1,
    };
    this.deployments.set(key(namespace, name), d);
    this.scale(d, replicas);
    return d;
  }

  /** Adds or removes pods (newest first) until the ReplicaSet has `replicas`; the scheduler places new ones. */
  scale(d: SimDeployment, replicas: number): void {
    d.replicas = replicas;
    d.generation += 1;
    const pods = this.podsOf(d);
    for (let i = pods.length; i < replicas; i++) {
      this.state.addPod({
        namespace: d.namespace,
        app: d.name,
        labels: { app: d.name, 'pod-template-hash': d.hash },
        owner: { kind: 'ReplicaSet', name: `${d.name}-${d.hash}` },
        image: d.image,
      });
    }
    const extra = pods.slice(replicas);
    if (extra.length > 0) this.state.pods = this.state.pods.filter((p) => !extra.includes(p));
    this.state.reconcile();
  }

  remove(d: SimDeployment): void {
    const pods = new Set(this.podsOf(d));
    this.state.pods = this.state.pods.filter((p) => !pods.has(p));
    this.deployments.delete(key(d.namespace, d.name));
    this.state.bump();
  }

  expose(d: SimDeployment, name: string, port: number, targetPort: number, type: SimService['type']): SimService {
    const used = new Set([...this.services.values()].map((s) => s.nodePort));
    let nodePort: number | undefined;
    if (type === 'NodePort') {
      do nodePort = 30000 + (this.state.random() % 2768);
      while (used.has(nodePort));
    }
    const svc: SimService = {
      namespace: d.namespace,
      name,
      uid: uuid(`svc:${d.namespace}/${name}:${this.state.now()}`),
      type,
      clusterIP: `10.152.183.${(this.ipCursor = (this.ipCursor % 250) + 1) + 3}`,
      port,
      targetPort,
      ...(nodePort !== undefined ? { nodePort } : {}),
      selector: { app: d.name },
      createdAt: this.state.now(),
      next: 0,
    };
    this.services.set(key(d.namespace, name), svc);
    this.state.bump();
    return svc;
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

const HASH_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A pod-template-hash in the style of the ReplicaSet controller (10 safe characters). */
function templateHash(seed: string): string {
  const h = sha(seed);
  let out = '';
  for (let i = 0; i < 10; i++) out += HASH_ALPHABET[parseInt(h.slice(i * 2, i * 2 + 2), 16) % HASH_ALPHABET.length];
  return out;
}

const stores = new WeakMap<SimState, WorkloadStore>();

/** The deployments and services of a simulated cluster. */
export function workloadStore(state: SimState): WorkloadStore {
  let store = stores.get(state);
  if (!store) {
    store = new WorkloadStore(state);
    stores.set(state, store);
  }
  return store;
}

/** Running pods of the deployment on Ready nodes: what `availableReplicas` counts. */
export function available(store: WorkloadStore, d: SimDeployment, state: SimState): number {
  return store.podsOf(d).filter((p) => {
    const node = p.phase === 'Running' && p.nodeName ? state.nodes.get(p.nodeName) : undefined;
    return node !== undefined && state.isReady(node);
  }).length;
}
