/**
 * The dqlite backend on disk and the dqlite shell, for quorum recovery (reference
 * recovery-windows-addons.md §A1–A3).
 *
 * While MicroK8s runs, a node's backend files are generated from the shared state (state.ts).
 * `microk8s stop` writes them down as ordinary files (root:microk8s 0660) that rm/cp/tar/SFTP
 * change; `microk8s start` reads them back like dqlite would:
 * - the configuration is the newest closed segment written by `.reconfigure` (else the old one);
 * - after a recovery took effect, a node must hold exactly the template's files of that
 *   reconfigure (snapshots + meta, closed segments; its own metadata1/2 and open-* deleted) and
 *   an info.yaml whose ID is in that configuration — leftovers, missing files, a second
 *   `.reconfigure` elsewhere, or the old log make it fail to rejoin (`datastoreFault`);
 * - the first node that starts with a reconfigured log makes the recovery take effect: dqlite
 *   roles become those of the new configuration, old members are dropped.
 * Every data file starts with a line `SIMDQLITE <kind> origin=<node> config=<n>` naming where it
 * came from, so a copied file is told from a node's own leftover.
 */
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { fail, ok, type CommandContext, type CommandResult } from './context.ts';
import type { SimFile } from './fs.ts';
import type { DqliteRole, SimNode } from './node.ts';
import type { SimState } from './state.ts';

/** One `.reconfigure` that succeeded. */
export interface SimReconfigure {
  config: number;
  template: string;
  members: Array<{ id: string; address: string; role: number }>;
  /** The template's raft data files right after it: name → sha256. */
  files: Map<string, string>;
}

interface Datastore {
  reconfigures: SimReconfigure[];
  /** The reconfigure that took effect (a node started with it). */
  applied?: SimReconfigure;
}

const stores = new WeakMap<SimState, Datastore>();

export function datastoreOf(state: SimState): Datastore {
  let d = stores.get(state);
  if (!d) {
    d = { reconfigures: [] };
    stores.set(state, d);
  }
  return d;
}

export function backendDir(node: SimNode): string {
  return `/var/snap/microk8s/${node.revision}/var/kubernetes/backend`;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const isSegment = (n: string) => /^\d{16}-\d{16}$/.test(n);
const isData = (n: string) => isSegment(n) || /^open-\d+$/.test(n) || /^snapshot-\d+-\d+-\d+(\.meta)?$/.test(n) || n === 'metadata1' || n === 'metadata2';

/** A data file's content: the origin line, then padding. */
export function dataFile(kind: string, origin: string, config: number, size: number, extra = ''): Buffer {
  const head = Buffer.from(`SIMDQLITE ${kind} origin=${origin} config=${config}${extra}\n`);
  return Buffer.concat([head, Buffer.alloc(Math.max(0, size - head.length))]);
}

function header(b: Buffer): { kind: string; origin: string; config: number; members?: SimReconfigure['members'] } | undefined {
  const end = b.indexOf(10);
  const line = b.subarray(0, end < 0 ? Math.min(b.length, 4096) : end).toString();
  const words = line.split(' ');
  if (words[0] !== 'SIMDQLITE' || words.length < 4) return undefined;
  const kv = new Map(words.slice(2).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  const origin = kv.get('origin');
  const config = Number(kv.get('config'));
  if (!origin || !Number.isInteger(config)) return undefined;
  const members = kv.get('members');
  return { kind: words[1]!, origin, config, ...(members ? { members: JSON.parse(Buffer.from(members, 'base64').toString()) as SimReconfigure['members'] } : {}) };
}

/** The stored files of a node's backend directory: name → file. */
function stored(node: SimNode): Map<string, SimFile> {
  const dir = `${backendDir(node)}/`;
  const out = new Map<string, SimFile>();
  for (const [p, f] of node.fs.files) if (p.startsWith(dir) && !p.slice(dir.length).includes('/')) out.set(p.slice(dir.length), f);
  return out;
}

/** `microk8s stop`: the generated backend becomes files on disk. */
export function materialize(state: SimState, node: SimNode): void {
  if (node.backendMaterialized || node.role !== 'control-plane' || node.dqliteRole === undefined) return;
  const files = state.backendFiles(node);
  const dir = backendDir(node);
  const parts = dir.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const d = `/${parts.slice(0, i).join('/')}`;
    if (!node.fs.dirs.has(d)) node.fs.dirs.set(d, { owner: 'root', mode: d === dir ? 0o770 : 0o755 });
  }
  for (const [path, f] of files) node.fs.files.set(path, { ...f, data: Buffer.from(f.data) });
  node.backendMaterialized = true;
}

/** The node's files back to generated ones (a clean start). */
function dematerialize(node: SimNode): void {
  const dir = `${backendDir(node)}/`;
  for (const p of node.fs.files.keys()) if (p.startsWith(dir) && !p.slice(dir.length).includes('/')) node.fs.files.delete(p);
  node.backendMaterialized = false;
}

/** `microk8s start` on a node whose backend is on disk: does its dqlite rejoin? */
export function startDatastore(state: SimState, node: SimNode): void {
  if (!node.backendMaterialized) return;
  const d = datastoreOf(state);
  const files = stored(node);
  const fault = checkBackend(d, node, files);
  if (fault) {
    node.datastoreFault = fault;
    return;
  }
  node.datastoreFault = undefined;
  const cfg = configOf(files);
  if (cfg && !d.applied) apply(state, d, d.reconfigures.find((r) => r.config === cfg)!);
  dematerialize(node);
}

function configOf(files: Map<string, SimFile>): number | undefined {
  let best: { index: number; config: number } | undefined;
  for (const [name, f] of files) {
    if (!isSegment(name)) continue;
    const h = header(f.data);
    const index = Number(name.slice(17));
    if (h?.kind === 'configuration' && (!best || index > best.index)) best = { index, config: h.config };
  }
  return best?.config;
}

function checkBackend(d: Datastore, node: SimNode, files: Map<string, SimFile>): string | undefined {
  const info = files.get('info.yaml');
  let id: string | undefined;
  try {
    id = String((parse(info?.data.toString() ?? '', { intAsBigInt: true }) as { ID?: bigint }).ID ?? '');
  } catch {
    return 'info.yaml is not valid YAML';
  }
  if (!info || !id) return 'no info.yaml';
  for (const [name, f] of files) if (isData(name) && !header(f.data)) return `${name} is not a dqlite file`;
  const cfg = configOf(files);
  if (cfg === undefined) {
    return d.applied ? `its log still holds the old configuration (${d.applied.template} was reconfigured): it keeps calling the lost voters and never rejoins` : undefined;
  }
  const rec = d.reconfigures.find((r) => r.config === cfg);
  if (!rec) return 'unknown configuration entry';
  if (d.applied && d.applied.config !== cfg) return `its log holds another .reconfigure (on ${rec.template}) than the one the cluster runs (on ${d.applied.template})`;
  if (!rec.members.some((m) => m.id === id)) return `its info.yaml ID ${id} is not in the new configuration`;
  for (const [name, f] of files) {
    if (!isData(name)) continue;
    if (rec.files.get(name) !== sha(f.data)) return `leftover ${name} from before the recovery conflicts with the new log: dqlite cannot load it and the node fails to rejoin`;
  }
  for (const name of rec.files.keys()) {
    if (name.startsWith('metadata')) continue;
    if (!files.has(name)) return `${name} of the template is missing: the node lacks the new log and fails to rejoin`;
  }
  return undefined;
}

/** The recovery takes effect: the members and roles of the new configuration, the old members dropped. */
function apply(state: SimState, d: Datastore, rec: SimReconfigure): void {
  d.applied = rec;
  const role = (n: number): DqliteRole => (n === 0 ? 'voter' : n === 1 ? 'standby' : 'spare');
  const old = state.nodeList().filter((n) => n.dqliteRole !== undefined).map((n) => ({ address: n.dqliteAddress, id: n.dqliteId, role: n.dqliteRole }));
  for (const n of state.nodeList()) if (!rec.members.some((x) => x.address === n.dqliteAddress) && n.dqliteRole !== undefined) n.staleMembers = old;
  for (const n of state.nodeList()) {
    const m = rec.members.find((x) => x.address === n.dqliteAddress);
    n.dqliteRole = m ? role(m.role) : undefined;
  }
}

const USAGE = `Usage:
  dqlite -s <servers> <database> [command] [flags]

Flags:
  -c, --cert string       public TLS cert
  -f, --format string     output format (tabular, json) (default "tabular")
  -h, --help              help for dqlite
  -k, --key string        private TLS key
  -s, --servers strings   comma-separated list of db servers, or file://<store>
      --timeout int       timeout of each request (msec) (default 2000)

`;

const RECONFIGURE_HELP = `bad command format, should be: .reconfigure <dir> <clusteryaml>
Args:
	dir - Directory of node with up to date data
	clusteryaml - Path to a .yaml file containing the desired cluster configuration

Help:
	Use this command when trying to preserve the data from your cluster while changing the
	configuration of the cluster because e.g. your cluster is broken due to unreachablee nodes.
	0. BACKUP ALL YOUR NODE DATA DIRECTORIES BEFORE PROCEEDING!
	1. Stop all dqlite nodes.
	2. Identify the dir of the node with the most up to date raft term and log, this will be the <dir> argument.
	3. Create a .yaml file with the same format as cluster.yaml (or use/adapt an existing cluster.yaml) with the
	   desired cluster configuration. This will be the <clusteryaml> argument.
	   Don't forget to make sure the ID's in the file line up with the ID's in the info.yaml files.
	4. Run the .reconfigure <dir> <clusteryaml> command, it should return "OK".
	5. Copy the snapshot-xxx-xxx-xxx, snapshot-xxx-xxx-xxx.meta, segment files (00000xxxxx-000000xxxxx), desired cluster.yaml
	   from <dir> over to the directories of the other nodes identified in <clusteryaml>, deleting any leftover snapshot-xxx-xxx-xxx, snapshot-xxx-xxx-xxx.meta,
	   segment (00000xxxxx-000000xxxxx, open-xxx) and metadata{1,2} files that it contains.
	   Make sure an info.yaml is also present that is in line with cluster.yaml.
	6. Start all the dqlite nodes.
	7. If, for some reason, this fails or gives undesired results, try again with data from another node (you should still have this from step 0).`;

const error = (msg: string): CommandResult => fail(1, `Error: ${msg}\n${USAGE}`);

/** `/snap/microk8s/current/bin/dqlite -s … -c … -k … k8s "<command>"` — only `.reconfigure` is simulated. */
export function dqliteShell(ctx: CommandContext, args: string[]): CommandResult {
  const positional: string[] = [];
  let servers = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '-s' || a === '--servers') {
      servers = true;
      i++;
    } else if (a === '-c' || a === '--cert' || a === '-k' || a === '--key' || a === '-f' || a === '--format' || a === '--timeout') i++;
    else positional.push(a);
  }
  if (!servers) return error('required flag(s) "servers" not set');
  if (!ctx.root) return error('open /var/snap/microk8s/current/var/kubernetes/backend/cluster.crt: permission denied');
  const command = positional[1];
  if (positional[0] === undefined || command === undefined) return fail(1, 'mk8s-sim: the interactive dqlite shell is not simulated\n');
  if (!command.startsWith('.reconfigure')) return fail(1, `mk8s-sim: \`${command.slice(0, 40)}\` is not simulated (no dqlite leader is reachable)\n`);
  const parts = command.split(' ');
  if (parts.length !== 3) return error(RECONFIGURE_HELP);
  return reconfigure(ctx, parts[1]!, parts[2]!);
}

function reconfigure(ctx: CommandContext, dirArg: string, yamlPath: string): CommandResult {
  const { node, state } = ctx;
  const fs = node.fs;
  const dir = fs.resolve(dirArg);
  const e = fs.stat(dir, true);
  if (typeof e === 'string' || e.kind !== 'dir') return error(`failed to reconfigure membership :raft_init(): io: directory '${dirArg.replace(/\/$/, '')}' does not exist`);
  // a running k8s-dqlite holds the dqlite-lock (dqlite ≥ 1.16.5)
  if (node.servicesRunning || node.restarting) return error('failed to reconfigure membership :recover failed with error code 1, error details: ');
  const raw = fs.readFile(yamlPath, true);
  let members: SimReconfigure['members'] = [];
  if (typeof raw !== 'string') {
    try {
      const doc = parse(raw.toString(), { intAsBigInt: true }) as Array<{ ID?: bigint; Address?: string; Role?: bigint }> | null;
      members = (doc ?? []).map((m) => ({ id: String(m.ID ?? 0), address: m.Address ?? '', role: Number(m.Role ?? 0) }));
    } catch (err) {
      return error(`failed to create YamlNodeStore from file at ${yamlPath} :${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  const ids = new Set(members.map((m) => m.id));
  if (members.some((m) => m.id === '0') || ids.size !== members.length) {
    return fail(134, "dqlite: src/raft/configuration.c:133: raft_configuration_add: Assertion `id != 0' failed.\n");
  }
  materialize(state, node);
  const files = stored(node);
  let last = 0;
  for (const name of files.keys()) if (isSegment(name)) last = Math.max(last, Number(name.slice(17)));
  for (const name of files.keys()) if (/^snapshot-\d+-\d+-\d+$/.test(name)) last = Math.max(last, Number(name.split('-')[2]));
  const d = datastoreOf(state);
  const config = d.reconfigures.length + 1;
  const base = `${dir}/`;
  // open-* are loaded and closed; they are empty here (pre-allocated), so they just go
  for (const name of files.keys()) if (/^open-\d+$/.test(name)) fs.files.delete(`${base}${name}`);
  const index = String(last + 1).padStart(16, '0');
  const encoded = Buffer.from(JSON.stringify(members)).toString('base64');
  fs.files.set(`${base}${index}-${index}`, { data: dataFile('configuration', node.name, config, 512, ` members=${encoded}`), owner: 'root', group: 'microk8s', mode: 0o660, mtimeMs: state.now() });
  const after = new Map<string, string>();
  for (const [name, f] of stored(node)) if (isData(name)) after.set(name, sha(f.data));
  d.reconfigures.push({ config, template: node.name, members, files: after });
  return ok('OK\n');
}

/** `ls -1 DIR` (names sorted as `ls` does in the C locale). */
export function ls(ctx: CommandContext, args: string[]): CommandResult {
  const dirs = args.filter((a) => !a.startsWith('-'));
  if (args.some((a) => a.startsWith('-') && a !== '-1')) return fail(2, `mk8s-sim: only \`ls -1 DIR\` is simulated\n`);
  const dir = dirs[0] ?? ctx.node.fs.home;
  const fs = ctx.node.fs;
  const e = fs.stat(dir, ctx.root);
  if (typeof e === 'string') return fail(2, `ls: cannot access '${dir}': ${e === 'EACCES' ? 'Permission denied' : 'No such file or directory'}\n`);
  if (e.kind === 'file') return ok(`${dir}\n`);
  if (!ctx.root && (fs.perms(e) & 4) === 0) return fail(2, `ls: cannot open directory '${dir}': Permission denied\n`);
  const base = `${fs.resolve(dir)}/`;
  const names = new Set<string>();
  const add = (p: string) => {
    if (p.startsWith(base)) names.add(p.slice(base.length).split('/')[0]!);
  };
  for (const p of fs.files.keys()) add(p);
  for (const p of fs.dirs.keys()) add(p);
  for (const p of ctx.state.backendFiles(ctx.node).keys()) add(p);
  return ok([...names].toSorted().map((n) => `${n}\n`).join(''));
}
