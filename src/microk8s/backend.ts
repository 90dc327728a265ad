/**
 * Commands on a node's dqlite backend directory, for quorum recovery (MicroK8sNode.backend()):
 * read its files, the dqlite shell's `.reconfigure`, and the file moves a person would make
 * (private temp dir, tar, rm, sha256sum, SFTP). Stop/start and `nc -z` are membership.ts's.
 * Every command is an argv array; file names come from the node's own listing and are checked
 * against the raft name patterns before they reach a command.
 */
import type { RemoteShell } from '../ssh/types.ts';
import {
  BACKEND_DIR,
  DQLITE_BIN,
  KUBERNETES_DIR,
  parseBackendListing,
  parseClusterYaml,
  parseInfoYaml,
  reconfigureOutcome,
  type BackendListing,
  type ClusterYaml,
  type DqliteMember,
} from './dqlite-files.ts';
import { OutputParseError } from './errors.ts';
import { parseSha256sum, parseStatSize } from './parse-misc.ts';

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);
/** File names this module passes to commands: raft files and the yaml files, nothing with a slash or a leading dash. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
const SAFE_PATH = /^\/[A-Za-z0-9._/-]{1,300}$/;

function checkName(name: string): string {
  if (!SAFE_NAME.test(name)) throw new Error(`refusing an unexpected backend file name ${JSON.stringify(name.slice(0, 80))}`);
  return name;
}

function checkPath(path: string): string {
  if (!SAFE_PATH.test(path) || path.includes('..')) throw new Error(`refusing an unexpected path ${JSON.stringify(path.slice(0, 80))}`);
  return path;
}

export class DqliteBackend {
  constructor(readonly shell: RemoteShell) {}

  get node(): string {
    return this.shell.node;
  }

  /** `sudo ls -1 <backend>`. */
  async list(): Promise<BackendListing> {
    const r = await this.shell.exec(['ls', '-1', BACKEND_DIR], { privileged: true });
    return parseBackendListing(r.stdout);
  }

  private async cat(name: string): Promise<string> {
    const r = await this.shell.exec(['cat', `${BACKEND_DIR}/${checkName(name)}`], { privileged: true });
    return r.stdout;
  }

  /** This node's dqlite identity. */
  async info(): Promise<{ info: DqliteMember; text: string }> {
    const text = await this.cat('info.yaml');
    return { info: this.parsed(() => parseInfoYaml(text, `cat ${BACKEND_DIR}/info.yaml`)), text };
  }

  /** The members as this node's dqlite last saw them. */
  async clusterYaml(name = 'cluster.yaml'): Promise<{ cluster: ClusterYaml; text: string }> {
    const text = await this.cat(name);
    return { cluster: this.parsed(() => parseClusterYaml(text, `cat ${BACKEND_DIR}/${name}`)), text };
  }

  private parsed<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof OutputParseError) throw err.onNode(this.node);
      throw err;
    }
  }

  /** The node answers over SSH at all (`true`). */
  async answers(timeoutMs = 15_000): Promise<boolean> {
    try {
      await this.shell.exec(['true'], { timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  /** `getent hosts <names…>` here: address → name for the names it resolves. */
  async resolve(names: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (names.length === 0) return out;
    for (const n of names) if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(n)) throw new Error(`refusing an unexpected host name ${JSON.stringify(n.slice(0, 80))}`);
    const r = await this.shell.exec(['getent', 'hosts', ...names], { okExitCodes: [0, 2] });
    for (const line of r.stdout.split('\n').slice(0, 200)) {
      const [ip, name] = line.split(' ').filter((w) => w !== '');
      if (ip && name && names.includes(name)) out.set(ip, name);
    }
    return out;
  }

  /** The dqlite shell's `.reconfigure <dir> <cluster.yaml>` on this (stopped) node; only `OK` is success. */
  async reconfigure(): Promise<void> {
    const argv = [DQLITE_BIN, '-s', '127.0.0.1:19001', '-c', `${BACKEND_DIR}/cluster.crt`, '-k', `${BACKEND_DIR}/cluster.key`, 'k8s', `.reconfigure ${BACKEND_DIR}/ ${BACKEND_DIR}/cluster.yaml`];
    const r = await this.shell.exec(argv, { privileged: true, okExitCodes: ANY_EXIT, timeoutMs: 5 * 60_000 });
    const outcome = reconfigureOutcome(r.stdout, r.stderr, r.code);
    if (!outcome.ok) throw new Error(`the dqlite shell on ${this.node} did not answer OK to .reconfigure: ${outcome.text}`);
  }

  /** `mktemp -d` as the SSH user: a fresh directory only that user (and root) can read. */
  async privateDir(): Promise<string> {
    const r = await this.shell.exec(['mktemp', '-d'], {});
    const dir = r.stdout.trim();
    return checkPath(dir);
  }

  /** `sudo tar -czf <file> -C <kubernetes dir> backend` (the whole backend directory). */
  async tarBackend(file: string): Promise<{ sha256: string; bytes: number }> {
    // GNU tar exits 1 when a file changed while it was read; the archive is still written.
    await this.shell.exec(['tar', '-czf', checkPath(file), '-C', KUBERNETES_DIR, 'backend'], { privileged: true, okExitCodes: [0, 1] });
    return this.digest(file);
  }

  /** `sudo tar -czf <file> -C <backend> <names…>`. */
  async tarFiles(file: string, names: readonly string[]): Promise<{ sha256: string; bytes: number }> {
    await this.shell.exec(['tar', '-czf', checkPath(file), '-C', BACKEND_DIR, ...names.map(checkName)], { privileged: true });
    return this.digest(file);
  }

  /** `sudo tar -xzf <file> -C <dir>` (the backend for files, the kubernetes dir for a whole-backend backup). */
  async untar(file: string, into: 'backend' | 'kubernetes'): Promise<void> {
    await this.shell.exec(['tar', '-xzf', checkPath(file), '-C', into === 'backend' ? BACKEND_DIR : KUBERNETES_DIR], { privileged: true });
  }

  async digest(file: string): Promise<{ sha256: string; bytes: number }> {
    const path = checkPath(file);
    const sha = await this.shell.exec(['sha256sum', path], { privileged: true });
    const size = await this.shell.exec(['stat', '-c', '%s', path], { privileged: true });
    return { sha256: this.parsed(() => parseSha256sum(sha.stdout, path)), bytes: this.parsed(() => parseStatSize(size.stdout, path)) };
  }

  /** sha256 of backend files, by name. */
  async sums(names: readonly string[]): Promise<Record<string, string>> {
    if (names.length === 0) return {};
    const r = await this.shell.exec(['sha256sum', ...names.map((n) => `${BACKEND_DIR}/${checkName(n)}`)], { privileged: true });
    const out: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const sp = line.indexOf(' ');
      if (sp !== 64) continue;
      const path = line.slice(sp + 1).replace(/^[ *]/, '');
      const name = path.slice(path.lastIndexOf('/') + 1);
      out[name] = line.slice(0, 64);
    }
    for (const n of names) if (!out[n]) throw new OutputParseError(`sha256sum ${BACKEND_DIR}/…`, `a digest of ${n}`, '(missing)', this.node);
    return out;
  }

  /** `sudo rm -f <backend>/<names…>`. */
  async remove(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.shell.exec(['rm', '-f', ...names.map((n) => `${BACKEND_DIR}/${checkName(n)}`)], { privileged: true });
  }

  /** `sudo rm -f <file>` outside the backend (a temp file of ours). */
  async removePath(path: string): Promise<void> {
    await this.shell.exec(['rm', '-f', checkPath(path)], { privileged: true });
  }

  /** Uploads a local file's bytes into a fresh private dir on the node; returns the remote path. */
  async uploadPrivate(data: Buffer, name: string): Promise<string> {
    const dir = await this.privateDir();
    return checkPath(await this.shell.upload(data, `${dir}/${checkName(name)}`, { mode: 0o600 }));
  }

  async download(remotePath: string, localPath: string): Promise<void> {
    await this.shell.download(checkPath(remotePath), localPath);
  }
}
