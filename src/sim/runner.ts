/** Runs one exec request on a simulated node: parsing, sudo, faults, latency, dispatch, and the command log. */
import { calicoctl, curlDownload, splitEnv } from './windows/cluster-side.ts';
import { cat, date, mkdir, rm, sha256sum, stat, tar, test } from './coreutils.ts';
import { dqliteShell, ls } from './dqlite.ts';
import { fail, ok, type CommandContext, type CommandResult, type SimLatency } from './context.ts';
import { chmod, cp, install, mv } from './fileutils.ts';
import type { FaultTable, SimFault } from './faults.ts';
import { stateFor } from './membership.ts';
import { getent, nc } from './membership/network.ts';
import { microk8s } from './microk8s.ts';
import { calicoTick } from './calico.ts';
import { beforeCommand } from './node-config.ts';
import { parseShellWords, splitSudo } from './shell.ts';
import { snap } from './snap.ts';
import { mktemp, proxyCurl } from './snap-proxy.ts';
import { nodePortCurl } from './curl.ts';
import type { SimNode } from './node.ts';
import type { SimState } from './state.ts';

export interface SimCommandRecord {
  node: string;
  /** The exec string exactly as received. */
  command: string;
  /** Its words, without the sudo prefix (empty when it did not parse). */
  argv: string[];
  sudo: boolean;
  /** Exit code; null when the command hung or the connection was dropped. */
  code: number | null;
  startedAt: number;
  durationMs: number;
  /** The injected fault that shaped this command, if any. */
  fault?: SimFault['kind'];
  /** Windows: the decoded -EncodedCommand script, and its first line of work. */
  decoded?: string;
  script?: string;
}

export type ExecOutcome = { kind: 'result'; result: CommandResult } | { kind: 'hang' } | { kind: 'drop' };

export interface RunnerOptions {
  user: string;
  sudoRequired: boolean;
  latency: SimLatency;
}

const BIN_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/snap/bin', '/usr/local/bin'];
const SUDO_PREFIX = /^\s*(?:'?sudo'?)(?:\s+(?:'?-n'?|'?--non-interactive'?))?(?:\s+'?--'?)?\s+/;

export class Runner {
  readonly log: SimCommandRecord[] = [];
  /** Commands received and not yet finished (a delayed one is here until it runs). */
  readonly running = new Set<SimCommandRecord>();
  simulatedMs = 0;
  private rng = 0x51f15e;
  private readonly inflight = new Set<AbortController>();

  constructor(
    private readonly state: SimState,
    private readonly faults: FaultTable,
    readonly options: RunnerOptions,
  ) {}

  private jitter(): number {
    this.rng = (Math.imul(this.rng, 1103515245) + 12345) >>> 0;
    return this.options.latency.defaultMs <= 0 ? 0 : (this.rng >>> 8) % (Math.floor(this.options.latency.defaultMs) + 1);
  }

  /** Aborts every command still waiting (used on stop). */
  abortAll(): void {
    for (const ac of this.inflight) ac.abort();
  }

  async run(node: SimNode, command: string, signal: AbortSignal): Promise<ExecOutcome> {
    const startedAt = Date.now();
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal.addEventListener('abort', onAbort);
    this.inflight.add(ac);
    const parsed = parseShellWords(command, node.fs.home);
    const split = parsed.ok ? splitSudo(parsed.words) : undefined;
    const record: SimCommandRecord = { node: node.name, command, argv: split?.argv ?? [], sudo: split?.sudo ?? false, code: null, startedAt, durationMs: 0 };
    this.running.add(record);
    const finish = (code: number | null) => {
      this.running.delete(record);
      record.code = code;
      record.durationMs = Date.now() - startedAt;
      this.simulatedMs += record.durationMs;
      this.log.push(record);
      signal.removeEventListener('abort', onAbort);
      this.inflight.delete(ac);
    };
    const ctx: CommandContext = {
      // a host outside the cluster answers from its own single-node MicroK8s
      state: stateFor(this.state, node),
      node,
      root: split?.sudo ?? false,
      user: this.options.user,
      sudoRequired: this.options.sudoRequired,
      latency: this.options.latency,
      signal: ac.signal,
      sleep: (ms) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve()),
    };
    const withoutSudo = command.replace(SUDO_PREFIX, '');
    const fault = this.faults.take(node.name, [withoutSudo, record.argv.join(' ')]);
    if (fault) record.fault = fault.kind;
    if (fault?.kind === 'hang') {
      finish(null);
      return { kind: 'hang' };
    }
    if (fault?.kind === 'drop') {
      await ctx.sleep(this.jitter());
      finish(null);
      return { kind: 'drop' };
    }
    if (fault?.kind === 'delay') await ctx.sleep(fault.ms);
    if (fault?.kind === 'hold') await fault.until.catch(() => undefined);
    await ctx.sleep(this.jitter());
    let result: CommandResult;
    if (fault?.kind === 'fail') result = { stdout: fault.stdout ?? '', stderr: fault.stderr, code: fault.exitCode };
    else if (!parsed.ok) result = { stdout: '', stderr: parsed.stderr, code: parsed.code };
    else if (split?.error) result = { stdout: '', stderr: split.error.stderr, code: split.error.code };
    else result = await this.dispatch(ctx, split?.argv ?? [], split?.sudo ?? false);
    finish(result.code);
    return { kind: 'result', result };
  }

  private async dispatch(ctx: CommandContext, argv: string[], viaSudo: boolean, env = new Map<string, string>()): Promise<CommandResult> {
    const first = argv[0];
    if (first === undefined) return ok();
    let program = first;
    if (/^\/snap\/microk8s\/(current|\d+)\/bin\/dqlite$/.test(first)) {
      ctx.state.reconcile();
      return dqliteShell(ctx, argv.slice(1));
    }
    if (first.includes('/')) {
      const dir = first.slice(0, first.lastIndexOf('/'));
      program = first.slice(first.lastIndexOf('/') + 1);
      if (!BIN_DIRS.includes(dir)) {
        return viaSudo ? fail(1, `sudo: ${first}: command not found\n`) : fail(127, `bash: line 1: ${first}: No such file or directory\n`);
      }
    }
    const args = argv.slice(1);
    ctx.state.reconcile();
    beforeCommand(ctx.state, ctx.node);
    calicoTick(ctx.state);
    if (program.startsWith('microk8s.')) return microk8s(ctx, [program.slice('microk8s.'.length), ...args]);
    switch (program) {
      case 'microk8s':
        return microk8s(ctx, args);
      case 'snap':
        return snap(ctx, args);
      case 'tar':
        return tar(ctx, args);
      case 'sha256sum':
        return sha256sum(ctx, args);
      case 'stat':
        return stat(ctx, args);
      case 'rm':
        return rm(ctx, args);
      case 'ls':
        return ls(ctx, args);
      case 'mkdir':
        return mkdir(ctx, args);
      case 'test':
        return test(ctx, args);
      case '[':
        return args[args.length - 1] === ']' ? test(ctx, args) : fail(2, 'bash: [: missing `]\'\n');
      case 'curl':
        return curlDownload(ctx, args) ?? proxyCurl(ctx, args) ?? nodePortCurl(ctx, args);
      case 'env': {
        const split = splitEnv(args);
        for (const [k, v] of env) if (!split.env.has(k)) split.env.set(k, v);
        return this.dispatch(ctx, split.argv, viaSudo, split.env);
      }
      case 'calicoctl':
        return calicoctl(ctx, first.includes('/') ? first : '/usr/local/bin/calicoctl', args, env);
      case 'mktemp':
        return mktemp(ctx, args);
      case 'getent':
        return getent(ctx, args);
      case 'nc':
        return nc(ctx, args);
      case 'cat':
        return cat(ctx, args);
      case 'cp':
        return cp(ctx, args);
      case 'mv':
        return mv(ctx, args);
      case 'chmod':
        return chmod(ctx, args);
      case 'install':
        return install(ctx, args);
      case 'date':
        return date(ctx, args);
      case 'hostname':
        return ok(`${ctx.node.name}\n`);
      case 'whoami':
        return ok(`${ctx.root ? 'root' : ctx.user}\n`);
      case 'true':
        return ok();
      case 'false':
        return fail(1, '');
      case 'echo':
        return ok(`${args.join(' ')}\n`);
      default:
        return viaSudo ? fail(1, `sudo: ${program}: command not found\n`) : fail(127, `bash: line 1: ${program}: command not found\n`);
    }
  }
}
