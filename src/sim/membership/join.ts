/**
 * `microk8s join` on the simulated hosts (../membership.ts): the agent's checks and texts in the
 * order of the real agent (TCP, the fingerprint, clock skew, the token — consumed by its first
 * valid use —, HA on both sides, same IP, hostname resolution, already known to dqlite, worker
 * support), a traceback on an unreachable agent, and on success the host becomes a member of
 * the contacted node's cluster (a worker gets its API-server proxy's endpoints).
 */
import { calicoNodeImage } from '../calico.ts';
import { minorOf } from '../catalogue.ts';
import { fail, ok, type CommandContext, type CommandResult } from '../context.ts';
import { lacksPermission, permissionText } from '../microk8s.ts';
import { PROVIDER_YAML, providerYaml, snapRestart } from '../node-config.ts';
import type { SimNode } from '../node.ts';
import { rebalance } from './roles.ts';
import { certFingerprint, ctxMain, isHaNode, world } from './world.ts';

function agentMinorSaysGo(minor: number): boolean {
  return minor >= 25;
}

const JOIN_USAGE_122 = "Join a cluster: microk8s join <master>:<port>/<token> [options]\n\nOptions:\n--skip-verify  skip the certificate verification of the node we are joining to (default: false).\n";
const JOIN_USAGE = "Usage: microk8s join [OPTIONS] CONNECTION\nTry 'microk8s join -h' for help.\n";

interface JoinArgs {
  connection: string;
  worker: 'as-worker' | 'as-master' | undefined;
  skipVerify: boolean;
}

function parseJoinArgs(args: string[], minor: number): JoinArgs | CommandResult {
  let worker: JoinArgs['worker'];
  let skipVerify = false;
  const positional: string[] = [];
  for (const a of args) {
    if (minor < 23) {
      if (a === '-h' || a === '--help') return { stdout: JOIN_USAGE_122, stderr: '', code: 1 };
      if (a === '-f' || a === '--force') continue;
      if (a === '-s' || a === '--skip-verify') skipVerify = true;
      else if (a.startsWith('-')) return { stdout: `option ${a} not recognized\n${JOIN_USAGE_122}`, stderr: '', code: 2 };
      else positional.push(a);
      continue;
    }
    if (a === '-h' || a === '--help') {
      return ok(
        'Usage: microk8s join [OPTIONS] CONNECTION\n\n  Join the node to a cluster\n\n  CONNECTION: the cluster connection endpoint in format <master>:<port>/<token>\n\nOptions:\n  --worker                    Join as a worker only node.\n  --controlplane              Join running the control plane on HA clusters.\n                              (default)\n  --skip-verify               Skip the certificate verification of the node we\n                              are joining to. (default: false)\n  --disable-low-memory-guard  Disable the low memory guard. (default: false)\n  -h, --help                  Show this message and exit.\n',
      );
    }
    if (a === '--worker') worker = 'as-worker';
    else if (a === '--controlplane') worker = 'as-master';
    else if (a === '--skip-verify') skipVerify = true;
    else if (a.startsWith('-')) continue; // click: ignore_unknown_options
    else positional.push(a);
  }
  const connection = positional[0];
  if (connection === undefined) {
    if (minor < 23) return { stdout: `Please provide a connection string.\n${JOIN_USAGE_122}`, stderr: '', code: 4 };
    return fail(2, `${JOIN_USAGE}\nError: Missing argument 'CONNECTION'.\n`);
  }
  return { connection, worker, skipVerify };
}

function traceback(node: SimNode, minor: number, error: string): string {
  const dir = minor < 25 ? 'cluster' : 'wrappers';
  const py = minor < 24 ? 'python3.6' : 'python3.8';
  const snap = `/snap/microk8s/${node.revision}`;
  return [
    'Traceback (most recent call last):',
    `  File "${snap}/scripts/${dir}/join.py", line 1098, in <module>`,
    '    join(prog_name="microk8s join")',
    `  File "${snap}/scripts/${dir}/join.py", line 989, in join_dqlite`,
    '    fingerprint=fingerprint,',
    `  File "${snap}/scripts/${dir}/join.py", line 130, in get_connection_info`,
    '    conn.connect()',
    `  File "${snap}/usr/lib/${py}/http/client.py", line 1392, in connect`,
    '    super().connect()',
    `  File "${snap}/usr/lib/${py}/http/client.py", line 936, in connect`,
    '    (self.host,self.port), self.timeout, self.source_address)',
    `  File "${snap}/usr/lib/${py}/socket.py", line 724, in create_connection`,
    '    raise err',
    `  File "${snap}/usr/lib/${py}/socket.py", line 713, in create_connection`,
    '    sock.connect(sa)',
    error,
    '',
  ].join('\n');
}

const CLOCK_LIMIT_S = 60;

export async function join(ctx: CommandContext, args: string[]): Promise<CommandResult> {
  const joiner = ctx.node;
  const minor = minorOf(joiner.version);
  if (lacksPermission(ctx)) return fail(1, permissionText(ctx.user, minor));
  const parsed = parseJoinArgs(args, minor);
  if ('code' in parsed) return parsed;
  const main = ctxMain(ctx);
  const w = world(main);
  const [endpoint = '', token, fingerprint] = parsed.connection.split('/');
  const colon = endpoint.lastIndexOf(':');
  if (token === undefined || colon < 0) {
    return { stdout: '', stderr: `${traceback(joiner, minor, 'IndexError: list index out of range').split('\n').slice(0, 3).join('\n')}\nIndexError: list index out of range\n`, code: 1 };
  }
  const ip = endpoint.slice(0, colon);
  const port = endpoint.slice(colon + 1);
  let stdout = `Contacting cluster at ${ip}\n`;
  const record = (code: number, outcome: string) => {
    w.joins.push({ node: joiner.name, target: `${ip}:${port}`, token, worker: parsed.worker !== undefined, code, outcome, at: Date.now() });
  };
  const done = (code: number, line: string, extra = ''): CommandResult => {
    record(code, line);
    return { stdout: `${stdout}${line}\n${extra}`, stderr: '', code };
  };

  // TCP to the agent
  const target = w.byIp(ip);
  const me = w.host(joiner);
  if (!target || !target.up || me.blocked.has(ip)) {
    await ctx.sleep(ctx.latency.restartMs);
    const error = target || me.blocked.has(ip) ? 'TimeoutError: [Errno 110] Connection timed out' : 'OSError: [Errno 113] No route to host';
    record(1, error);
    return { stdout, stderr: traceback(joiner, minor, error), code: 1 };
  }
  const there = w.host(target);
  if (target.stopped || !there.agentRunning || port !== '25000') {
    const error = 'ConnectionRefusedError: [Errno 111] Connection refused';
    record(1, error);
    return { stdout, stderr: traceback(joiner, minor, error), code: 1 };
  }
  // TLS: the fingerprint, and certificates the joining node's clock cannot accept
  if (fingerprint !== undefined && !parsed.skipVerify) {
    if (fingerprint.length < 12) return done(4, "Joining cluster failed. Fingerprint too short. Use '--skip-verify' to skip server certificate check.");
    if (!certFingerprint(target).startsWith(fingerprint)) {
      return done(4, `Joining cluster failed. Could not verify the identity of ${ip}. Use '--skip-verify' to skip server certificate check.`);
    }
  }
  const skew = joiner.clockSkewSeconds - target.clockSkewSeconds;
  if (Math.abs(skew) > CLOCK_LIMIT_S) {
    const why = skew < 0 ? 'certificate is not yet valid' : 'certificate has expired';
    return done(4, `Peer node verification failed ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ${why} (_ssl.c:1131)).`);
  }

  // the agent on the contacted node
  const targetState = there.view ?? main;
  const targetMinor = minorOf(target.version);
  const goAgent = agentMinorSaysGo(targetMinor);
  const now = ctx.state.now();
  const entry = there.tokens.find((t) => t.token === token && !t.consumed && (t.expiresAt === undefined || t.expiresAt > now));
  const anyEntry = w.issued.find((t) => t.token === token);
  if (anyEntry) anyEntry.uses++;
  await ctx.sleep(ctx.latency.defaultMs);
  if (!entry) return done(6, 'Connection failed. Invalid token (500).');
  if (entry.expiresAt === undefined) entry.consumed = true;
  const joinerHa = isHaNode(w, joiner);
  const targetHa = targetState.addons.has('ha-cluster');
  if (!joinerHa) {
    return done(6, targetHa ? "Connection failed. Failed to join the cluster. This is an HA dqlite cluster.\nPlease retry after enabling HA on this joining node with 'microk8s enable ha-cluster' (501)." : 'mk8s-sim: joins between pre-1.19 (etcd) nodes are not simulated');
  }
  if (!targetHa) return done(6, `Connection failed. Not possible to join. This is not an HA ${goAgent ? 'MicroK8s' : 'dqlite'} cluster (501).`);
  if (joiner.ip === target.ip) return done(6, `Connection failed. The joining node has the same IP (${ip}) as the node we contact (503).`);
  if (there.unresolvable.has(joiner.name)) {
    return done(6, `Connection failed. The hostname (${joiner.name}) of the joining node does not resolve to the IP "${joiner.ip}". Refusing join (400).`);
  }
  const known = targetState.nodeList().some((n) => n.dqliteRole !== undefined && n.ip === joiner.ip && targetState.machines.get(n.name) === n && n !== target);
  if (known) {
    return done(
      6,
      targetMinor >= 28
        ? `Connection failed. Failed to retrieve dqlite cluster nodes: the joining node (${joiner.ip}) is already known to dqlite (500).`
        : `Connection failed. The joining node (${joiner.ip}) is already known to dqlite (504).`,
    );
  }
  const asWorker = parsed.worker !== undefined; // --controlplane takes the worker path too (reference §2)
  if (asWorker && (parsed.worker === 'as-master' || targetMinor < 23)) {
    return done(1, 'Joining process failed. Make sure the cluster you connect to supports joining worker nodes.');
  }

  // joined: the host becomes a member of the target's cluster
  const old = me.view;
  if (old) old.nodes.delete(joiner.name);
  me.view = targetState === main ? undefined : targetState;
  me.legacy = false;
  const stale = targetState.nodes.get(joiner.name);
  joiner.cordoned = stale !== undefined && stale !== joiner ? stale.cordoned : false;
  targetState.nodes.set(joiner.name, joiner);
  if (targetState !== main) targetState.machines.set(joiner.name, joiner);
  joiner.role = asWorker ? 'worker' : 'control-plane';
  joiner.dqliteRole = asWorker ? undefined : 'spare';
  joiner.stopped = false;
  joiner.restartingUntil = now + ctx.latency.restartMs;
  if (!targetState.podsOn(joiner.name).some((p) => p.app === 'calico-node')) {
    targetState.addPod({ namespace: 'kube-system', app: 'calico-node', labels: { 'k8s-app': 'calico-node', 'controller-revision-hash': '7d8f6c4b9', 'pod-template-generation': '1' }, owner: { kind: 'DaemonSet', name: 'calico-node' }, nodeName: joiner.name, image: calicoNodeImage(targetState), hostNetwork: true });
  }
  rebalance(targetState);
  targetState.bump();
  targetState.reconcile();
  await ctx.sleep(ctx.latency.restartMs);
  if (asWorker) {
    const endpoints = targetState.nodeList().filter((n) => n.role === 'control-plane' && n.dqliteRole !== undefined).map((n) => `${n.ip}:16443`);
    joiner.fs.mkdirp(`/var/snap/microk8s/${joiner.revision}/args/traefik`, true);
    joiner.fs.writeFile(PROVIDER_YAML, Buffer.from(providerYaml(endpoints)), true, now);
    await snapRestart({ ...ctx, state: targetState, root: true }, ['microk8s.daemon-apiserver-proxy']);
    if (targetMinor < 25 && minor < 25) {
      const others = endpoints.map((e) => e.replace(/:16443$/, '')).filter((e) => e !== ip);
      stdout += `\nThe node has joined the cluster and will appear in the nodes list in a few seconds.\n\nCurrently this worker node is configured with the following kubernetes API server endpoints:\n    - ${ip} and port 16443, this is the cluster node contacted during the join operation.\n${others.map((o) => `    - ${o} assuming port 16443\n`).join('')}\nIf the above endpoints are incorrect, incomplete or if the API servers are behind a loadbalancer please update\n/var/snap/microk8s/current/args/traefik/provider.yaml\n\n`;
    } else {
      stdout +=
        "\nThe node has joined the cluster and will appear in the nodes list in a few seconds.\n\nThis worker node gets automatically configured with the API server endpoints.\nIf the API servers are behind a loadbalancer please set the '--refresh-interval' to '0s' in:\n    /var/snap/microk8s/current/args/apiserver-proxy\nand replace the API server endpoints with the one provided by the loadbalancer in:\n    /var/snap/microk8s/current/args/traefik/provider.yaml\n\n";
    }
  } else {
    stdout += 'Waiting for this node to finish joining the cluster. .. .. .. .  \n';
  }
  if (minor >= 29) stdout += 'Successfully joined the cluster.\n';
  record(0, 'joined');
  return ok(stdout);
}
