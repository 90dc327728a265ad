/**
 * `curl` on a simulated node, enough for the verification workload: an HTTP GET to
 * `http://<node>:<nodePort>/` reaches a NodePort service (kube-proxy on that node) and is
 * answered by one of its Running pods, in turn. A microbot pod serves its page with
 * `<p class="centered">Container hostname: <pod-name></p>`.
 *
 * Any node's address (its IP or name) works from any node; a node that is down, or whose
 * packets to that address are dropped (`simMembership(state).setBlocked`), times out.
 * Exit codes and messages are curl's: 6 could not resolve host, 7 connection refused,
 * 28 timeout; `--silent` hides the message unless `--show-error` is given.
 */
import { fail, ok, type CommandContext, type CommandResult } from './context.ts';
import type { SimNode } from './node.ts';
import { dropsPacketsTo } from './membership/network.ts';
import { workloadStore } from './workloads.ts';

/** The page the dontrebootme/microbot:v1 image serves; its start script writes the container's hostname into it. */
export function microbotPage(hostname: string): string {
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <style type="text/css">',
    '    .centered',
    '      {',
    '      text-align:center;',
    '      margin-top:0px;',
    '      margin-bottom:0px;',
    '      padding:0px;',
    '      }',
    '  </style>',
    '  <body>',
    '    <p class="centered"><img src="microbot.png" alt="microbot"/></p>',
    `    <p class="centered">Container hostname: ${hostname}</p>`,
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

function nginxPage(): string {
  return '<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n</body>\n</html>\n';
}

interface CurlArgs {
  url?: string;
  silent: boolean;
  showError: boolean;
  failOnHttp: boolean;
  maxTimeMs?: number;
  head: boolean;
}

function parseArgs(args: string[]): CurlArgs | CommandResult {
  const out: CurlArgs = { silent: false, showError: false, failOnHttp: false, head: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    const value = (): string | undefined => {
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      i++;
      return args[i];
    };
    if (a === '--silent' || a === '-s') out.silent = true;
    else if (a === '--show-error' || a === '-S') out.showError = true;
    else if (a === '--fail' || a === '-f') out.failOnHttp = true;
    else if (a === '-sS' || a === '-Ss') out.silent = out.showError = true;
    else if (a === '-fsS' || a === '-sSf' || a === '-fs' || a === '-sf') {
      out.silent = true;
      out.failOnHttp = true;
      out.showError = a.includes('S');
    } else if (a === '--head' || a === '-I') out.head = true;
    else if (a === '--max-time' || a.startsWith('--max-time=') || a === '-m') {
      const v = value();
      if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) return fail(2, `curl: option ${a.split('=')[0]}: expected a proper numerical parameter\ncurl: try 'curl --help' or 'curl --manual' for more information\n`);
      out.maxTimeMs = Number(v) * 1000;
    } else if (a === '--connect-timeout' || a.startsWith('--connect-timeout=')) {
      value();
    } else if (a.startsWith('-') && a !== '-') {
      return fail(2, `curl: option ${a}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n`);
    } else out.url = a;
  }
  return out;
}

/** The node a host name or address in a URL means, seen from `self`. */
function resolveHost(ctx: CommandContext, host: string): SimNode | undefined {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '127.0.0.1' || h === '::1' || h === ctx.node.name) return ctx.node;
  return ctx.state.nodeList().find((n) => n.ip === h || n.name === h);
}

export async function nodePortCurl(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const parsed = parseArgs(args);
  if ('code' in parsed) return parsed;
  const say = (code: number, msg: string): CommandResult => fail(code, parsed.silent && !parsed.showError ? '' : `curl: (${code}) ${msg}\n`);
  if (!parsed.url) return fail(2, "curl: no URL specified!\ncurl: try 'curl --help' or 'curl --manual' for more information\n");
  const m = /^(?:(https?):\/\/)?(\[[0-9a-fA-F:]+\]|[^/:?#]+)(?::(\d{1,5}))?(\/[^?#]*)?/.exec(parsed.url);
  if (!m) return say(3, 'URL using bad/illegal format or missing URL');
  const scheme = m[1] ?? 'http';
  const host = m[2] ?? '';
  const port = Number(m[3] ?? (scheme === 'https' ? 443 : 80));
  const path = m[4] ?? '/';
  const target = resolveHost(ctx, host);
  if (!target) return say(6, `Could not resolve host: ${host}`);
  const refused = () => say(7, `Failed to connect to ${host} port ${port} after 0 ms: Connection refused`);
  // down, or the path from here is cut (`simMembership(state).setBlocked(from, ip, true)`)
  if (!target.up || (target !== ctx.node && dropsPacketsTo(ctx, target.ip))) {
    // nothing answers: the SYN goes unanswered until the time limit
    const wait = parsed.maxTimeMs ?? 10_000;
    await ctx.sleep(wait);
    return say(28, `Failed to connect to ${host} port ${port} after ${wait} ms: Timeout was reached`);
  }
  if (target.stopped) return refused();
  ctx.state.reconcile();
  const store = workloadStore(ctx.state);
  const svc = store.byNodePort(port);
  if (!svc || scheme !== 'http') return refused();
  const endpoints = store.endpoints(svc);
  // kube-proxy rejects traffic to a service without endpoints
  if (endpoints.length === 0) return refused();
  const pod = endpoints[svc.next % endpoints.length];
  svc.next += 1;
  if (!pod) return refused();
  if (path !== '/' && path !== '/index.html') {
    if (parsed.failOnHttp) return say(22, 'The requested URL returned error: 404');
    return ok('<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n</body>\r\n</html>\r\n');
  }
  const body = pod.image.includes('microbot') ? microbotPage(pod.name) : nginxPage();
  if (parsed.head) return ok(`HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
  return ok(body);
}
