/** `snap list|info|refresh|revert microk8s` as snapd prints them over a non-interactive SSH session. */
import { calicoAfterRefresh } from './calico.ts';
import { CHANNELS, RISKS, isRisk, channelDisplayName, fullChannel, parseChannel, resolveChannel, tracks, type ParsedChannel } from './catalogue.ts';
import { fail, ok, parseGoDuration, type CommandContext, type CommandResult } from './context.ts';
import { isFlagError, parseFlags, type FlagSpec } from './flags.ts';
import { ensureNodeConfig, snapRestart, snapServices } from './node-config.ts';
import type { SimNode, SimRevision } from './node.ts';
import { proxyResolve, snapAck, snapGet, snapSet } from './snap-proxy.ts';
import { afterRevert, afterRevisionChange, configureHookFailure } from './refresh-faults.ts';
import { tabwrite } from './tabwriter.ts';

/** The verified-publisher badge off a TTY (snapd ≥ 2.56). */
const BADGE = '**';
const SNAP_ID = 'EaXqgt1lyCaxKaQCU349mlodBkDCXRcg';
/** snapd keeps this many revisions on classic systems (refresh.retain). */
const RETAIN = 2;

function accessDenied(): CommandResult {
  return fail(1, 'error: access denied (try with sudo)\n');
}

/** snapd's `fill`: wraps an error at 72 columns, continuation lines indented under `error: `. */
function errorText(msg: string): string {
  const out: string[] = [];
  for (const para of msg.split('\n')) {
    if (para.startsWith('  ') || para === '') {
      out.push(para === '' ? '' : `       ${para.trimStart()}`);
      continue;
    }
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > 72) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) out.push(line);
  }
  return `error: ${out.map((l, i) => (i === 0 || l === '' || l.startsWith('       ') ? l : `       ${l}`)).join('\n').trim()}\n`;
}

function daysBetween(a: number, b: number): number {
  return Math.floor(b / 86_400_000) - Math.floor(a / 86_400_000);
}

function holdText(until: 'forever' | number | undefined): string {
  return typeof until === 'number' ? `until ${rfc3339(until)}` : 'indefinitely';
}

/** snapd's timeutil.Human, in UTC. */
function humanTime(then: number, now: number): string {
  const d = new Date(then);
  const hm = `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
  const days = daysBetween(then, now);
  if (days < -1) return `in ${-days} days, at ${hm}`;
  if (days === -1) return `tomorrow at ${hm}`;
  if (days === 0) return `today at ${hm}`;
  if (days === 1) return `yesterday at ${hm}`;
  return `${days} days ago, at ${hm}`;
}

function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function holdActive(node: SimNode, now: number): boolean {
  return node.hold === 'forever' || (typeof node.hold === 'number' && node.hold > now);
}

export async function snap(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const sub = args[0];
  const rest = args.slice(1);
  switch (sub) {
    case 'list':
      return list(ctx, rest);
    case 'info':
      return info(ctx, rest);
    case 'refresh':
      return refresh(ctx, rest);
    case 'revert':
      return revert(ctx, rest);
    case 'restart':
      return snapRestart(ctx, rest);
    case 'ack':
      return snapAck(ctx, rest);
    case 'set':
      return snapSet(ctx, rest);
    case 'get':
      return snapGet(ctx, rest);
    case 'services':
      return snapServices(ctx, rest);
    case undefined:
      return fail(1, '', 'The snap command lets you install, configure, refresh and remove snaps.\nSnaps are packages that work across many different Linux distributions,\nenabling secure delivery and operation of the latest apps and utilities.\n\nUsage: snap <command> [<options>...]\n');
    default:
      if (['install', 'remove', 'start', 'stop', 'restart', 'services', 'changes', 'version', 'connections', 'set', 'get', 'disable', 'enable'].includes(sub)) {
        return fail(1, `mk8s-sim: \`snap ${sub}\` is not simulated\n`);
      }
      return fail(1, `error: unknown command "${sub}", see 'snap help'.\n`);
  }
}

function flagError(e: { kind: string; flag: string }): CommandResult {
  if (e.kind === 'unknown') return fail(1, `error: unknown flag \`${e.flag.replace(/^-+/, '')}'\n`);
  return fail(1, `error: expected argument for flag \`${e.flag}'\n`);
}

// ---------------------------------------------------------------- list

function listRow(node: SimNode, rev: SimRevision, active: boolean, now: number): string[] {
  const notes: string[] = [];
  if (!active) notes.push('disabled');
  notes.push('classic');
  if (active && holdActive(node, now)) notes.push('held');
  return ['microk8s', rev.version, String(rev.revision), node.tracking, `canonical${BADGE}`, notes.join(',')];
}

function list(ctx: CommandContext, args: string[]): CommandResult {
  const parsed = parseFlags(args, [
    { name: 'all', type: 'bool' },
    { name: 'color', type: 'string' },
    { name: 'unicode', type: 'string' },
  ]);
  if (isFlagError(parsed)) return flagError(parsed);
  const all = parsed.flags.get('all') === 'true';
  const now = ctx.state.now();
  const node = ctx.node;
  const others: string[][] = [
    ['core18', '20211028', '2253', 'latest/stable', `canonical${BADGE}`, 'base'],
    ['core20', '20211129', '1270', 'latest/stable', `canonical${BADGE}`, 'base'],
    ['lxd', '4.0.8', '21835', '4.0/stable/…', `canonical${BADGE}`, '-'],
    ['snapd', '2.54.2', '14549', 'latest/stable', `canonical${BADGE}`, 'snapd'],
  ];
  const names = parsed.positional;
  for (const n of names) {
    if (n !== 'microk8s' && !others.some((o) => o[0] === n)) {
      if (names.length === 1) return fail(1, 'error: no matching snaps installed\n');
    }
  }
  const rows: string[][] = [['Name', 'Version', 'Rev', 'Tracking', 'Publisher', 'Notes']];
  const wantMk8s = names.length === 0 || names.includes('microk8s');
  const mk8sRows = all ? node.sequence.map((r, i) => listRow(node, r, i === node.current, now)) : [listRow(node, node.installed, true, now)];
  const body = [...others.filter((o) => names.length === 0 || names.includes(o[0] ?? '')), ...(wantMk8s ? mk8sRows : [])].toSorted((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));
  rows.push(...body);
  return ok(tabwrite(rows.map((r) => r.join('\t')).join('\n') + '\n', { minwidth: 5, padding: 2 }));
}

// ---------------------------------------------------------------- info

const COMMANDS_122 = ['microk8s', 'microk8s.add-node', 'microk8s.cilium', 'microk8s.config', 'microk8s.ctr', 'microk8s.dashboard-proxy', 'microk8s.dbctl', 'microk8s.disable', 'microk8s.enable', 'microk8s.helm', 'microk8s.helm3', 'microk8s.inspect', 'microk8s.istioctl', 'microk8s.join', 'microk8s.juju', 'microk8s.kubectl', 'microk8s.leave', 'microk8s.linkerd', 'microk8s.refresh-certs', 'microk8s.remove-node', 'microk8s.reset', 'microk8s.start', 'microk8s.status', 'microk8s.stop'];
const SERVICES = ['apiserver-kicker', 'apiserver-proxy', 'cluster-agent', 'containerd', 'etcd', 'flanneld', 'k8s-dqlite', 'kubelite'];

function info(ctx: CommandContext, args: string[]): CommandResult {
  const parsed = parseFlags(args, [
    { name: 'verbose', type: 'bool' },
    { name: 'abs-time', type: 'bool' },
    { name: 'color', type: 'string' },
    { name: 'unicode', type: 'string' },
  ]);
  if (isFlagError(parsed)) return flagError(parsed);
  const name = parsed.positional[0];
  if (name === undefined) return fail(1, 'error: the required argument `<snap> (at least 1 argument)` was not provided\n');
  if (name !== 'microk8s') return fail(1, `error: no snap found for "${name}"\n`);
  const abs = parsed.flags.get('abs-time') === 'true';
  const now = ctx.state.now();
  const node = ctx.node;
  const fmt = (ms: number) => (abs ? rfc3339(ms) : humanTime(ms, now));
  const running = node.servicesRunning;
  let head = '';
  head += `name:\tmicrok8s\n`;
  head += `summary:\tKubernetes for workstations and appliances\n`;
  head += `publisher:\tCanonical${BADGE}\n`;
  head += `store-url:\thttps://snapcraft.io/microk8s\n`;
  head += `contact:\thttps://github.com/canonical/microk8s\n`;
  head += `license:\tApache-2.0\n`;
  head += `description: |\n`;
  head += `  MicroK8s is a small, fast, secure, certified Kubernetes distribution that\n  installs on just about any Linux box. It provides the functionality of core\n  Kubernetes components, in a small footprint, scalable from a single node to a\n  high-availability production multi-node cluster.\n`;
  head += `commands:\n${COMMANDS_122.map((c) => `  - ${c}\n`).join('')}`;
  head += `services:\n`;
  for (const s of SERVICES) {
    const disabled = s === 'etcd' || s === 'flanneld' || (s === 'apiserver-proxy' && node.role === 'control-plane') || (s === 'k8s-dqlite' && node.role === 'worker');
    const state = disabled ? 'disabled, inactive' : running ? 'enabled, active' : 'enabled, inactive';
    head += `  microk8s.daemon-${s}:\tsimple, ${state}\n`;
  }
  let mid = '';
  mid += `snap-id:\t${SNAP_ID}\n`;
  mid += `tracking:\t${node.tracking}\n`;
  mid += `refresh-date:\t${fmt(node.refreshDate)}\n`;
  if (holdActive(node, now)) mid += `hold:\t${typeof node.hold === 'number' ? fmt(node.hold) : 'forever'}\n`;
  // channels: one row per track × risk, closed risks shown as ^ (open below) or --
  const rows: Array<{ indent: string; name: string; version: string; released: string; revision: string; size: string; notes: string }> = [];
  for (const track of tracks()) {
    let open = false;
    for (const risk of RISKS) {
      const chName = `${track}/${risk}`;
      const rel = proxyResolve(ctx, chName)?.release ?? CHANNELS[chName];
      if (rel) {
        rows.push({ indent: '  ', name: chName, version: rel.version, released: rel.released, revision: `(${rel.revision})`, size: `${rel.sizeMb}MB`, notes: 'classic' });
        open = true;
      } else rows.push({ indent: '  ', name: chName, version: open ? '^' : '--', released: '', revision: '', size: '', notes: '' });
    }
  }
  const inst = CHANNELS[node.installed.channel];
  rows.push({ indent: '', name: 'installed', version: node.version, released: '', revision: `(${node.revision})`, size: `${inst?.sizeMb ?? 173}MB`, notes: 'classic' });
  const revLen = Math.max(...rows.map((r) => r.revision.length));
  const sizeLen = Math.max(...rows.map((r) => r.size.length));
  let chan = 'channels:\n';
  for (const r of rows) chan += `${r.indent}${r.name}:\t${r.version}\t${r.released}\t${r.revision.padStart(revLen)}\t${r.size.padStart(sizeLen)}\t${r.notes}\n`;
  const opts = { minwidth: 2, padding: 1 };
  return ok(tabwrite(head, opts) + tabwrite(mid, opts) + tabwrite(chan, opts));
}

// ------------------------------------------------------------- refresh

const REFRESH_FLAGS: FlagSpec[] = [
  { name: 'channel', type: 'string' },
  { name: 'stable', type: 'bool' },
  { name: 'candidate', type: 'bool' },
  { name: 'beta', type: 'bool' },
  { name: 'edge', type: 'bool' },
  { name: 'classic', type: 'bool' },
  { name: 'devmode', type: 'bool' },
  { name: 'jailmode', type: 'bool' },
  { name: 'amend', type: 'bool' },
  { name: 'revision', type: 'string' },
  { name: 'hold', type: 'string', optionalValue: 'forever' },
  { name: 'unhold', type: 'bool' },
  { name: 'no-wait', type: 'bool' },
  { name: 'time', type: 'bool' },
  { name: 'list', type: 'bool' },
  { name: 'ignore-validation', type: 'bool' },
  { name: 'ignore-running', type: 'bool' },
];

function notInstalled(names: string[]): CommandResult | undefined {
  const bad = names.find((n) => n !== 'microk8s');
  return bad ? fail(1, `error: snap "${bad}" is not installed\n`) : undefined;
}

async function refresh(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const parsed = parseFlags(args, REFRESH_FLAGS);
  if (isFlagError(parsed)) return flagError(parsed);
  const { flags, positional } = parsed;
  const node = ctx.node;
  const now = ctx.state.now();
  // hold / unhold
  if (flags.has('hold') || flags.has('unhold')) {
    if (flags.has('hold') && flags.has('unhold')) return fail(1, 'error: cannot use --hold and --unhold together\n');
    const others = [...flags.keys()].filter((k) => k !== 'hold' && k !== 'unhold' && k !== 'no-wait');
    if (others.length > 0) return fail(1, `error: cannot use --${flags.has('hold') ? 'hold' : 'unhold'} with other flags\n`);
    const hold = flags.get('hold');
    let until: 'forever' | number | undefined;
    if (hold !== undefined) {
      if (hold === 'forever') until = 'forever';
      else {
        const ms = parseGoDuration(hold);
        if (ms === undefined) return fail(1, `error: hold value must be a number of hours, minutes or seconds, or "forever": time: invalid duration "${hold}"\n`);
        if (ms < 1000) return fail(1, `error: cannot hold refreshes for less than a second: ${hold}\n`);
        until = node.clockSeconds() * 1000 + ms;
      }
    }
    const missing = notInstalled(positional);
    if (missing) return missing;
    if (ctx.sudoRequired && !ctx.root) return accessDenied();
    await ctx.sleep(0);
    if (positional.length === 0) {
      return ok(hold !== undefined ? `Auto-refresh of all snaps held ${holdText(until)}\n` : 'Removed auto-refresh hold on all snaps\n');
    }
    if (hold !== undefined) {
      node.hold = until;
      return ok(`General refreshes of "microk8s" held ${holdText(until)}\n`);
    }
    node.hold = undefined;
    return ok('Removed general refresh hold of "microk8s"\n');
  }
  if (flags.get('time') === 'true' || flags.get('list') === 'true') return fail(1, `mk8s-sim: \`snap refresh --${flags.get('time') === 'true' ? 'time' : 'list'}\` is not simulated\n`);
  // channel from --channel or --<risk>
  let channelText = flags.get('channel');
  for (const risk of RISKS) {
    if (flags.get(risk) === 'true') {
      if (channelText !== undefined) return fail(1, 'error: Please specify a single channel\n');
      channelText = risk;
    }
  }
  let requested: ParsedChannel | undefined;
  if (channelText !== undefined) {
    const c = parseChannel(channelText);
    if ('error' in c) return fail(1, `error: cannot parse channel: ${c.error}\n`);
    requested = c;
    // a bare risk keeps the current track
    if (!channelText.includes('/') && isRisk(channelText)) requested = { ...c, track: node.tracking.split('/')[0] ?? 'latest' };
  }
  if (positional.length === 0) {
    if (ctx.sudoRequired && !ctx.root) return accessDenied();
    return ok('', 'All snaps up to date.\n');
  }
  const missing = notInstalled(positional);
  if (missing) return missing;
  if (positional.length > 1) return fail(1, 'error: a single snap name is needed to specify channel flags\n');
  if (ctx.sudoRequired && !ctx.root) return accessDenied();
  const target = requested ? fullChannel(requested) : node.tracking;
  const resolved = proxyResolve(ctx, target) ?? resolveChannel(target);
  if (!resolved) {
    await ctx.sleep(ctx.latency.defaultMs);
    return fail(1, errorText(unavailableMessage(target, requested)));
  }
  const rel = resolved.release;
  if (rel.revision === node.revision && target === node.tracking) {
    await ctx.sleep(ctx.latency.defaultMs);
    return ok('', 'snap "microk8s" has no updates available\n');
  }
  await ctx.sleep(ctx.latency.refreshMs);
  const hookFailed = rel.revision !== node.revision ? configureHookFailure(ctx) : undefined;
  if (hookFailed) return hookFailed;
  const from = node.revision;
  if (rel.revision !== node.revision) {
    const entry: SimRevision = { revision: rel.revision, version: rel.version, kubeletVersion: rel.kubeletVersion, channel: resolved.servedFrom };
    let seq = node.sequence.filter((r) => r.revision !== rel.revision);
    seq.push(entry);
    while (seq.length > RETAIN) seq = seq.slice(1);
    node.sequence = seq;
    node.current = seq.length - 1;
    node.refreshDate = now;
    node.restartingUntil = ctx.state.now() + ctx.latency.restartMs;
    afterRevisionChange(node);
    // the configure hook: $SNAP_DATA copied to the new revision, then Calico upgraded if MicroK8s manages it
    ensureNodeConfig(ctx.state, node);
    calicoAfterRefresh(ctx.state, node);
  }
  node.tracking = target;
  node.history.push({ at: ctx.state.now(), action: 'refresh', fromRevision: from, toRevision: rel.revision, channel: target });
  ctx.state.reconcile();
  const shown = channelDisplayName(resolved.servedFrom);
  let out = `microk8s${shown === 'stable' ? '' : ` (${shown})`} ${rel.version} from Canonical${BADGE} refreshed\n`;
  const tr = parseChannel(target);
  const sv = parseChannel(resolved.servedFrom);
  if (target !== resolved.servedFrom && !('error' in tr) && !('error' in sv) && tr.risk !== sv.risk) {
    out += `Channel ${target} for microk8s is closed; temporarily forwarding to ${resolved.servedFrom}.\n`;
  }
  return ok(out);
}

function unavailableMessage(target: string, requested: ParsedChannel | undefined): string {
  const parsed = requested ?? parseChannel(target);
  const c: ParsedChannel = 'error' in parsed ? { track: target, risk: 'stable' } : parsed;
  if (c.branch) return `requested a non-existing branch for snap "microk8s": ${target}`;
  const sameRisk = Object.keys(CHANNELS).filter((k) => k.endsWith(`/${c.risk}`));
  const table = sameRisk.map((k) => `  ${k.padEnd(16)}snap refresh --channel=${k.endsWith('/stable') ? k.split('/')[0] : k} microk8s`).join('\n');
  return `snap "microk8s" is not available on ${target} but is available to install on the following tracks:\n${table}\n\nPlease be mindful that different tracks may include different features.\nGet more information with 'snap info microk8s'.`;
}

// -------------------------------------------------------------- revert

async function revert(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const parsed = parseFlags(args, [
    { name: 'revision', type: 'string' },
    { name: 'classic', type: 'bool' },
    { name: 'devmode', type: 'bool' },
    { name: 'jailmode', type: 'bool' },
    { name: 'no-wait', type: 'bool' },
  ]);
  if (isFlagError(parsed)) return flagError(parsed);
  const name = parsed.positional[0];
  if (name === undefined) return fail(1, 'error: the required argument `<snap>` was not provided\n');
  if (parsed.positional.length > 1) return fail(1, `error: extra arguments: ${parsed.positional.slice(1).join(' ')}\n`);
  if (name !== 'microk8s') return fail(1, `error: cannot revert "${name}": snap "${name}" is not installed\n`);
  if (ctx.sudoRequired && !ctx.root) return accessDenied();
  const node = ctx.node;
  let targetIndex: number;
  const revText = parsed.flags.get('revision');
  if (revText !== undefined) {
    const rev = Number(revText);
    if (!/^\d+$/.test(revText)) return fail(1, `error: invalid snap revision: "${revText}"\n`);
    if (rev === node.revision) return fail(1, 'error: cannot revert "microk8s": already on requested revision\n');
    targetIndex = node.sequence.findIndex((r) => r.revision === rev);
    if (targetIndex < 0) return fail(1, `error: cannot revert "microk8s": cannot find revision ${rev} for snap "microk8s"\n`);
  } else {
    if (node.current === 0) return fail(1, 'error: cannot revert "microk8s": no revision to revert to\n');
    targetIndex = node.current - 1;
  }
  await ctx.sleep(ctx.latency.refreshMs);
  const from = node.revision;
  node.current = targetIndex;
  node.refreshDate = ctx.state.now();
  node.restartingUntil = ctx.state.now() + ctx.latency.restartMs;
  afterRevert(node);
  node.history.push({ at: ctx.state.now(), action: 'revert', fromRevision: from, toRevision: node.revision, channel: node.tracking });
  ctx.state.reconcile();
  return ok(`microk8s reverted to ${node.version}\n`);
}
