/**
 * `microk8s add-node` on the simulated hosts (../membership.ts): its flags and usage by release,
 * the token recorded on the node that printed it (single use, or until `--token-ttl` expires),
 * and the connection strings in each `--format`, as the release prints them.
 */
import { randomBytes } from 'node:crypto';
import { minorOf } from '../catalogue.ts';
import { fail, ok, type CommandContext, type CommandResult } from '../context.ts';
import { lacksPermission, permissionText } from '../microk8s.ts';
import type { SimNode } from '../node.ts';
import { certFingerprint, ctxMain, world, type IssuedToken } from './world.ts';

function addressesOf(node: SimNode, minor: number): { defaultIp: string; all: string[] } {
  const all = [node.ip, '172.17.0.1'];
  if (minor >= 23) all.push(`fd42:9f1e:2c4b:1::${(node.index + 11).toString(16)}`);
  return { defaultIp: node.ip, all };
}

function addNodeUsage(minor: number): string {
  if (minor < 23) return 'usage: microk8s add-node [-h] [--token-ttl TOKEN_TTL] [--token TOKEN]\n';
  const formats = minor >= 24 ? '{pretty,short,token,token-check,json,yaml}' : '{pretty,short,token,token-check}';
  return `usage: microk8s add-node [-h] [--token-ttl TOKEN_TTL] [--token TOKEN]\n                         [--format ${formats}]\n`;
}

function addNodeHelp(minor: number): string {
  let s = `${addNodeUsage(minor)}\nProduce a connection string for a node to join the cluster.\n\noptions:\n  -h, --help            show this help message and exit\n`;
  s += '  --token-ttl TOKEN_TTL, -l TOKEN_TTL\n                        Specify how long the token is valid, before it\n                        expires. Value of "-1" indicates that the token is\n                        usable only once (i.e. after joining a node, the token\n                        becomes invalid)\n';
  s += '  --token TOKEN, -t TOKEN\n                        Specify the bootstrap token to add, must be 32\n                        characters long. Auto generates when empty.\n';
  if (minor >= 23) s += `  --format ${minor >= 24 ? '{pretty,short,token,token-check,json,yaml}' : '{pretty,short,token,token-check}'}\n                        Format the output of the token in pretty, short,\n                        token, or token-check\n`;
  return s;
}

export async function addNode(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const { node } = ctx;
  const minor = minorOf(node.version);
  if (node.role === 'worker') return { stdout: 'This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s add-node on the master.\n', stderr: '', code: 1 };
  if (args.join(' ').includes('help')) return ok(addNodeHelp(minor));
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  if (node.stopped) return fail(1, 'microk8s is not running, try microk8s start\n');
  const argError = (msg: string) => fail(2, `${addNodeUsage(minor)}microk8s add-node: error: ${msg}\n`);
  let ttl = -1;
  let token: string | undefined;
  let format = 'pretty';
  const unknown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    const eq = a.startsWith('--') && a.includes('=') ? a.indexOf('=') : -1;
    const flag = eq >= 0 ? a.slice(0, eq) : a;
    const value = (): string | undefined => (eq >= 0 ? a.slice(eq + 1) : args[++i]);
    if (flag === '--token-ttl' || flag === '-l') {
      const v = value();
      if (v === undefined) return argError('argument --token-ttl/-l: expected one argument');
      if (!/^\s*[-+]?\d+\s*$/.test(v)) return argError(`argument --token-ttl/-l: invalid int value: '${v}'`);
      ttl = Number(v);
    } else if (flag === '--token' || flag === '-t') {
      const v = value();
      if (v === undefined) return argError('argument --token/-t: expected one argument');
      token = v;
    } else if (flag === '--format' && minor >= 23) {
      const v = value();
      const choices = minor >= 24 ? ['pretty', 'short', 'token', 'token-check', 'json', 'yaml'] : ['pretty', 'short', 'token', 'token-check'];
      if (v === undefined) return argError('argument --format: expected one argument');
      if (!choices.includes(v)) return argError(`argument --format: invalid choice: '${v}' (choose from ${choices.map((c) => `'${c}'`).join(', ')})`);
      format = v;
    } else unknown.push(a);
  }
  if (unknown.length > 0) return argError(`unrecognized arguments: ${unknown.join(' ')}`);
  const tok = token ?? randomBytes(16).toString('hex');
  if (tok.length < 32) return { stdout: 'Invalid token size.  It must be 32 characters long.\n', stderr: '', code: 1 };
  await ctx.sleep(ctx.latency.defaultMs);
  const w = world(ctxMain(ctx));
  const issued: IssuedToken = { node: node.name, token: tok, uses: 0, consumed: false };
  if (ttl !== -1) {
    issued.ttlSeconds = ttl;
    issued.expiresAt = ctx.state.now() + ttl * 1000;
  }
  w.host(node).tokens.push(issued);
  w.issued.push(issued);
  const check = certFingerprint(node).slice(0, 12);
  const { defaultIp, all } = addressesOf(node, minor);
  const url = (ip: string) => `${ip}:25000/${tok}/${check}`;
  let out: string;
  if (format === 'token') out = `${tok}\n`;
  else if (format === 'token-check') out = `${tok}/${check}\n`;
  else if (format === 'short') out = [defaultIp, ...all.filter((ip) => ip !== defaultIp)].map((ip) => `microk8s join ${url(ip)}\n`).join('');
  else if (format === 'json') out = `${JSON.stringify({ token: `${tok}/${check}`, urls: all.map(url) }, null, 2)}\n`;
  else if (format === 'yaml') out = `token: ${tok}/${check}\nurls:\n${all.map((ip) => `- ${url(ip)}\n`).join('')}\n`;
  else if (minor < 23) {
    // the bash wrapper: IPv4 alternatives, each with a leading space
    out = `From the node you wish to join to this cluster, run the following:\nmicrok8s join ${url(defaultIp)}\n\nIf the node you are adding is not reachable through the default interface you can use one of the following:\n`;
    out += all.filter((ip) => !ip.includes(':')).map((ip) => ` microk8s join ${url(ip)}\n`).join('');
  } else {
    const blank = minor < 25 ? '\n' : '';
    out = `From the node you wish to join to this cluster, run the following:\nmicrok8s join ${url(defaultIp)}\n${blank}\n`;
    if (ctx.state.addons.has('ha-cluster')) {
      out += `Use the '--worker' flag to join a node as a worker not running the control plane, eg:\nmicrok8s join ${url(defaultIp)} --worker\n${blank}\n`;
    }
    out += 'If the node you are adding is not reachable through the default interface you can use one of the following:\n';
    out += all.map((ip) => `microk8s join ${url(ip)}\n`).join('');
  }
  return ok(out);
}
