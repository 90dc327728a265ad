/**
 * The cluster side of the Windows procedure, on a Linux control-plane node (seed "Prepare the
 * MicroK8s cluster" and "Verify"): the Calico version, the kubeconfig, calicoctl's strict
 * affinity, the verification pod. Every value is validated before it reaches argv.
 */
import { CommandFailedError, tail } from '../ssh/errors.ts';
import type { RemoteShell } from '../ssh/types.ts';
import { InvalidValueError, OutputParseError, outputExcerpt, rejectWorkerNotice } from './errors.ts';
import { calicoVersionOfImage, parseCalicoctlVersion, parseCalicoDaemonSet } from './parse-windows.ts';
import { assertNodeName } from './validate.ts';

const KUBECTL = ['microk8s', 'kubectl'] as const;
/** The cluster's admin kubeconfig on a control-plane node (127.0.0.1:16443), for calicoctl. */
export const CLIENT_CONFIG = '/var/snap/microk8s/current/credentials/client.config';
const CALICOCTL_ENV = ['env', `KUBECONFIG=${CLIENT_CONFIG}`, 'DATASTORE_TYPE=kubernetes'] as const;
const SAFE_PATH = /^\/[A-Za-z0-9._/-]+$/;
const SAFE_URL = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%/+-]*)?$/;
const IMAGE = /^[a-z0-9][a-z0-9._/:-]{0,200}$/;

function assertPath(p: string): void {
  if (!SAFE_PATH.test(p)) throw new InvalidValueError(`"${outputExcerpt(p, 60)}" is not an absolute path of letters, digits and ._/-`);
}

/** The calico-node image of the running cluster and its version (`3.25.0`). */
export async function calicoVersion(shell: RemoteShell): Promise<{ image: string; version: string }> {
  const r = await shell.exec([...KUBECTL, 'get', 'ds/calico-node', '-n', 'kube-system', '-o', 'json'], { privileged: true });
  const image = parseCalicoDaemonSet(r.stdout);
  const version = calicoVersionOfImage(image);
  if (!version) throw OutputParseError.of('microk8s kubectl get ds/calico-node -n kube-system -o json', 'a calico/node image tagged vX.Y.Z', image);
  return { image, version };
}

/**
 * `microk8s config`: the admin kubeconfig with the node's address. Secret: the caller passes it
 * straight to the Windows node and keeps it in no step result, log or message.
 */
export async function readKubeconfig(shell: RemoteShell): Promise<string> {
  let r;
  try {
    r = await shell.exec(['microk8s', 'config'], { privileged: true });
  } catch (err) {
    // the error's output tails could hold part of the kubeconfig: say only what failed
    if (err instanceof CommandFailedError) throw new CommandFailedError(shell.node, err.command, err.code, '(output withheld: it may hold credentials)', err.signal);
    throw err;
  }
  rejectWorkerNotice('microk8s config', r.stdout);
  if (!r.stdout.includes('kind: Config') || !r.stdout.includes('server: https://')) {
    // never quote the output: it may hold credentials
    throw new OutputParseError('microk8s config', 'a kubeconfig with a "server: https://" line', `${r.stdout.length} characters without one`, shell.node);
  }
  return r.stdout;
}

/** The version of calicoctl at `path`, or undefined when there is none. */
export async function calicoctlVersion(shell: RemoteShell, path: string): Promise<string | undefined> {
  assertPath(path);
  const r = await shell.exec([...CALICOCTL_ENV, path, 'version'], { privileged: true, okExitCodes: 'any', timeoutMs: 60_000 });
  return parseCalicoctlVersion(r.stdout);
}

/** Downloads calicoctl to `path` (`curl -fsSL -o`), executable. */
export async function fetchCalicoctl(shell: RemoteShell, url: string, path: string): Promise<void> {
  assertPath(path);
  if (!SAFE_URL.test(url)) throw new InvalidValueError(`"${outputExcerpt(url, 80)}" is not a plain http(s) URL`);
  await shell.exec(['curl', '-fsSL', '-o', path, url], { privileged: true, timeoutMs: 5 * 60_000 });
  await shell.exec(['chmod', '0755', path], { privileged: true });
}

/** `calicoctl ipam configure --strictaffinity=true --allow-version-mismatch` (seed "Prepare the cluster" 4). */
export async function setStrictAffinity(shell: RemoteShell, path: string): Promise<void> {
  assertPath(path);
  const argv = [...CALICOCTL_ENV, path, 'ipam', 'configure', '--strictaffinity=true', '--allow-version-mismatch'];
  const r = await shell.exec(argv, { privileged: true, okExitCodes: 'any', timeoutMs: 60_000 });
  if (!r.stdout.includes('Successfully set StrictAffinity to: true')) {
    throw new CommandFailedError(shell.node, r.command, r.code, tail(r.stderr), undefined, tail(r.stdout, 10, 1000));
  }
}

/** The verification pod: nanoserver pinned to the new node by its OS and hostname labels. */
export function testPodOverrides(node: string): string {
  assertNodeName(node);
  return JSON.stringify({ spec: { nodeSelector: { 'kubernetes.io/os': 'windows', 'kubernetes.io/hostname': node } } });
}

export async function runTestPod(shell: RemoteShell, pod: string, image: string, node: string): Promise<void> {
  assertNodeName(pod);
  if (!IMAGE.test(image)) throw new InvalidValueError(`"${outputExcerpt(image, 80)}" is not an image reference`);
  await shell.exec([...KUBECTL, 'run', pod, '--image', image, '--restart=Never', '--overrides', testPodOverrides(node), '--command', '--', 'ping', '-t', 'localhost'], { privileged: true });
}

/** `kubectl wait --for=condition=Ready pod/<pod> --timeout=<N>s` (longer than kubectl run's 60 s). */
export async function waitPodReady(shell: RemoteShell, pod: string, timeoutSeconds: number): Promise<void> {
  assertNodeName(pod);
  await shell.exec([...KUBECTL, 'wait', '--for=condition=Ready', `pod/${pod}`, `--timeout=${timeoutSeconds}s`], { privileged: true, timeoutMs: timeoutSeconds * 1000 + 60_000 });
}

/** `curl.exe -k -s https://kubernetes` inside the pod: the API server's JSON answer (401/403 Status). */
export async function curlKubernetesFromPod(shell: RemoteShell, pod: string): Promise<{ ok: boolean; answer: string }> {
  assertNodeName(pod);
  const r = await shell.exec([...KUBECTL, 'exec', pod, '--', 'curl.exe', '-k', '-s', 'https://kubernetes'], { privileged: true, okExitCodes: 'any', timeoutMs: 120_000 });
  let ok = false;
  try {
    const doc = JSON.parse(r.stdout) as { kind?: unknown; code?: unknown };
    ok = doc.kind === 'Status' && typeof doc.code === 'number';
  } catch {
    ok = false;
  }
  return { ok, answer: outputExcerpt(r.stdout || r.stderr, 200) };
}

export async function deletePod(shell: RemoteShell, pod: string): Promise<void> {
  assertNodeName(pod);
  await shell.exec([...KUBECTL, 'delete', 'pod', pod, '--ignore-not-found', '--wait=false'], { privileged: true });
}

/** `kubectl delete node <node>` (seed "Uninstall", on the MicroK8s machine); gone already is fine. */
export async function deleteNode(shell: RemoteShell, node: string): Promise<void> {
  assertNodeName(node);
  await shell.exec([...KUBECTL, 'delete', 'node', node, '--ignore-not-found'], { privileged: true });
}

/**
 * The functions above on one control-plane node (MicroK8sNode.windows): the shell stays inside
 * src/microk8s; a parse failure names the node.
 */
export class WindowsClusterSide {
  constructor(private readonly shell: RemoteShell) {}

  private async named<T>(pending: Promise<T>): Promise<T> {
    try {
      return await pending;
    } catch (err) {
      if (err instanceof OutputParseError) throw err.onNode(this.shell.node);
      throw err;
    }
  }

  calicoVersion(): Promise<{ image: string; version: string }> {
    return this.named(calicoVersion(this.shell));
  }
  kubeconfig(): Promise<string> {
    return this.named(readKubeconfig(this.shell));
  }
  calicoctlVersion(path: string): Promise<string | undefined> {
    return this.named(calicoctlVersion(this.shell, path));
  }
  fetchCalicoctl(url: string, path: string): Promise<void> {
    return fetchCalicoctl(this.shell, url, path);
  }
  setStrictAffinity(path: string): Promise<void> {
    return setStrictAffinity(this.shell, path);
  }
  runTestPod(pod: string, image: string, node: string): Promise<void> {
    return runTestPod(this.shell, pod, image, node);
  }
  waitPodReady(pod: string, timeoutSeconds: number): Promise<void> {
    return waitPodReady(this.shell, pod, timeoutSeconds);
  }
  curlKubernetesFromPod(pod: string): Promise<{ ok: boolean; answer: string }> {
    return curlKubernetesFromPod(this.shell, pod);
  }
  deletePod(pod: string): Promise<void> {
    return deletePod(this.shell, pod);
  }
  deleteNode(node: string): Promise<void> {
    return deleteNode(this.shell, node);
  }
}
