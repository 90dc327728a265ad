/**
 * The seed's verification workload, "通过部署新工作负载进行验证": deploy microbot, scale it
 * to one more replica than there are nodes, expose it as a NodePort service, curl the
 * NodePort of every node at its address (its InternalIP, else its inventory host) from a
 * different node — the network path, as the seed's `curl k8s-1:30032` from one place tests
 * it, not just kube-proxy on the node itself — report which pod answered each request,
 * require answers from more than one pod, and delete the workload — always, also when a
 * step failed. Used by `verify` and at the end of `upgrade-cluster`.
 */
import type { ClusterConfig } from '../config/inventory.ts';
import { errorText, type RunContext } from '../engine/context.ts';
import { RunbookFailure, StopRunbook } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import type { KubeNode } from '../microk8s/types.ts';
import { assertHostAddress } from '../microk8s/validate.ts';
import { pickControlPlane } from './controller.ts';

export const VERIFY_IMAGE = 'dontrebootme/microbot:v1';
/** curl requests per node (the seed curls each node once or twice). */
export const REQUESTS_PER_NODE = 2;
const CURL_MAX_TIME_S = 5;

/** A name unique to the job, so two verifications never share a workload. */
export function verifyWorkloadName(jobId: string): string {
  return `microbot-verify-${jobId}`;
}

export type VerifyAnswer = {
  /** The node whose NodePort was curled. */
  node: string;
  /** The node curl ran on (another one, unless the cluster has a single Linux node). */
  from: string;
  url: string;
  /** The pod that answered (`Container hostname:`), or null when the request failed. */
  pod: string | null;
  error: string | null;
};

export type VerifyReport = {
  name: string;
  nodePort: number;
  answers: VerifyAnswer[];
  /** Different pods that answered. */
  pods: string[];
};

/** `http://<host>:<port>/`, with IPv6 literals bracketed. */
export function nodePortUrl(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}/`;
}

function linuxNodes(cluster: ClusterConfig) {
  return cluster.nodes.filter((n) => n.os !== 'windows');
}

/** Each Linux node and the node that curls it: the next one in the inventory (itself only when alone). */
export function curlPairs(cluster: ClusterConfig): Array<{ target: string; from: string }> {
  const nodes = linuxNodes(cluster);
  return nodes.map((n, i) => ({ target: n.name, from: (nodes[(i + 1) % nodes.length] ?? n).name }));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * The address another node reaches `node` at: its InternalIP (what the cluster's nodes use
 * between them), else its inventory host unless that is a loopback address (an SSH tunnel).
 */
export function nodeAddress(cluster: ClusterConfig, node: string, kube: readonly KubeNode[]): string | undefined {
  const ip = kube.find((k) => k.name === node)?.internalIp;
  if (ip) return assertHostAddress(ip, `InternalIP of ${node}`);
  const host = cluster.nodes.find((n) => n.name === node)?.host;
  return host && !isLoopback(host) ? assertHostAddress(host, `inventory host of ${node}`) : undefined;
}

/** The step titles of the verification: its plan lines and its thread lines. */
export function verifyTitles(name: string) {
  return {
    create: `create the verification workload ${name}`,
    wait: `wait for the ${name} pods to run`,
    nodePort: `read the NodePort of ${name}`,
    curl: `curl the NodePort of every node of ${name} from another node`,
    delete: `delete the verification workload ${name}`,
  };
}

/** The plan lines of the verification (dry run, plan gate). */
export function verifyPlan(cluster: ClusterConfig, name: string): PlanStep[] {
  const controller = cluster.nodes.find((n) => n.role === 'control-plane')?.name;
  const k = 'microk8s kubectl';
  const t = verifyTitles(name);
  return [
    {
      title: t.create,
      ...(controller ? { node: controller } : {}),
      commands: [`${k} create deploy --image ${VERIFY_IMAGE} ${name}`, `${k} scale deploy ${name} --replicas ${cluster.nodes.length + 1}`, `${k} expose deploy ${name} --port 80 --type NodePort`],
    },
    { title: t.wait, ...(controller ? { node: controller } : {}), commands: [`${k} rollout status deploy/${name} --timeout=<readyTimeout>`, `${k} get pods -l app=${name} -o json`] },
    { title: t.nodePort, ...(controller ? { node: controller } : {}), commands: [`${k} get svc ${name} -o json`] },
    {
      title: t.curl,
      commands: [
        ...(controller ? [`on ${controller}: ${k} get nodes -o json (each node's InternalIP)`] : []),
        ...curlPairs(cluster).map((p) => `on ${p.from}: curl --silent --max-time ${CURL_MAX_TIME_S} http://<${p.target} InternalIP, else its host>:<nodePort>/ (×${REQUESTS_PER_NODE})`),
      ],
    },
    { title: t.delete, ...(controller ? { node: controller } : {}), commands: [`${k} delete svc ${name} --ignore-not-found`, `${k} delete deploy ${name} --ignore-not-found`] },
  ];
}

/** Deletes the service and the deployment (their pods go with it); fine when they are gone already. */
async function deleteWorkload(run: RunContext, name: string): Promise<string> {
  const controller = await pickControlPlane(run);
  const said = await controller.ops.workload.deleteNodePortDeployment(name);
  return said.length > 0 ? said.join('; ') : 'nothing left to delete';
}

/**
 * Runs the verification as durable steps and returns what answered. A failed check throws
 * (after the workload is deleted): a RunbookFailure saying which node got which answer.
 */
export async function runVerifyWorkload(run: RunContext, name: string): Promise<VerifyReport> {
  let report: VerifyReport | undefined;
  let failure: unknown;
  try {
    report = await verifySteps(run, name);
  } catch (err) {
    failure = err;
  }
  try {
    await cleanUp(run, name);
  } catch (err) {
    if (failure === undefined || err instanceof StopRunbook) throw err;
    throw new RunbookFailure(`${errorText(failure)} Deleting the verification workload failed too: ${errorText(err)}. Delete it by hand: \`microk8s kubectl delete svc,deploy ${name}\`.`);
  }
  if (failure !== undefined || report === undefined) throw failure;
  return report;
}

async function verifySteps(run: RunContext, name: string): Promise<VerifyReport> {
  const readySeconds = Math.ceil(run.cluster.policy.readyTimeout / 1000);
  {
    const t = verifyTitles(name);
    const created = await run.step(
      t.create,
      async () => {
        const controller = await pickControlPlane(run);
        const replicas = controller.nodes.length + 1;
        // "already exists" is fine: a re-run of this step
        await controller.ops.workload.createNodePortDeployment(name, VERIFY_IMAGE, replicas);
        return { controller: controller.name, replicas };
      },
      { describe: (c) => `deployment ${name} (${VERIFY_IMAGE}) scaled to ${c.replicas} replicas (one more than the nodes), exposed as a NodePort service` },
    );

    await run.step(
      t.wait,
      async () => {
        const pods = await run.node(created.controller).workload.rolloutPods(name, readySeconds);
        const running = pods.filter((p) => p.phase === 'Running');
        if (running.length < created.replicas) {
          throw new RunbookFailure(`Only ${running.length} of ${created.replicas} ${name} pods are Running after the rollout.`);
        }
        return running.map((p) => `${p.name}@${p.node ?? '?'}`);
      },
      { describe: (pods) => `${pods.length} running: ${pods.map((p) => p.replace('@', ' on ')).join(', ')}` },
    );

    const nodePort = await run.step(t.nodePort, async () => run.node(created.controller).workload.serviceNodePort(name), {
      describe: (p) => `NodePort ${p}`,
    });

    return await run.step(
      t.curl,
      async (): Promise<VerifyReport> => {
        const answers: VerifyAnswer[] = [];
        const kube = await run.node(created.controller).nodes();
        for (const { target, from } of curlPairs(run.cluster)) {
          const address = nodeAddress(run.cluster, target, kube);
          if (!address) {
            answers.push({ node: target, from, url: '', pod: null, error: 'no address to reach it at: no InternalIP, and its inventory host is a loopback address' });
            continue;
          }
          const url = nodePortUrl(address, nodePort);
          for (let i = 0; i < REQUESTS_PER_NODE; i++) {
            try {
              const a = await run.node(from).workload.curlPod(url, CURL_MAX_TIME_S);
              answers.push(a.pod !== undefined ? { node: target, from, url, pod: a.pod, error: null } : { node: target, from, url, pod: null, error: a.error });
            } catch (err) {
              answers.push({ node: target, from, url, pod: null, error: errorText(err) });
            }
          }
        }
        const pods = [...new Set(answers.flatMap((a) => (a.pod ? [a.pod] : [])))];
        const report: VerifyReport = { name, nodePort, answers, pods };
        const silent = linuxNodes(run.cluster).filter((n) => !answers.some((a) => a.node === n.name && a.pod));
        if (silent.length > 0 || pods.length < 2) {
          const problem =
            silent.length > 0
              ? `no pod answered on ${silent.map((n) => n.name).join(', ')}`
              : `only ${pods.length === 0 ? 'no pod' : `one pod (${pods[0]})`} answered ${answers.length} requests: the service does not spread the load`;
          throw new RunbookFailure(`The verification workload failed: ${problem}. Answers: ${describeAnswers(report)}.`);
        }
        return report;
      },
      { describe: (r) => `${describeAnswers(r)} — ${r.pods.length} different pods answered ${r.answers.length} requests` },
    );
  }
}

/** `k8s-1 (10.0.0.11, from k8s-2): pod-a, pod-b · k8s-2 (10.0.0.12, from k8s-3): (curl exit 7: connection refused)` */
export function describeAnswers(r: VerifyReport): string {
  const byNode = new Map<string, { where: string; got: string[] }>();
  for (const a of r.answers) {
    const entry = byNode.get(a.node) ?? { where: `${a.url ? `${urlHost(a.url)}, ` : ''}from ${a.from}`, got: [] };
    entry.got.push(a.pod ?? `(${a.error ?? 'no answer'})`);
    byNode.set(a.node, entry);
  }
  return [...byNode].map(([node, e]) => `${node} (${e.where}): ${e.got.join(', ')}`).join(' · ');
}

function urlHost(url: string): string {
  return url.slice('http://'.length, url.lastIndexOf(':'));
}

/**
 * The cleanup step, run whatever happened before it. A cancelled job refuses new steps, so
 * then the (idempotent) deletion runs outside a step, and the cancel goes on.
 */
async function cleanUp(run: RunContext, name: string): Promise<void> {
  try {
    await run.step(verifyTitles(name).delete, () => deleteWorkload(run, name), { describe: (r) => r });
  } catch (err) {
    if (err instanceof StopRunbook && err.state === 'cancelled') {
      try {
        await deleteWorkload(run, name);
        await run.say(`Deleted the verification workload ${name} before stopping.`);
      } catch (inner) {
        await run.say(`Could not delete the verification workload ${name}: ${errorText(inner)}. Delete it by hand: \`microk8s kubectl delete svc,deploy ${name}\`.`);
      }
      throw err;
    }
    throw err;
  }
}
