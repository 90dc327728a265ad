/**
 * The dqlite backend's files (reference recovery-windows-addons.md §A1–A3): `cluster.yaml` and
 * `info.yaml` (go-dqlite NodeInfo: ID, Address, Role — two key orders exist in the wild, so they
 * are parsed and written as YAML, never by line), the raft file names (closed segments
 * `%016d-%016d`, `open-N`, `snapshot-<term>-<index>-<timestamp>` + `.meta`, `metadata1/2`), and
 * the dqlite shell's `.reconfigure` answer (`OK`, or `Error: …` and the usage text).
 */
import { parse, stringify } from 'yaml';
import { outputExcerpt as excerpt, OutputParseError } from './errors.ts';

export const KUBERNETES_DIR = '/var/snap/microk8s/current/var/kubernetes';
export const BACKEND_DIR = `${KUBERNETES_DIR}/backend`;
export const DQLITE_BIN = '/snap/microk8s/current/bin/dqlite';
export const DQLITE_PORT = 19001;

/** go-dqlite NodeRole: 0 voter, 1 stand-by, 2 spare (the C side treats unknown numbers as voter). */
export const ROLE_NAMES = ['voter', 'stand-by', 'spare'] as const;
export type DqliteRoleName = (typeof ROLE_NAMES)[number];

export type DqliteMember = {
  /** uint64, kept as its decimal text (it does not fit a JS number). */
  id: string;
  address: string;
  role: number;
};

/** How the file spelled its entries: `ID, Address, Role` (yaml.v3, 2023+) or `Address, ID, Role` (ghodss/yaml, sorted). */
export type KeyOrder = 'id-first' | 'address-first';

export interface ClusterYaml {
  members: DqliteMember[];
  keyOrder: KeyOrder;
}

const MAX_YAML = 64 * 1024;
/** host:port, IPv4, a name or a bracketed IPv6 — nothing that could be markup in a chat message. */
const ADDRESS = /^[A-Za-z0-9.[\]:-]{1,260}:[0-9]{1,5}$/;

export function roleName(role: number): DqliteRoleName | 'unknown role' {
  return ROLE_NAMES[role] ?? 'unknown role';
}

function member(value: unknown, where: string, file: string): DqliteMember {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new OutputParseError(file, `${where} is not a mapping`, excerpt(String(value)));
  const v = value as Record<string, unknown>;
  const id = v.ID;
  const address = v.Address;
  const role = v.Role ?? 0n;
  if (typeof id !== 'bigint' || id <= 0n || id > 0xffff_ffff_ffff_ffffn) throw new OutputParseError(file, `${where}: ID must be a non-zero unsigned 64-bit integer`, excerpt(typeof id === 'bigint' ? id.toString() : JSON.stringify(id) ?? ''));
  if (typeof address !== 'string' || !ADDRESS.test(address)) {
    throw new OutputParseError(file, `${where}: Address must be host:port`, excerpt(typeof address === 'string' ? address : JSON.stringify(address) ?? ''));
  }
  if (typeof role !== 'bigint' || role < 0n || role > 255n) throw new OutputParseError(file, `${where}: Role must be 0, 1 or 2`, excerpt(JSON.stringify(role, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? ''));
  return { id: id.toString(), address, role: Number(role) };
}

function load(text: string, file: string): unknown {
  if (text.length > MAX_YAML) throw new OutputParseError(file, `more than ${MAX_YAML} bytes`, excerpt(text));
  try {
    return parse(text, { intAsBigInt: true, maxAliasCount: 0, uniqueKeys: true });
  } catch (err) {
    throw new OutputParseError(file, `not valid YAML (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`, excerpt(text));
  }
}

/** `cluster.yaml`: a list of members; IDs and addresses unique (dqlite aborts on duplicates). */
export function parseClusterYaml(text: string, file = 'cluster.yaml'): ClusterYaml {
  const doc = load(text, file);
  if (!Array.isArray(doc)) throw new OutputParseError(file, 'expected a list of members', excerpt(text));
  const members = doc.map((v, i) => member(v, `entry ${i + 1}`, file));
  const ids = new Set(members.map((m) => m.id));
  const addresses = new Set(members.map((m) => m.address));
  if (ids.size !== members.length || addresses.size !== members.length) throw new OutputParseError(file, 'a member ID or Address appears twice', excerpt(text));
  const first = doc[0] as Record<string, unknown> | undefined;
  const keyOrder: KeyOrder = first && Object.keys(first)[0] === 'Address' ? 'address-first' : 'id-first';
  return { members, keyOrder };
}

/** `info.yaml`: this node's ID, Address and Role. */
export function parseInfoYaml(text: string, file = 'info.yaml'): DqliteMember {
  return member(load(text, file), 'info.yaml', file);
}

/** Writes a cluster.yaml in the given key order (IDs as plain integers, as go-dqlite does). */
export function renderClusterYaml(members: readonly DqliteMember[], keyOrder: KeyOrder): string {
  const entries = members.map((m) =>
    keyOrder === 'address-first' ? { Address: m.address, ID: BigInt(m.id), Role: m.role } : { ID: BigInt(m.id), Address: m.address, Role: m.role },
  );
  return stringify(entries, { lineWidth: 0 });
}

export interface ClosedSegment {
  name: string;
  start: number;
  end: number;
}

export interface SnapshotFile {
  name: string;
  term: number;
  index: number;
  timestamp: number;
  /** Its `.meta` file is there too. */
  hasMeta: boolean;
}

/** The backend directory by what dqlite does with each file. */
export interface BackendListing {
  closed: ClosedSegment[];
  open: string[];
  snapshots: SnapshotFile[];
  /** `.meta` files without their snapshot. */
  orphanMeta: string[];
  metadata: string[];
  /** Everything else (cluster.yaml, info.yaml, cluster.crt/key, failure-domain, kine.sock, …). */
  other: string[];
  /** The last raft index the file names show: the highest closed-segment end or snapshot index. */
  lastIndex: number;
}

function digitsOnly(s: string): boolean {
  if (s.length === 0 || s.length > 20) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function closedSegment(name: string): ClosedSegment | undefined {
  if (name.length !== 33 || name[16] !== '-') return undefined;
  const a = name.slice(0, 16);
  const b = name.slice(17);
  if (!digitsOnly(a) || !digitsOnly(b)) return undefined;
  return { name, start: Number(a), end: Number(b) };
}

function snapshot(name: string): Omit<SnapshotFile, 'hasMeta'> | undefined {
  if (!name.startsWith('snapshot-')) return undefined;
  const parts = name.slice('snapshot-'.length).split('-');
  if (parts.length !== 3 || !parts.every(digitsOnly)) return undefined;
  return { name, term: Number(parts[0]), index: Number(parts[1]), timestamp: Number(parts[2]) };
}

const blank = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/** Trims spaces, tabs, CR and LF at both ends by scanning (linear, no regex on node output). */
function trimLine(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && blank(s[a])) a++;
  while (b > a && blank(s[b - 1])) b--;
  return s.slice(a, b);
}

/** `ls -1 <backend>`: one name a line. */
export function parseBackendListing(stdout: string): BackendListing {
  const names = stdout.split('\n').map(trimLine).filter((n) => n.length > 0 && n.length <= 255).slice(0, 10_000);
  const set = new Set(names);
  const out: BackendListing = { closed: [], open: [], snapshots: [], orphanMeta: [], metadata: [], other: [], lastIndex: 0 };
  for (const name of names) {
    const seg = closedSegment(name);
    if (seg) {
      out.closed.push(seg);
      continue;
    }
    if (name.startsWith('open-') && digitsOnly(name.slice(5))) {
      out.open.push(name);
      continue;
    }
    if (name === 'metadata1' || name === 'metadata2') {
      out.metadata.push(name);
      continue;
    }
    if (name.endsWith('.meta') && snapshot(name.slice(0, -5))) {
      if (!set.has(name.slice(0, -5))) out.orphanMeta.push(name);
      continue;
    }
    const snap = snapshot(name);
    if (snap) {
      out.snapshots.push({ ...snap, hasMeta: set.has(`${name}.meta`) });
      continue;
    }
    out.other.push(name);
  }
  out.closed.sort((x, y) => x.start - y.start);
  out.snapshots.sort((x, y) => x.index - y.index);
  out.lastIndex = Math.max(0, ...out.closed.map((s) => s.end), ...out.snapshots.map((s) => s.index));
  return out;
}

/** The raft data files dqlite reads: snapshots and their meta, closed and open segments, metadata1/2. */
export function dataFiles(l: BackendListing): string[] {
  return [
    ...l.snapshots.flatMap((s) => (s.hasMeta ? [s.name, `${s.name}.meta`] : [s.name])),
    ...l.orphanMeta,
    ...l.closed.map((s) => s.name),
    ...l.open,
    ...l.metadata,
  ];
}

/** What the template hands to the other survivors: snapshots + meta and closed segments (never open-*, metadata, info.yaml). */
export function templateFiles(l: BackendListing): string[] {
  return [...l.snapshots.filter((s) => s.hasMeta).flatMap((s) => [s.name, `${s.name}.meta`]), ...l.closed.map((s) => s.name)];
}

/**
 * The dqlite shell's answer to `.reconfigure`: exactly `OK` on stdout and exit 0. Anything else
 * is the shell's text (its `Error: …` line first, without the usage that follows), for the thread.
 */
export function reconfigureOutcome(stdout: string, stderr: string, code: number): { ok: true } | { ok: false; text: string } {
  if (code === 0 && trimLine(stdout) === 'OK') return { ok: true };
  const lines = `${stderr}\n${stdout}`.split('\n').map(trimLine).filter((l) => l.length > 0);
  const error = lines.find((l) => l.startsWith('Error:'));
  const text = error ?? lines.slice(0, 3).join(' / ');
  return { ok: false, text: `${excerpt(text, 400) || '(no output)'} (exit code ${code})` };
}
