/**
 * Add-on and CNI commands on a node (reference §C1, §C2, B6), reached through
 * `MicroK8sNode.addons`; their parsers are in parse-addons.ts:
 *
 *   microk8s status --format yaml                     the add-ons
 *   microk8s enable|disable <addon>                   one add-on per command, never with arguments
 *   microk8s kubectl get ds calico-node -n kube-system -o json
 *   microk8s kubectl get pods -n kube-system -l k8s-app=calico-node -o json
 *   microk8s kubectl apply -f <file>
 *   microk8s kubectl rollout status ds/calico-node -n kube-system --timeout=<N>s
 *   test -e <lock file>
 *   sudo cat <calico.yaml | cni.yaml | cni.yaml.backup>   the Calico manifests (files.ts), parsed
 *   sudo sha256sum <calico.yaml> <cni.yaml> <cni.yaml.backup>   their digests (read each distinct one once)
 */
import { CommandFailedError, tail } from '../ssh/errors.ts';
import type { RemoteShell } from '../ssh/types.ts';
import { BUNDLED_CALICO, CNI_AUTO_BACKUP, DEPLOYED_CNI, NO_MANAGE_CALICO, parseCalicoManifest, type CalicoManifest } from './calico-manifest.ts';
import { InvalidValueError, OutputParseError } from './errors.ts';
import { readRemoteFile } from './files.ts';
import { allInOrder } from '../util/in-order.ts';
import {
  parseAddonStatus,
  parseApplyOutput,
  parseCalicoDaemonSet,
  parseCalicoPods,
  parseXable,
  type AddonStatus,
  type CalicoPod,
  type DaemonSetState,
  type XableResult,
} from './parse-addons.ts';
import { parseSha256sums } from './parse-misc.ts';
import { outputLines } from './parse-snap.ts';
import { assertSeconds } from './validate.ts';

export type { AddonInfo, AddonStatus, CalicoPod, DaemonSetState, XableOutcome, XableResult } from './parse-addons.ts';

/** `dns`, `hostpath-storage`, `core/dns`, `community/argocd`: lowercase words, no arguments (`:`), one add-on. */
export const ADDON_NAME = /^(?:[a-z][a-z0-9-]{0,30}\/)?[a-z0-9][a-z0-9-]{0,40}$/;

export function assertAddonName(name: string): string {
  if (typeof name !== 'string' || !ADDON_NAME.test(name)) {
    throw new InvalidValueError(`${typeof name === 'string' ? JSON.stringify(name.slice(0, 60)) : typeof name} is not an add-on name: lowercase letters, digits and "-", optionally prefixed by its repository (core/dns), and no arguments`);
  }
  return name;
}

const PLAIN_PATH = /^\/[A-Za-z0-9._/-]+$/;

function assertPlainPath(path: string, what: string): string {
  if (!PLAIN_PATH.test(path) || path.includes('..')) throw new InvalidValueError(`refusing to ${what} ${JSON.stringify(path)}: not a plain absolute path`);
  return path;
}

/** The three Calico manifests a node has, in this order: where each is and how errors name it. */
export const CALICO_MANIFESTS = [
  { kind: 'bundled', path: BUNDLED_CALICO, what: 'the bundled calico.yaml' },
  { kind: 'deployed', path: DEPLOYED_CNI, what: 'cni.yaml' },
  { kind: 'backup', path: CNI_AUTO_BACKUP, what: 'cni.yaml.backup' },
] as const;
const CALICO_PATHS = CALICO_MANIFESTS.map((f) => f.path);

/** Their sha256 digests on a node (lowercase hex); undefined: the file does not exist. */
export interface CalicoDigests {
  bundled: string | undefined;
  deployed: string | undefined;
  backup: string | undefined;
}

/** A node's Calico files, parsed (the texts too, for upgrade-cni); undefined: the file does not exist. */
export interface NodeCalicoFiles {
  bundled: { text: string; manifest: CalicoManifest } | undefined;
  deployed: { text: string; manifest: CalicoManifest } | undefined;
  /** cni.yaml.backup, left by a refresh that replaced cni.yaml; an unreadable one counts as none. */
  backup: { text: string; manifest: CalicoManifest } | undefined;
  /** The no-manage-calico lock exists. */
  noManage: boolean;
}

/** The add-on and Calico commands of one node (made by MicroK8sNode.addons). */
export class AddonCommands {
  constructor(private readonly shell: RemoteShell) {}

  private named<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw err instanceof OutputParseError ? err.onNode(this.shell.node) : err;
    }
  }

  /** `microk8s status --format yaml`: the add-ons (with repository and version where listed). */
  async status(): Promise<AddonStatus> {
    const r = await this.shell.exec(['microk8s', 'status', '--format', 'yaml'], { privileged: true, okExitCodes: [0, 1] });
    try {
      return parseAddonStatus(r.stdout);
    } catch (err) {
      if (r.code !== 0) throw new CommandFailedError(this.shell.node, r.command, r.code, tail(r.stderr), undefined, tail(r.stdout, 10, 1000));
      throw err instanceof OutputParseError ? err.onNode(this.shell.node) : err;
    }
  }

  /**
   * `microk8s enable|disable <name>`: exactly one add-on, no arguments (so never
   * `hostpath-storage:destroy-storage`), stdin closed (no terminal: prompts read EOF).
   */
  async xable(action: 'enable' | 'disable', name: string, timeoutMs: number): Promise<XableResult> {
    assertAddonName(name);
    const r = await this.shell.exec(['microk8s', action, name], { privileged: true, okExitCodes: [0, 1, 2], timeoutMs });
    return parseXable(action, name, r, this.shell.node);
  }

  /** The calico-node DaemonSet, or undefined when the cluster has none (another CNI). */
  async calicoDaemonSet(): Promise<DaemonSetState | undefined> {
    const r = await this.shell.exec(['microk8s', 'kubectl', 'get', 'ds', 'calico-node', '-n', 'kube-system', '-o', 'json'], { privileged: true, okExitCodes: [0, 1] });
    if (r.code !== 0) {
      if (/\(NotFound\)/.test(r.stderr)) return undefined;
      throw new CommandFailedError(this.shell.node, r.command, r.code, tail(r.stderr));
    }
    return this.named(() => parseCalicoDaemonSet(r.stdout));
  }

  /** The calico-node pods: node, image, Ready. */
  async calicoPods(): Promise<CalicoPod[]> {
    const r = await this.shell.exec(['microk8s', 'kubectl', 'get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node', '-o', 'json'], { privileged: true });
    return this.named(() => parseCalicoPods(r.stdout));
  }

  /** `microk8s kubectl apply -f <path>` (a fixed, validated file on the node). */
  async apply(path: string): Promise<Array<{ object: string; action: string }>> {
    assertPlainPath(path, 'apply');
    const r = await this.shell.exec(['microk8s', 'kubectl', 'apply', '-f', path], { privileged: true });
    return this.named(() => parseApplyOutput(r.stdout));
  }

  /** `kubectl rollout status ds/calico-node` until done or `timeoutSeconds`; a timeout is a CommandFailedError. */
  async waitCalicoRollout(timeoutSeconds: number): Promise<string> {
    assertSeconds(timeoutSeconds, 'the rollout timeout');
    const r = await this.shell.exec(['microk8s', 'kubectl', 'rollout', 'status', 'ds/calico-node', '-n', 'kube-system', `--timeout=${timeoutSeconds}s`], {
      privileged: true,
      timeoutMs: timeoutSeconds * 1000 + 60_000,
    });
    const last = outputLines(r.stdout).filter((l) => l.trim() !== '').pop() ?? '';
    if (!last.endsWith('successfully rolled out')) throw OutputParseError.of('microk8s kubectl rollout status ds/calico-node', '"daemon set "calico-node" successfully rolled out"', r.stdout).onNode(this.shell.node);
    return last;
  }

  /** The bundled calico.yaml of the node's revision, the deployed cni.yaml and its backup, parsed; and the no-manage-calico lock. */
  async calicoFiles(): Promise<NodeCalicoFiles> {
    // Four independent reads at once on the node's connection; a failure is the first in this order.
    const [b, d, k] = CALICO_MANIFESTS;
    const [bundled, deployed, backup, noManage] = await allInOrder([
      this.manifest(b.path, b.what),
      this.manifest(d.path, d.what),
      this.manifest(k.path, k.what).catch(() => undefined),
      this.exists(NO_MANAGE_CALICO),
    ] as const);
    return { bundled, deployed, backup, noManage };
  }

  /**
   * `sha256sum` of the three Calico manifests, in one command: a digest per file, undefined for a
   * file that is not there. Undefined as a whole when sha256sum could not hash one that is (read
   * the files themselves then: calicoFiles).
   */
  async calicoDigests(): Promise<CalicoDigests | undefined> {
    const r = await this.shell.exec(['sha256sum', ...CALICO_PATHS], { privileged: true, okExitCodes: [0, 1] });
    const sums = parseSha256sums(r.stdout, CALICO_PATHS);
    for (const path of CALICO_PATHS) if (!sums.has(path) && !r.stderr.includes(`${path}: No such file or directory`)) return undefined;
    return { bundled: sums.get(BUNDLED_CALICO), deployed: sums.get(DEPLOYED_CNI), backup: sums.get(CNI_AUTO_BACKUP) };
  }

  /** One Calico manifest (`sudo cat`), parsed; undefined when the file is not there. */
  async manifest(path: string, what: string): Promise<{ text: string; manifest: CalicoManifest } | undefined> {
    const text = await readRemoteFile(this.shell, path);
    if (text === undefined) return undefined;
    return { text, manifest: parseCalicoManifest(text, `${what} on ${this.shell.node}`) };
  }

  /** `test -e <path>` as root: does the file exist? */
  async exists(path: string): Promise<boolean> {
    assertPlainPath(path, 'test');
    const r = await this.shell.exec(['test', '-e', path], { privileged: true, okExitCodes: [0, 1] });
    return r.code === 0;
  }
}
