/**
 * The host tools an operator checks a joining node with, on the simulated hosts (../membership.ts):
 * `getent hosts` and `nc -z [-v] [-w N]`, over the membership world's names, blocked addresses
 * (`setBlocked`: connections time out) and the ports each host answers on.
 */
import { fail, ok, type CommandContext, type CommandResult } from '../context.ts';
import type { SimNode } from '../node.ts';
import { ctxMain, world, type World } from './world.ts';

/** The node this command runs on drops packets to `ip` (`setBlocked`): a connection there times out. */
export function dropsPacketsTo(ctx: CommandContext, ip: string): boolean {
  return world(ctxMain(ctx)).host(ctx.node).blocked.has(ip);
}

function resolveName(w: World, from: SimNode, name: string): string | undefined {
  if (w.host(from).unresolvable.has(name)) return undefined;
  if (name === 'localhost') return '127.0.0.1';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return name;
  return w.main.machines.get(name)?.ip;
}

/** `getent hosts [KEY...]` (glibc): `%-15s %s` per address; exit 2 when a key is not found. */
export function getent(ctx: CommandContext, args: string[]): CommandResult {
  const [db, ...keys] = args;
  if (db === undefined) return fail(1, 'Usage: getent [OPTION...] database [key ...]\nTry `getent --help\' or `getent --usage\' for more information.\n');
  if (db !== 'hosts' && db !== 'ahostsv4') return fail(1, `Unknown database: ${db}\nTry \`getent --help' or \`getent --usage' for more information.\n`);
  const w = world(ctxMain(ctx));
  const line = (ip: string, name: string) => `${ip.padEnd(15)} ${name}\n`;
  if (keys.length === 0) {
    let out = line('127.0.0.1', 'localhost');
    for (const m of w.main.machines.values()) if (!w.host(ctx.node).unresolvable.has(m.name)) out += line(m.ip, m.name);
    return ok(out);
  }
  let out = '';
  let missing = false;
  for (const key of keys) {
    const ip = resolveName(w, ctx.node, key);
    if (ip === undefined) {
      missing = true;
      continue;
    }
    const name = /^\d/.test(key) ? ([...w.main.machines.values()].find((m) => m.ip === key)?.name ?? key) : key;
    out += line(ip, name);
  }
  return { stdout: out, stderr: '', code: missing ? 2 : 0 };
}

/** Ports that answer on a simulated host. */
function portOpen(host: SimNode, agentRunning: boolean, port: number): boolean {
  if (!host.up) return false;
  if (port === 22) return true;
  if (host.stopped) return false;
  if (port === 25000) return agentRunning;
  if (port === 10250) return true;
  if (port === 16443 || port === 19001) return host.role === 'control-plane' && host.servicesRunning;
  return false;
}

/** `nc -z [-v] [-w N] HOST PORT` (netcat-openbsd): a TCP connect, nothing sent. */
export async function nc(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  let zero = false;
  let verbose = false;
  let waitS: number | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        if (c === 'z') zero = true;
        else if (c === 'v') verbose = true;
        else if (c === 'n' || c === '4') continue;
        else if (c === 'w') {
          const rest = a.slice(j + 1);
          const v = rest !== '' ? rest : args[++i];
          if (v === undefined || !/^\d+$/.test(v)) return fail(1, `nc: timeout invalid: ${v ?? ''}\n`);
          waitS = Number(v);
          break;
        } else return fail(1, `nc: invalid option -- '${c ?? ''}'\nusage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n\t  [-m minttl] [-O length] [-P proxy_username] [-p source_port]\n\t  [-q seconds] [-s sourceaddr] [-T keyword] [-V rtable] [-W recvlimit]\n\t  [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]]\n\t  [destination] [port]\n`);
      }
    } else positional.push(a);
  }
  if (!zero) return fail(1, 'mk8s-sim: only `nc -z` (a connect check) is simulated\n');
  const [hostArg, portArg] = positional;
  if (hostArg === undefined || portArg === undefined || !/^\d+$/.test(portArg)) return fail(1, 'usage: nc [-46CDdFhklNnrStUuvZz] [destination] [port]\n');
  const w = world(ctxMain(ctx));
  const ip = resolveName(w, ctx.node, hostArg);
  if (ip === undefined) return fail(1, `nc: getaddrinfo for host "${hostArg}" port ${portArg}: Name or service not known\n`);
  const target = w.byIp(ip);
  const port = Number(portArg);
  const me = w.host(ctx.node);
  const say = (s: string) => (verbose ? s : '');
  if (target === ctx.node || ip === '127.0.0.1') {
    return portOpen(ctx.node, me.agentRunning, port) ? ok('', say(`Connection to ${hostArg} ${port} port [tcp/*] succeeded!\n`)) : fail(1, say(`nc: connect to ${hostArg} port ${port} (tcp) failed: Connection refused\n`));
  }
  if (target && !target.up && target.portAnswersWhenDown && port === 19001 && !me.blocked.has(ip)) return ok('', say(`Connection to ${hostArg} ${port} port [tcp/*] succeeded!\n`));
  if (!target || !target.up || me.blocked.has(ip)) {
    await ctx.sleep(Math.min((waitS ?? 5) * 1000, ctx.latency.restartMs));
    if (!target) return fail(1, say(`nc: connect to ${hostArg} port ${port} (tcp) failed: No route to host\n`));
    return fail(1, say(`nc: connect to ${hostArg} port ${port} (tcp) timed out: Operation now in progress\n`));
  }
  if (!portOpen(target, w.host(target).agentRunning, port)) return fail(1, say(`nc: connect to ${hostArg} port ${port} (tcp) failed: Connection refused\n`));
  return ok('', say(`Connection to ${hostArg} ${port} port [tcp/*] succeeded!\n`));
}
