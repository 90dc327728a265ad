/** A node's small in-memory filesystem: what tar writes, sha256sum/stat/cat/SFTP read, rm removes. */
import { posix } from 'node:path';

export interface SimFile {
  data: Buffer;
  owner: string;
  /** Group, when it matters (the backend is root:microk8s). */
  group?: string;
  mode: number;
  mtimeMs: number;
}

export type FsError = 'ENOENT' | 'EACCES' | 'EISDIR' | 'ENOTDIR' | 'EPERM';

/** The message coreutils print for an error (C's strerror). */
export function strerror(e: FsError): string {
  switch (e) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
      return 'Permission denied';
    case 'EISDIR':
      return 'Is a directory';
    case 'ENOTDIR':
      return 'Not a directory';
    default:
      return 'Operation not permitted';
  }
}

export interface FsEntry {
  kind: 'file' | 'dir';
  owner: string;
  group?: string;
  mode: number;
  size: number;
  mtimeMs: number;
}

/** Generated read-only files (the dqlite backend), looked up before the stored ones. */
export type VirtualFiles = () => Map<string, SimFile>;

export class SimFs {
  readonly files = new Map<string, SimFile>();
  /** directory path → owner and mode */
  readonly dirs = new Map<string, { owner: string; mode: number }>();
  /** Supplementary groups of the SSH user (`microk8s` when sudo is not required). */
  readonly userGroups = new Set<string>();

  constructor(
    readonly user: string,
    private readonly aliases: () => Array<[string, string]>,
    private readonly virtual: VirtualFiles,
  ) {
    const root = { owner: 'root', mode: 0o755 };
    for (const d of ['/', '/bin', '/etc', '/home', '/root', '/snap', '/usr', '/usr/bin', '/usr/local', '/usr/local/bin', '/var', '/var/backups', '/var/lib', '/var/snap', '/var/snap/microk8s', '/var/snap/microk8s/common']) {
      this.dirs.set(d, d === '/root' ? { owner: 'root', mode: 0o700 } : root);
    }
    this.dirs.set('/tmp', { owner: 'root', mode: 0o1777 });
    this.dirs.set('/var/tmp', { owner: 'root', mode: 0o1777 });
    this.dirs.set(`/home/${user}`, { owner: user, mode: 0o755 });
  }

  get home(): string {
    return `/home/${this.user}`;
  }

  /** Absolute, normalised, with `/var/snap/microk8s/current` (a symlink) resolved. */
  resolve(path: string): string {
    let p = posix.normalize(path.startsWith('/') ? path : posix.join(this.home, path));
    if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
    for (const [from, to] of this.aliases()) {
      if (p === from || p.startsWith(`${from}/`)) p = to + p.slice(from.length);
    }
    return p;
  }

  private virtualDirs(): Set<string> {
    const out = new Set<string>();
    for (const path of this.virtual().keys()) {
      let d = posix.dirname(path);
      while (d !== '/' && !out.has(d)) {
        out.add(d);
        d = posix.dirname(d);
      }
    }
    return out;
  }

  entry(path: string): FsEntry | undefined {
    const p = this.resolve(path);
    const v = this.virtual().get(p);
    if (v) return { kind: 'file', owner: v.owner, group: v.group, mode: v.mode, size: v.data.length, mtimeMs: v.mtimeMs };
    const f = this.files.get(p);
    if (f) return { kind: 'file', owner: f.owner, group: f.group, mode: f.mode, size: f.data.length, mtimeMs: f.mtimeMs };
    const d = this.dirs.get(p);
    if (d) return { kind: 'dir', owner: d.owner, mode: d.mode, size: 4096, mtimeMs: 0 };
    if (this.virtualDirs().has(p)) {
      const backend = p.endsWith('/backend');
      return backend ? { kind: 'dir', owner: 'root', group: 'microk8s', mode: 0o770, size: 4096, mtimeMs: 0 } : { kind: 'dir', owner: 'root', mode: 0o755, size: 4096, mtimeMs: 0 };
    }
    return undefined;
  }

  /** The permission bits that apply to the SSH user: owner, group or other (shifted to the low 3 bits). */
  perms(e: FsEntry): number {
    if (e.owner === this.user) return (e.mode >> 6) & 7;
    if (e.group !== undefined && this.userGroups.has(e.group)) return (e.mode >> 3) & 7;
    return e.mode & 7;
  }

  private canRead(e: FsEntry, asRoot: boolean): boolean {
    return asRoot || (this.perms(e) & 4) !== 0;
  }

  private canWriteDir(dir: string, asRoot: boolean): boolean {
    if (asRoot) return true;
    const e = this.entry(dir);
    if (!e) return false;
    if (e.owner === this.user) return true;
    return (e.mode & 0o002) !== 0;
  }

  /** Every directory on the way must be searchable by the caller. */
  private traversable(p: string, asRoot: boolean): FsError | undefined {
    if (asRoot) return undefined;
    let d = posix.dirname(p);
    const chain: string[] = [];
    while (true) {
      chain.unshift(d);
      if (d === '/') break;
      d = posix.dirname(d);
    }
    for (const dir of chain) {
      const e = this.entry(dir);
      if (!e) return 'ENOENT';
      if (e.kind !== 'dir') return 'ENOTDIR';
      if ((this.perms(e) & 1) === 0) return 'EACCES';
    }
    return undefined;
  }

  /** A regular file the caller can reach (every directory on the way searchable): its resolved path and entry, or the error. */
  private reachFile(path: string, asRoot: boolean): { p: string; e: FsEntry } | FsError {
    const p = this.resolve(path);
    const t = this.traversable(p, asRoot);
    if (t) return t;
    const e = this.entry(p);
    if (!e) return 'ENOENT';
    if (e.kind === 'dir') return 'EISDIR';
    return { p, e };
  }

  readFile(path: string, asRoot: boolean): Buffer | FsError {
    const found = this.reachFile(path, asRoot);
    if (typeof found === 'string') return found;
    const { p, e } = found;
    if (!this.canRead(e, asRoot)) return 'EACCES';
    return (this.virtual().get(p) ?? this.files.get(p))?.data ?? 'ENOENT';
  }

  stat(path: string, asRoot: boolean): FsEntry | FsError {
    const p = this.resolve(path);
    const t = this.traversable(p, asRoot);
    if (t) return t;
    return this.entry(p) ?? 'ENOENT';
  }

  writeFile(path: string, data: Buffer, asRoot: boolean, mtimeMs: number): FsError | undefined {
    const p = this.resolve(path);
    const t = this.traversable(p, asRoot);
    if (t) return t;
    const dir = this.entry(posix.dirname(p));
    if (!dir) return 'ENOENT';
    if (dir.kind !== 'dir') return 'ENOTDIR';
    const existing = this.entry(p);
    if (existing?.kind === 'dir') return 'EISDIR';
    if (this.virtual().has(p)) return 'EACCES';
    if (existing && !asRoot && existing.owner !== this.user) return 'EACCES';
    if (!existing && !this.canWriteDir(posix.dirname(p), asRoot)) return 'EACCES';
    const file: SimFile = { data, owner: existing?.owner ?? (asRoot ? 'root' : this.user), mode: existing?.mode ?? 0o644, mtimeMs };
    if (existing?.group !== undefined) file.group = existing.group;
    this.files.set(p, file);
    return undefined;
  }

  remove(path: string, asRoot: boolean): FsError | undefined {
    const found = this.reachFile(path, asRoot);
    if (typeof found === 'string') return found;
    const { p, e } = found;
    if (this.virtual().has(p)) return asRoot ? 'EPERM' : 'EACCES';
    const dir = posix.dirname(p);
    if (!this.canWriteDir(dir, asRoot)) return 'EACCES';
    const d = this.entry(dir);
    // sticky directory (/tmp): only the owner may remove
    if (!asRoot && d && (d.mode & 0o1000) !== 0 && e.owner !== this.user) return 'EPERM';
    this.files.delete(p);
    return undefined;
  }

  mkdirp(path: string, asRoot: boolean): { error: FsError; at: string } | undefined {
    const p = this.resolve(path);
    const parts = p.split('/').filter(Boolean);
    let cur = '';
    for (const part of parts) {
      cur = `${cur}/${part}`;
      const e = this.entry(cur);
      if (e) {
        if (e.kind !== 'dir') return { error: 'ENOTDIR', at: cur };
        continue;
      }
      const parent = posix.dirname(cur);
      if (!this.canWriteDir(parent, asRoot)) return { error: 'EACCES', at: cur };
      this.dirs.set(cur, { owner: asRoot ? 'root' : this.user, mode: 0o755 });
    }
    return undefined;
  }
}
