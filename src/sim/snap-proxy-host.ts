/**
 * The Snap Store Proxy host of a simulated cluster: its own SSH server (the cluster's user and
 * client key, its own host key), answering `snap-proxy …` (see snap-proxy.ts for the commands'
 * texts). Commands go to the cluster's command log and fault table under the node name
 * `snap-proxy`. Kept apart from snap-proxy.ts so that runner.ts (which dispatches the node-side
 * commands) and this Runner subclass do not import each other.
 */
import type { ParsedKey } from 'ssh2';
import { CHANNELS, channelDisplayName, fullChannel, parseChannel } from './catalogue.ts';
import { fail, ok, type CommandResult } from './context.ts';
import type { FaultTable } from './faults.ts';
import { Runner, type ExecOutcome, type RunnerOptions, type SimCommandRecord } from './runner.ts';
import { parseShellWords, splitSudo } from './shell.ts';
import { attachStoreProxy, releaseOfRevision, SimStoreProxy, SNAP_PROXY_NAME, type SimSnapProxyInfo } from './snap-proxy.ts';
import { SimSshNode } from './ssh-server.ts';
import { SimNode } from './node.ts';
import type { SimState } from './state.ts';

const NEEDS_ROOT = 'error: this command needs to be run as root (try with sudo)\n';

function proxyCommand(proxy: SimStoreProxy, argv: string[], root: boolean): CommandResult {
  const [program, sub, ...args] = argv;
  if (program === 'hostname') return ok(`${SNAP_PROXY_NAME}\n`);
  if (program === 'true') return ok();
  if (program === 'whoami') return ok(root ? 'root\n' : 'ubuntu\n');
  if (program !== 'snap-proxy') return fail(root ? 1 : 127, root ? `sudo: ${program ?? ''}: command not found\n` : `bash: line 1: ${program ?? ''}: command not found\n`);
  if (!root) return fail(1, NEEDS_ROOT);
  switch (sub) {
    case 'status':
      return ok(
        ` Store ID: ${proxy.storeId}\n Status: ${proxy.status}\n Connected Devices (updated daily): 0\n Device Limit: None\n Internal Service Status:\n` +
          ['memcached', 'nginx', 'snapauth', 'snapdevicegw', 'snapdevicegw-local', 'snapproxy', 'snaprevs'].map((s) => `   ${s}: running\n`).join(''),
      );
    case 'config': {
      const key = args[0];
      if (key === 'proxy.domain') return ok(`${proxy.domain}\n`);
      if (key === 'proxy.cache.size') return ok('2048\n');
      return fail(1, `error: unknown config key: ${key ?? ''}\n`);
    }
    case 'list-overrides': {
      const snap = args[0];
      if (snap === undefined) return fail(2, 'usage: snap-proxy list-overrides [-h] snap\nsnap-proxy list-overrides: error: the following arguments are required: snap\n');
      if (snap !== 'microk8s') return ok();
      let out = '';
      for (const [channel, pin] of proxy.overrides) {
        const up = proxy.upstream(channel);
        out += `microk8s ${channel} ${pin.arch} ${pin.revision}${up === undefined ? '' : ` (upstream ${up})`}\n`;
      }
      return ok(out);
    }
    case 'override': {
      const [snap, ...maps] = args;
      if (snap === undefined || maps.length === 0) return fail(2, 'usage: snap-proxy override [-h] snap channel_map [channel_map ...]\nsnap-proxy override: error: the following arguments are required: snap, channel_map\n');
      if (snap !== 'microk8s') return fail(1, `error: snap "${snap}" not found\n`);
      let out = '';
      for (const map of maps) {
        const m = /^([^=]+)=([0-9]+)$/.exec(map);
        const channel = m?.[1] ? parseChannel(m[1]) : undefined;
        if (!m || !channel || 'error' in channel) return fail(1, `error: invalid channel map "${map}": expected <channel>=<revision>\n`);
        const revision = Number(m[2]);
        if (!releaseOfRevision(revision)) return fail(1, `error: revision ${revision} of snap "microk8s" not found\n`);
        const shown = channelDisplayName(fullChannel(channel));
        proxy.overrides.set(shown, { revision, arch: 'amd64' });
        out += `microk8s ${shown} amd64 ${revision}\n`;
      }
      return ok(out);
    }
    case 'delete-override': {
      const [snap, channelText] = args;
      if (snap === undefined || channelText === undefined) return fail(2, 'usage: snap-proxy delete-override [-h] snap channel\nsnap-proxy delete-override: error: the following arguments are required: snap, channel\n');
      const channel = parseChannel(channelText);
      if ('error' in channel) return fail(1, `error: invalid channel "${channelText}"\n`);
      const shown = channelDisplayName(fullChannel(channel));
      const pin = proxy.overrides.get(shown);
      if (snap !== 'microk8s' || !pin) return ok();
      proxy.overrides.delete(shown);
      const up = proxy.upstream(shown);
      return ok(`microk8s ${shown} ${pin.arch} is tracking upstream${up === undefined ? '' : ` (revision ${up})`}\n`);
    }
    default:
      return fail(2, `usage: snap-proxy [-h] {config,status,check-connections,generate-keys,register,override,list-overrides,delete-override,...}\nsnap-proxy: error: invalid choice: '${sub ?? ''}'\n`);
  }
}

/** Runs exec requests on the proxy host: the same parsing, sudo, faults and command log as a node. */
class ProxyRunner extends Runner {
  constructor(
    state: SimState,
    private readonly table: FaultTable,
    options: RunnerOptions,
    private readonly sharedLog: SimCommandRecord[],
    private readonly proxy: SimStoreProxy,
  ) {
    super(state, table, options);
  }

  override async run(node: SimNode, command: string, signal: AbortSignal): Promise<ExecOutcome> {
    const startedAt = Date.now();
    const parsed = parseShellWords(command, node.fs.home);
    const split = parsed.ok ? splitSudo(parsed.words) : undefined;
    const record: SimCommandRecord = { node: node.name, command, argv: split?.argv ?? [], sudo: split?.sudo ?? false, code: null, startedAt, durationMs: 0 };
    const fault = this.table.take(node.name, [command.replace(/^\s*sudo\s+(?:-n\s+)?(?:--\s+)?/, ''), record.argv.join(' ')]);
    if (fault) record.fault = fault.kind;
    const finish = (code: number | null): void => {
      record.code = code;
      record.durationMs = Date.now() - startedAt;
      this.sharedLog.push(record);
    };
    if (fault?.kind === 'hang') {
      finish(null);
      return { kind: 'hang' };
    }
    if (fault?.kind === 'drop') {
      finish(null);
      return { kind: 'drop' };
    }
    if (fault?.kind === 'delay' && !signal.aborted) await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'hold') await fault.until.catch(() => undefined);
    let result: CommandResult;
    if (fault?.kind === 'fail') result = { stdout: fault.stdout ?? '', stderr: fault.stderr, code: fault.exitCode };
    else if (!parsed.ok) result = { stdout: '', stderr: parsed.stderr, code: parsed.code };
    else if (split?.error) result = { stdout: '', stderr: split.error.stderr, code: split.error.code };
    else result = proxyCommand(this.proxy, split?.argv ?? [], split?.sudo ?? false);
    finish(result.code);
    return { kind: 'result', result };
  }
}

export interface SimSnapProxyHost {
  info: SimSnapProxyInfo;
  proxy: SimStoreProxy;
  server: SimSshNode;
}

/** Starts the proxy host's SSH server and attaches the proxy to the cluster's state. */
export async function startSimSnapProxy(opts: {
  state: SimState;
  faults: FaultTable;
  runnerOptions: RunnerOptions;
  log: SimCommandRecord[];
  host: string;
  clientKey: ParsedKey;
}): Promise<SimSnapProxyHost> {
  const proxy = new SimStoreProxy();
  const anyRelease = CHANNELS['1.22/stable'] ?? Object.values(CHANNELS)[0];
  if (!anyRelease) throw new Error('simulator: no channels');
  // A host of its own (its own file system and name); it is not a Kubernetes node.
  const hostNode = new SimNode(SNAP_PROXY_NAME, 'worker', 900, '10.0.0.5', anyRelease, '1.22/stable', 1, opts.runnerOptions.user, opts.state.now(), opts.state);
  const runner = new ProxyRunner(opts.state, opts.faults, opts.runnerOptions, opts.log, proxy);
  const server = new SimSshNode(hostNode, opts.host, opts.runnerOptions.user, opts.clientKey, runner);
  await server.listen(0);
  attachStoreProxy(opts.state, proxy);
  return { info: { name: SNAP_PROXY_NAME, host: opts.host, port: server.port, hostKeyFingerprint: server.hostKey.fingerprint }, proxy, server };
}
