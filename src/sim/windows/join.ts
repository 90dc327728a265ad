/**
 * When a simulated Windows node joins: kubelet and kube-proxy run, and kubelet-service.ps1
 * gives kubelet arguments this Kubernetes version accepts (a leftover `--logtostderr=true` on
 * 1.26+ or `--container-runtime=remote` on 1.27+ stops kubelet at flag parsing, as on a real
 * node), an adapter matches its InterfaceName, Calico and containerd run, and c:\k\config
 * names the API server. Then the Node object exists in the cluster, Ready.
 */
import type { SimNode } from '../node.ts';
import type { SimState } from '../state.ts';
import { interfaceDefault, likeMatch } from './calico-files.ts';
import type { SimWindows } from './host.ts';

export const KUBELET_SERVICE = 'c:\\CalicoWindows\\kubernetes\\kubelet-service.ps1';
export const KUBELET_ERR_LOG = 'c:\\k\\kubelet.err.log';
export const KUBELET_OUT_LOG = 'c:\\k\\kubelet.out.log';

function minor(version: string | undefined): number {
  const m = /^v?1\.(\d+)/.exec(version ?? '');
  return m ? Number(m[1]) : 0;
}

function stamp(now: number): string {
  const d = new Date(now);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds() * 1000, 6)}`;
}

/** Why kubelet cannot run now, as its logs would say; undefined when it runs. */
export function kubeletProblem(win: SimWindows, now: number): { err?: string; out?: string } | undefined {
  const text = win.fs.text(KUBELET_SERVICE);
  if (text === undefined) return { err: 'kubelet-service.ps1 is missing' };
  const m = minor(win.kubeVersion);
  const flag = m >= 26 && text.includes('"--logtostderr=true"') ? '--logtostderr' : m >= 27 && text.includes('"--container-runtime=remote"') ? '--container-runtime' : undefined;
  if (flag) return { err: `E${stamp(now)}    5604 run.go:74] "command failed" err="failed to parse kubelet flag: unknown flag: ${flag}"` };
  if (!win.running('CalicoNode')) return { out: 'Waiting for Calico initialisation to finish...' };
  const pattern = interfaceDefault(text) ?? '';
  if (!likeMatch(win.adapterName, pattern)) return { out: `Waiting for interface named like '${pattern}' ...` };
  if (!win.running('containerd')) return { err: 'failed to run Kubelet: validate service connection: CRI v1 runtime API is not implemented for endpoint' };
  if (!(win.fs.text('c:\\k\\config') ?? '').includes('server: https://')) return { err: 'failed to run Kubelet: invalid kubeconfig c:\\k\\config' };
  return undefined;
}

/** Brings the cluster's view in line with the host: the Node object joins, or goes NotReady. */
export function syncWindowsNode(state: SimState, node: SimNode): void {
  const win = node.windows;
  if (!win) return;
  const now = state.now();
  const kubeletUp = win.running('kubelet') && kubeletProblem(win, now) === undefined;
  const healthy = kubeletUp && win.running('kube-proxy') && node.up;
  if (healthy && !state.nodes.has(node.name)) {
    // a new Node object: not cordoned, no taints (whatever the deleted one had)
    node.cordoned = false;
    node.taintsAddedAt.clear();
    state.nodes.set(node.name, node);
    node.lastTransition = now;
    state.bump();
  }
  node.ready = healthy;
  if (win.kubeVersion) win.kubeletVersion = `v${win.kubeVersion}`;
}

/** Start-Service kubelet: nssm starts the service; kubelet itself may exit at once (logged). */
export function startKubelet(win: SimWindows, now: number): void {
  const problem = kubeletProblem(win, now);
  const lines = ['Running kubelet service.'];
  if (problem?.out) lines.push(problem.out);
  else if (!problem) lines.push('Detected containerd running, configuring kubelet for containerd', 'Start c:\\k\\kubelet.exe');
  win.fs.put(KUBELET_OUT_LOG, `${lines.join('\r\n')}\r\n`, now);
  win.fs.put(KUBELET_ERR_LOG, problem?.err ? `${problem.err}\r\n` : '', now);
}
