/**
 * The datastore backups kept on the bot host: `MK8S_BACKUP_DIR/<cluster>/<node>/mk8s-backup-<UTC
 * stamp>.tar.gz`, each with a manifest next to it (`….tar.gz.json`: node, sha256, bytes, job,
 * time). Listing (newest first) and pruning to the newest K of a cluster. Plain files, no SSH.
 */
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * `MK8S_BACKUP_DIR/<parts…>`, each level created or made 0700: backups hold every Secret of
 * a cluster and inspect reports its configuration and logs; only the bot's user may look in.
 */
export async function privateDir(backupDir: string, ...parts: string[]): Promise<string> {
  let dir = resolve(backupDir);
  for (const part of ['', ...parts]) {
    dir = part === '' ? dir : join(dir, part);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
  return dir;
}

export const BACKUP_FILE = /^mk8s-backup-(\d{8}T\d{6}Z)\.tar\.gz$/;
const MANIFEST_SUFFIX = '.json';

export interface BackupManifest {
  cluster: string;
  node: string;
  /** The tarball's file name, next to this manifest. */
  file: string;
  sha256: string;
  bytes: number;
  /** The job that took it. */
  job: string;
  /** When it was taken (ISO 8601, UTC). */
  time: string;
  /** Where it was on the node before it was removed there. */
  remotePath: string;
}

export interface StoredBackup {
  node: string;
  path: string;
  file: string;
  bytes: number;
  /** Epoch ms: from the manifest, else the name's stamp, else the file's mtime. */
  takenAt: number;
  sha256?: string;
  job?: string;
  /** false for a tarball without a manifest (an interrupted job, or copied in by hand). */
  hasManifest: boolean;
}

export function clusterBackupDir(backupDir: string, cluster: string): string {
  return resolve(backupDir, cluster);
}

export function manifestPath(tarball: string): string {
  return `${tarball}${MANIFEST_SUFFIX}`;
}

/** `20260701T100000Z` → epoch ms. */
function stampTime(stamp: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  // Date.UTC rolls month 13 or day 99 over: only a stamp that reads back the same is a date
  return Number.isFinite(t) && new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '') === stamp ? t : undefined;
}

export async function writeManifest(tarball: string, manifest: BackupManifest): Promise<string> {
  const path = manifestPath(tarball);
  await writeFile(path, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return path;
}

async function readManifest(path: string): Promise<BackupManifest | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<BackupManifest>;
    if (typeof parsed.sha256 !== 'string' || typeof parsed.time !== 'string') return undefined;
    return parsed as BackupManifest;
  } catch {
    return undefined;
  }
}

async function dirents(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Every backup tarball of a cluster, newest first (across its nodes). */
export async function listBackups(backupDir: string, cluster: string): Promise<StoredBackup[]> {
  const root = clusterBackupDir(backupDir, cluster);
  const out: StoredBackup[] = [];
  for (const nodeDir of await dirents(root)) {
    if (!nodeDir.isDirectory()) continue;
    const dir = join(root, nodeDir.name);
    for (const f of await dirents(dir)) {
      const m = BACKUP_FILE.exec(f.name);
      if (!f.isFile() || !m?.[1]) continue;
      const path = join(dir, f.name);
      const [info, manifest] = await Promise.all([stat(path), readManifest(manifestPath(path))]);
      const fromManifest = manifest ? Date.parse(manifest.time) : Number.NaN;
      const backup: StoredBackup = {
        node: manifest?.node ?? nodeDir.name,
        path,
        file: f.name,
        bytes: info.size,
        takenAt: Number.isFinite(fromManifest) ? fromManifest : (stampTime(m[1]) ?? info.mtimeMs),
        hasManifest: manifest !== undefined,
      };
      if (manifest) {
        backup.sha256 = manifest.sha256;
        backup.job = manifest.job;
      }
      out.push(backup);
    }
  }
  // newest first; the same second: by name, so the order is stable
  return out.toSorted((a, b) => b.takenAt - a.takenAt || b.file.localeCompare(a.file) || a.node.localeCompare(b.node));
}

/** Deletes all but the newest `keep` backups of a cluster (tarball and manifest); returns what went. */
export async function pruneBackups(backupDir: string, cluster: string, keep: number): Promise<StoredBackup[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a whole number of at least 1, got ${String(keep)}`);
  const all = await listBackups(backupDir, cluster);
  const gone = all.slice(keep);
  for (const b of gone) {
    await rm(b.path, { force: true });
    await rm(manifestPath(b.path), { force: true });
  }
  return gone;
}

/** An inspect report kept on the bot host: `<cluster>/inspect/<node>-inspection-report-<stamp>.tar.gz`. */
export const INSPECT_REPORT = /^[a-z0-9][a-z0-9-]{0,62}-inspection-report-[0-9_]+\.tar\.gz$/;

/** Deletes all but the newest `keep` inspect reports of a cluster (by mtime); returns their paths. */
export async function pruneInspectReports(backupDir: string, cluster: string, keep: number): Promise<string[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a whole number of at least 1, got ${String(keep)}`);
  const dir = join(clusterBackupDir(backupDir, cluster), 'inspect');
  const reports: { path: string; name: string; mtimeMs: number }[] = [];
  for (const f of await dirents(dir)) {
    if (!f.isFile() || !INSPECT_REPORT.test(f.name)) continue;
    const path = join(dir, f.name);
    reports.push({ path, name: f.name, mtimeMs: (await stat(path)).mtimeMs });
  }
  const gone = reports.toSorted((a, b) => b.mtimeMs - a.mtimeMs || b.name.localeCompare(a.name)).slice(keep);
  for (const r of gone) await rm(r.path, { force: true });
  return gone.map((r) => r.path);
}

/** `1.2 MB`, `512 B`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** `3 min`, `2 h`, `5 d` ago. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}
