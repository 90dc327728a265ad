/**
 * The commands that change which nodes form the cluster (../shared/reference/microk8s-cli.md
 * §1–3, §8), and the checks a node needs before it joins: `add-node`, `join`, `leave`,
 * `remove-node`, `enable ha-cluster`, `stop`/`start`, `getent hosts`, `nc -z`, `hostname`.
 * Each returns what the command said, typed; deciding what that means for the job is the step
 * helper's business (src/ops/membership.ts).
 *
 * A join token is a secret: `addNode` returns it only inside the JoinUrl, and `join` masks it
 * (ExecOptions.secrets) in errors, the audit trail and the error text it returns.
 */
import { InvalidValueError } from '../errors/user-facing.ts';
import { CommandFailedError } from '../ssh/errors.ts';
import type { RemoteShell } from '../ssh/types.ts';
import { joinError, maskJoinText, parseJoinUrls, type JoinUrl } from './parse-join.ts';
import { assertHostAddress, assertNodeName, assertPort, assertSeconds } from './validate.ts';

/** A host name to look up: letters, digits, dots and dashes (Kubernetes node names may have dots). */
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;

/** Every exit code: these commands' failures are read from their output, not from an exception. */
const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

/** The first lines of a command's output, on one line (for a failure message). */
function firstLines(text: string, n: number): string {
  return text.split('\n').filter(Boolean).slice(0, n).join(' ');
}

/**
 * `microk8s add-node --token-ttl <seconds>`: the connection strings it printed (each holds the
 * token). Its output is read for tokens whatever the exit code, so that a failure's error
 * (CommandFailedError) carries its text with them masked.
 */
export async function addNode(shell: RemoteShell, tokenTtlSeconds: number): Promise<JoinUrl[]> {
  assertSeconds(tokenTtlSeconds, 'the token lifetime');
  const argv = ['microk8s', 'add-node', '--token-ttl', String(tokenTtlSeconds)];
  const r = await shell.exec(argv, { privileged: true, okExitCodes: ANY_EXIT, timeoutMs: 60_000 });
  const urls = parseJoinUrls(r.stdout);
  if (r.code !== 0) {
    const secrets = urls.map((u) => u.token);
    throw new CommandFailedError(shell.node, argv.join(' '), r.code, firstLines(maskJoinText(r.stderr, secrets), 3), undefined, firstLines(maskJoinText(r.stdout, secrets), 3));
  }
  return urls;
}

export type JoinOutcome = { ok: true } | { ok: false; code: number; error: string };

/**
 * `microk8s join <host:port/token[/fingerprint]> [--worker]`. A control-plane join passes no
 * flag (`--controlplane` takes the worker path and burns the token). A failure returns the first
 * real error the node printed, with the token masked.
 */
export async function join(shell: RemoteShell, url: JoinUrl, worker: boolean, timeoutMs: number): Promise<JoinOutcome> {
  const secrets = [url.token];
  const argv = ['microk8s', 'join', url.text, ...(worker ? ['--worker'] : [])];
  const r = await shell.exec(argv, { privileged: true, secrets, okExitCodes: ANY_EXIT, timeoutMs });
  if (r.code === 0) return { ok: true };
  return { ok: false, code: r.code, error: maskJoinText(joinError(r.stdout, r.stderr, r.code), secrets) };
}

export type LeaveOutcome =
  | { kind: 'left' }
  /** "not acting as a node in a cluster": it had left already. */
  | { kind: 'not-joined' }
  /** Exit 3: the node holds the only copy of the datastore (the only voter). */
  | { kind: 'only-voter'; message: string }
  | { kind: 'failed'; code: number; message: string };

/** `microk8s leave` on the node. */
export async function leave(shell: RemoteShell, timeoutMs: number): Promise<LeaveOutcome> {
  const r = await shell.exec(['microk8s', 'leave'], { privileged: true, okExitCodes: [0, 1, 2, 3], timeoutMs });
  const text = `${r.stdout}\n${r.stderr}`.trim();
  if (r.code === 0) return { kind: 'left' };
  if (r.code === 3) return { kind: 'only-voter', message: text.split('\n')[0] ?? '' };
  if (/not acting as a node in a cluster/.test(text)) return { kind: 'not-joined' };
  return { kind: 'failed', code: r.code, message: firstLines(text, 2) || 'no output' };
}

export type RemoveOutcome =
  | { kind: 'removed' }
  /** Exit 1 "does not exist in Kubernetes": the Node object is gone (the dqlite entry may have been removed too). */
  | { kind: 'already-gone' }
  /** "registered with dqlite": its leave did not finish. */
  | { kind: 'still-registered' }
  | { kind: 'failed'; code: number; message: string };

/** `microk8s remove-node <node> [--force]` (the flag after the name). */
export async function removeNode(shell: RemoteShell, node: string, force: boolean): Promise<RemoveOutcome> {
  assertNodeName(node);
  const r = await shell.exec(['microk8s', 'remove-node', node, ...(force ? ['--force'] : [])], { privileged: true, okExitCodes: [0, 1, 2], timeoutMs: 180_000 });
  const text = `${r.stdout}\n${r.stderr}`.trim();
  if (r.code === 0) return { kind: 'removed' };
  if (/does not exist in Kubernetes|does not exist\./.test(text)) return { kind: 'already-gone' };
  if (/registered with dqlite/.test(text)) return { kind: 'still-registered' };
  return { kind: 'failed', code: r.code, message: firstLines(text, 2) || 'no output' };
}

/** `microk8s enable ha-cluster` (exit 1 is returned with the last lines it printed). */
export async function enableHaCluster(shell: RemoteShell, timeoutMs: number): Promise<{ ok: true } | { ok: false; message: string }> {
  const r = await shell.exec(['microk8s', 'enable', 'ha-cluster'], { privileged: true, okExitCodes: [0, 1], timeoutMs });
  if (r.code === 0) return { ok: true };
  return { ok: false, message: `${r.stdout}\n${r.stderr}`.trim().split('\n').filter(Boolean).slice(-2).join(' ') || `exit code ${r.code}` };
}

/**
 * `microk8s stop`, or `microk8s start`. A worker node answers "acting as a node in a cluster"
 * and does nothing: `worker` is then its first line.
 */
export async function stopOrStart(shell: RemoteShell, sub: 'stop' | 'start', timeoutMs: number): Promise<{ worker?: string }> {
  const r = await shell.exec(['microk8s', sub], { privileged: true, timeoutMs });
  return /acting as a node in a cluster/.test(r.stdout) ? { worker: r.stdout.trim().split('\n')[0] ?? '' } : {};
}

/**
 * The names `getent hosts` cannot resolve on this node (each looked up on its own: exit 2 or no
 * line means not found). A host without getent (exit 127) cannot be checked: nothing is reported.
 */
export async function unresolvable(shell: RemoteShell, names: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    if (!HOST_NAME.test(name)) throw new InvalidValueError(`not a host name to look up: ${JSON.stringify(name.slice(0, 80))}`);
    const r = await shell.exec(['getent', 'hosts', name], { okExitCodes: ANY_EXIT });
    if (r.code === 127) return [];
    if (r.code !== 0 || r.stdout.trim() === '') missing.push(name);
  }
  return missing;
}

export interface Reach {
  ok: boolean;
  /** false: `nc` is not installed, nothing could be checked. */
  checked: boolean;
  detail: string;
}

/**
 * A TCP connect to host:port with `nc -z -v -w 5` (netcat-openbsd, installed on Ubuntu by
 * default): the check `join` itself needs to pass, without sending anything.
 */
export async function canReach(shell: RemoteShell, host: string, port: number): Promise<Reach> {
  // host often comes from a node (add-node's output, an InternalIP): never an option such as `-e`
  const r = await shell.exec(['nc', '-z', '-v', '-w', '5', assertHostAddress(host), String(assertPort(port))], { okExitCodes: ANY_EXIT, timeoutMs: 30_000 });
  const text = `${r.stderr}\n${r.stdout}`.trim().split('\n').filter((l) => l.trim() !== '').at(-1) ?? '';
  if (r.code === 127 || /command not found/.test(r.stderr)) return { ok: false, checked: false, detail: 'nc is not installed' };
  return { ok: r.code === 0, checked: true, detail: text || `nc exit code ${r.code}` };
}

/** `hostname`: the name the kubelet registers the node under (lowercased, as MicroK8s sends it). */
export async function hostname(shell: RemoteShell): Promise<string> {
  return (await shell.exec(['hostname'])).stdout.trim().toLowerCase();
}

/** The commands above on one node: `node.membership.join(…)` (MicroK8sNode.membership). */
export class MembershipCommands {
  constructor(private readonly shell: RemoteShell) {}

  addNode(tokenTtlSeconds: number): Promise<JoinUrl[]> {
    return addNode(this.shell, tokenTtlSeconds);
  }

  join(url: JoinUrl, worker: boolean, timeoutMs: number): Promise<JoinOutcome> {
    return join(this.shell, url, worker, timeoutMs);
  }

  leave(timeoutMs: number): Promise<LeaveOutcome> {
    return leave(this.shell, timeoutMs);
  }

  removeNode(node: string, force: boolean): Promise<RemoveOutcome> {
    return removeNode(this.shell, node, force);
  }

  enableHaCluster(timeoutMs: number): Promise<{ ok: true } | { ok: false; message: string }> {
    return enableHaCluster(this.shell, timeoutMs);
  }

  stopOrStart(sub: 'stop' | 'start', timeoutMs: number): Promise<{ worker?: string }> {
    return stopOrStart(this.shell, sub, timeoutMs);
  }

  unresolvable(names: readonly string[]): Promise<string[]> {
    return unresolvable(this.shell, names);
  }

  canReach(host: string, port: number): Promise<Reach> {
    return canReach(this.shell, host, port);
  }

  hostname(): Promise<string> {
    return hostname(this.shell);
  }
}
