/**
 * The kubectl commands of the seed's verification workload ("通过部署新工作负载进行验证"):
 * create, scale and expose a deployment, wait for its rollout, read its pods and NodePort,
 * delete it; and `curl` from a node to a NodePort, with microbot's answer read back.
 */
import { InvalidValueError } from '../errors/user-facing.ts';
import { CommandFailedError } from '../ssh/errors.ts';
import type { ExecOptions, ExecResult, RemoteShell } from '../ssh/types.ts';
import { OutputParseError, outputExcerpt } from './errors.ts';
import { parsePods } from './parse-kubectl.ts';
import type { KubePod } from './types.ts';
import { assertSeconds } from './validate.ts';

/** A deployment/service name (DNS-1123 label) and an image reference: what goes into argv here. */
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/;
const URL = /^http:\/\/[A-Za-z0-9.:[\]-]{1,300}\/$/;

function assertName(name: string): string {
  if (!NAME.test(name)) throw new InvalidValueError(`not a workload name: ${JSON.stringify(name.slice(0, 80))}`);
  return name;
}

function kubectl(shell: RemoteShell, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  return shell.exec(['microk8s', 'kubectl', ...args], { privileged: true, ...options });
}

function alreadyExists(err: unknown): boolean {
  return err instanceof CommandFailedError && /already exists/.test(err.stderrTail);
}

/**
 * `kubectl create deploy --image <image> <name>`, `scale deploy <name> --replicas N`,
 * `expose deploy <name> --port 80 --type NodePort`; "already exists" is fine (a step run again).
 */
export async function createNodePortDeployment(shell: RemoteShell, name: string, image: string, replicas: number): Promise<void> {
  assertName(name);
  if (!IMAGE.test(image)) throw new InvalidValueError(`not an image reference: ${JSON.stringify(image.slice(0, 80))}`);
  assertSeconds(replicas, 'the replica count', 1000);
  try {
    await kubectl(shell, ['create', 'deploy', '--image', image, name]);
  } catch (err) {
    if (!alreadyExists(err)) throw err;
  }
  await kubectl(shell, ['scale', 'deploy', name, '--replicas', String(replicas)]);
  try {
    await kubectl(shell, ['expose', 'deploy', name, '--port', '80', '--type', 'NodePort']);
  } catch (err) {
    if (!alreadyExists(err)) throw err;
  }
}

/** `kubectl rollout status deploy/<name> --timeout=<N>s`, then the pods labelled `app=<name>`. */
export async function rolloutPods(shell: RemoteShell, name: string, timeoutSeconds: number): Promise<KubePod[]> {
  assertName(name);
  assertSeconds(timeoutSeconds, 'the rollout timeout');
  await kubectl(shell, ['rollout', 'status', `deploy/${name}`, `--timeout=${timeoutSeconds}s`], { timeoutMs: (timeoutSeconds + 60) * 1000 });
  return parsePods((await kubectl(shell, ['get', 'pods', '-l', `app=${name}`, '-o', 'json'])).stdout);
}

/** `microk8s kubectl get svc NAME -o json` → the service's NodePort. */
export function parseNodePort(text: string, name: string): number {
  const cmd = `microk8s kubectl get svc ${name} -o json`;
  let svc: { kind?: unknown; spec?: { ports?: Array<{ nodePort?: unknown }> } };
  try {
    svc = JSON.parse(text) as typeof svc;
  } catch {
    throw OutputParseError.of(cmd, 'a Service as JSON', text);
  }
  const port = svc.spec?.ports?.map((p) => p.nodePort).find((p): p is number => typeof p === 'number');
  if (svc.kind !== 'Service' || port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw OutputParseError.of(cmd, 'a Service with a nodePort', text);
  }
  return port;
}

/** `kubectl get svc <name> -o json` → its NodePort. */
export async function serviceNodePort(shell: RemoteShell, name: string): Promise<number> {
  assertName(name);
  return parseNodePort((await kubectl(shell, ['get', 'svc', name, '-o', 'json'])).stdout, name);
}

/** `kubectl delete svc <name> --ignore-not-found`, then the deployment: what kubectl said, line by line. */
export async function deleteNodePortDeployment(shell: RemoteShell, name: string): Promise<string[]> {
  assertName(name);
  const svc = await kubectl(shell, ['delete', 'svc', name, '--ignore-not-found']);
  const deploy = await kubectl(shell, ['delete', 'deploy', name, '--ignore-not-found']);
  return `${svc.stdout}${deploy.stdout}`.trim().split('\n').filter(Boolean);
}

/** The pod name in microbot's page: `<p class="centered">Container hostname: microbot-…</p>`. */
export function answeringPod(page: string): string | undefined {
  return /Container hostname:\s*([A-Za-z0-9][A-Za-z0-9.-]*)/.exec(page)?.[1];
}

const CURL_EXIT: Record<number, string> = {
  6: 'could not resolve the host',
  7: 'connection refused',
  28: 'no answer within the time limit',
  52: 'empty reply',
  56: 'connection reset',
};

export type CurlAnswer = { pod: string; error?: undefined } | { pod?: undefined; error: string };

/** `curl --silent --max-time <s> <url>` on the node: the microbot pod that answered, or why none did. */
export async function curlPod(shell: RemoteShell, url: string, maxTimeSeconds: number): Promise<CurlAnswer> {
  if (!URL.test(url)) throw new InvalidValueError(`not a NodePort URL: ${JSON.stringify(url.slice(0, 80))}`);
  assertSeconds(maxTimeSeconds, 'the curl time limit', 600);
  try {
    const r = await shell.exec(['curl', '--silent', '--max-time', String(maxTimeSeconds), url], { timeoutMs: (maxTimeSeconds + 10) * 1000 });
    const pod = answeringPod(r.stdout);
    return pod ? { pod } : { error: `no "Container hostname:" in the answer (${outputExcerpt(r.stdout, 80)})` };
  } catch (err) {
    if (!(err instanceof CommandFailedError) || err.code === null || !CURL_EXIT[err.code]) throw err;
    return { error: `curl exit ${err.code}: ${err.code === 28 ? `no answer within ${maxTimeSeconds} s` : CURL_EXIT[err.code]}` };
  }
}

/** The commands above on one node: `node.workload.curlPod(…)` (MicroK8sNode.workload). A parse failure names the node. */
export class WorkloadCommands {
  constructor(private readonly shell: RemoteShell) {}

  private async named<T>(pending: Promise<T>): Promise<T> {
    try {
      return await pending;
    } catch (err) {
      throw err instanceof OutputParseError ? err.onNode(this.shell.node) : err;
    }
  }

  createNodePortDeployment(name: string, image: string, replicas: number): Promise<void> {
    return createNodePortDeployment(this.shell, name, image, replicas);
  }

  rolloutPods(name: string, timeoutSeconds: number): Promise<KubePod[]> {
    return this.named(rolloutPods(this.shell, name, timeoutSeconds));
  }

  serviceNodePort(name: string): Promise<number> {
    return this.named(serviceNodePort(this.shell, name));
  }

  deleteNodePortDeployment(name: string): Promise<string[]> {
    return deleteNodePortDeployment(this.shell, name);
  }

  curlPod(url: string, maxTimeSeconds: number): Promise<CurlAnswer> {
    return curlPod(this.shell, url, maxTimeSeconds);
  }
}
