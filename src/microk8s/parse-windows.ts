/**
 * Parsers of what the Windows scripts print: the final `ConvertTo-Json -Compress` line (object
 * or array — PowerShell 5.1 unrolls one-element arrays on the pipeline) and the success texts
 * of the third-party scripts, which often exit 0 after a failure (reference §B2–B4).
 */
import { excerpt } from '../util/excerpt.ts';
import { OutputParseError, outputExcerpt } from './errors.ts';
import { asArray } from './powershell.ts';

export interface WindowsService {
  name: string;
  /** `Running`, `Stopped`, `StartPending`, … (a number from an enum printed raw is mapped). */
  status: string;
}

export interface WindowsFacts {
  productName: string;
  /** `20348` */
  build: number;
  /** Update build revision, e.g. 2582 */
  ubr: number;
  /** `20348.2582`, as Microsoft names OS builds */
  osBuild: string;
  computerName: string;
  admin: boolean;
  /** ISO time of the last boot (changes after a reboot). */
  lastBoot: string;
  services: WindowsService[];
  calicoInstalled: boolean;
  kubeconfig: boolean;
}

export interface NetAdapter {
  name: string;
  status: string;
  description: string;
  ipv4: string[];
}

/** ServiceControllerStatus values, for a Status printed as a number. */
const SERVICE_STATUS: Record<number, string> = { 1: 'Stopped', 2: 'StartPending', 3: 'StopPending', 4: 'Running', 5: 'ContinuePending', 6: 'PausePending', 7: 'Paused' };

function record(value: unknown, command: string, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new OutputParseError(command, what, outputExcerpt(JSON.stringify(value) ?? ''));
  return value as Record<string, unknown>;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

export function parseServices(value: unknown): WindowsService[] {
  return asArray(value).flatMap((s) => {
    if (s === null || typeof s !== 'object') return [];
    const o = s as Record<string, unknown>;
    const status = typeof o.Status === 'number' ? (SERVICE_STATUS[o.Status] ?? String(o.Status)) : str(o.Status);
    return typeof o.Name === 'string' ? [{ name: o.Name, status }] : [];
  });
}

export function serviceStatus(services: readonly WindowsService[], name: string): string | undefined {
  return services.find((s) => s.name.toLowerCase() === name.toLowerCase())?.status;
}

export function parseFacts(value: unknown): WindowsFacts {
  const command = 'read the node';
  const o = record(value, command, 'an object with ProductName, CurrentBuild, UBR');
  const build = Number(str(o.CurrentBuild));
  const ubr = Number(str(o.UBR));
  if (!Number.isInteger(build) || build <= 0) throw new OutputParseError(command, 'CurrentBuild as a number such as 20348', outputExcerpt(str(o.CurrentBuild)));
  const safeUbr = Number.isInteger(ubr) && ubr >= 0 ? ubr : 0;
  return {
    productName: str(o.ProductName),
    build,
    ubr: safeUbr,
    osBuild: `${build}.${safeUbr}`,
    computerName: str(o.ComputerName),
    admin: o.Admin === true,
    lastBoot: str(o.LastBoot),
    services: parseServices(o.Services),
    calicoInstalled: o.CalicoWindows === true,
    kubeconfig: o.KubeConfig === true,
  };
}

export function parseAdapters(value: unknown): NetAdapter[] {
  const o = record(value, 'read the network adapters', 'an object with Adapters and Addresses');
  const addresses = asArray(o.Addresses).flatMap((a) => {
    if (a === null || typeof a !== 'object') return [];
    const r = a as Record<string, unknown>;
    return [{ alias: str(r.InterfaceAlias), ip: str(r.IPAddress) }];
  });
  return asArray(o.Adapters).flatMap((a) => {
    if (a === null || typeof a !== 'object') return [];
    const r = a as Record<string, unknown>;
    const name = str(r.Name);
    if (name === '') return [];
    return [{ name, status: str(r.Status), description: str(r.InterfaceDescription), ipv4: addresses.filter((x) => x.alias === name).map((x) => x.ip) }];
  });
}

/** Why a script's run is not a success, or undefined when it is. */
export type Verdict = { ok: true } | { ok: false; problem: string };

/** The last `max` non-empty lines of an output, for a failure message: each printable and at most 200 characters. */
export function lastLines(text: string, max = 6): string {
  const lines = text.slice(-16_384).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
  return lines.slice(-max).map((l) => excerpt(l, 200)).join('\n');
}

export type ContainerdOutcome = { kind: 'installed' } | { kind: 'reboot' } | { kind: 'failed'; problem: string };

/**
 * install-containerd-runtime.ps1: success is `Script complete!` (or `Containerd is already
 * installed.`) and no `install-container-runtime.err` marker; `A reboot is required` /
 * `Restart is required` means the Containers feature needs a reboot first.
 */
export function containerdOutcome(stdout: string, stderr: string, code: number, json: unknown): ContainerdOutcome {
  if (stdout.includes('A reboot is required') || stdout.includes('Restart is required')) return { kind: 'reboot' };
  const o = json && typeof json === 'object' ? (json as Record<string, unknown>) : {};
  const done = stdout.includes('Script complete!') || stdout.includes('Containerd is already installed.');
  if (code === 0 && done && o.ErrFile !== true && str(o.Containerd) === 'Running') return { kind: 'installed' };
  const why = o.ErrFile === true ? 'it left c:\\k\\install-container-runtime.err (its failure marker)' : !done ? 'it did not print "Script complete!"' : code !== 0 ? `exit code ${code}` : `the containerd service is ${str(o.Containerd) || 'missing'}`;
  return { kind: 'failed', problem: `${why}${tailOf(stderr, stdout)}` };
}

function tailOf(stderr: string, stdout: string): string {
  const t = lastLines(stderr.trim() ? stderr : stdout);
  return t ? `:\n${t}` : '';
}

/** A third-party script's output must contain every `wanted` text (it may have exited 0 after failing). */
export function expectTexts(stdout: string, stderr: string, code: number, wanted: readonly string[]): Verdict {
  const missing = wanted.filter((w) => !stdout.includes(w));
  if (code === 0 && missing.length === 0) return { ok: true };
  const why = code !== 0 ? `exit code ${code}` : `it did not print "${missing[0]}"`;
  return { ok: false, problem: `${why}${tailOf(stderr, stdout)}` };
}

/** Texts install-calico-windows.ps1 prints when it stops early but exits 0. */
export const CALICO_EARLY_EXITS = ['Calico services are still running', 'IPIP is not supported on Windows nodes'];

export interface KubeletEdit {
  removed: number;
  left: string[];
  interfaceLine: string;
}

export function parseKubeletEdit(value: unknown): KubeletEdit {
  const o = record(value, 'edit kubelet-service.ps1', 'an object with Removed, Left, InterfaceLine');
  return { removed: Number(o.Removed) || 0, left: asArray(o.Left).map(str), interfaceLine: str(o.InterfaceLine) };
}

/** The Kubernetes version of a kubelet version string: `v1.27.5-2+abc` → `1.27.5`. */
export function kubeVersionOf(kubelet: string): string | undefined {
  const m = /^v?(\d{1,2})\.(\d{1,3})\.(\d{1,3})/.exec(kubelet);
  return m ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
}

export function minorOf(version: string): number | undefined {
  const m = /^v?1\.(\d{1,3})/.exec(version);
  return m ? Number(m[1]) : undefined;
}

/**
 * The kubelet flags of kubelet-service.ps1 a Kubernetes version no longer takes (seed "Install
 * Calico" 7): `--logtostderr=true` from 1.26 (klog flags removed), `--container-runtime=remote`
 * from 1.27.
 */
export function flagsToRemove(kubeVersion: string): string[] {
  const minor = minorOf(kubeVersion) ?? 0;
  const flags: string[] = [];
  if (minor >= 26) flags.push('--logtostderr=true');
  if (minor >= 27) flags.push('--container-runtime=remote');
  return flags;
}

/** `docker.io/calico/node:v3.25.0` → `3.25.0`. */
export function calicoVersionOfImage(image: string): string | undefined {
  const tag = image.slice(image.lastIndexOf(':') + 1);
  const m = /^v?(\d{1,2}\.\d{1,3}\.\d{1,3})$/.exec(tag);
  return m ? m[1] : undefined;
}

/** The calico-node container's image of `kubectl get ds/calico-node -n kube-system -o json`. */
export function parseCalicoDaemonSet(stdout: string): string {
  const command = 'microk8s kubectl get ds/calico-node -n kube-system -o json';
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw OutputParseError.of(command, 'a DaemonSet as JSON', stdout);
  }
  const containers = (doc as { spec?: { template?: { spec?: { containers?: Array<{ name?: unknown; image?: unknown }> } } } }).spec?.template?.spec?.containers ?? [];
  const c = containers.find((x) => x.name === 'calico-node');
  if (!c || typeof c.image !== 'string') throw OutputParseError.of(command, 'a container named calico-node with an image', stdout);
  return c.image;
}

/** `Client Version:    v3.25.0` of `calicoctl version`. */
export function parseCalicoctlVersion(stdout: string): string | undefined {
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('Client Version:');
    if (i < 0) continue;
    const v = line.slice(i + 'Client Version:'.length).trim();
    return /^v?\d{1,2}\.\d{1,3}\.\d{1,3}$/.test(v) ? v.replace(/^v/, '') : undefined;
  }
  return undefined;
}

/** Windows Server 2022 July 2024 (KB5040437, OS build 20348.2582): container networking broken. */
export const KB5040437 = { build: 20348, ubr: 2582, link: 'https://github.com/microsoft/Windows-Containers/issues/516' };
