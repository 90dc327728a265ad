/**
 * Commands that read how a node is doing, or fetch what it made: `microk8s inspect` and its
 * report tarball, the kubelet's Lease (its heartbeat), `snap services` / `snap restart`, and a
 * remote file's checksum and size (`sha256sum`, `stat -c %s`), fetched over SFTP and checked.
 */
import { allInOrder } from '../util/in-order.ts';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, rename, rm, stat } from 'node:fs/promises';
import { CheckFailedError, InvalidValueError } from '../errors/user-facing.ts';
import { tail } from '../ssh/errors.ts';
import type { RemoteShell } from '../ssh/types.ts';
import { parseInspect, type InspectReport } from './parse-inspect.ts';
import { parseSha256sum, parseStatSize } from './parse-misc.ts';
import { assertNodeName } from './validate.ts';

/** Inspect gathers a cluster-info dump and journals: give it longer than an ordinary command. */
const INSPECT_TIMEOUT_MS = 15 * 60_000;
/** Plain absolute paths only (they go into argv; keep them boring). */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]+$/;
/** A snap service name: `microk8s.daemon-apiserver-proxy`. */
const SERVICE = /^microk8s\.daemon-[a-z0-9-]{1,60}$/;

export function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function assertPath(path: string): string {
  if (!SAFE_PATH.test(path) || path.includes('/../') || path.endsWith('/..')) throw new InvalidValueError(`refusing to touch ${JSON.stringify(path.slice(0, 120))}: not a plain absolute path`);
  return path;
}

export type InspectOutcome = { code: number; report: InspectReport } | { code: number; report?: undefined; outputTail: string };

/** `sudo microk8s inspect`: exit 1 (a service is down) is a finding; no tarball named → its last output. */
export async function inspect(shell: RemoteShell): Promise<InspectOutcome> {
  const r = await shell.exec(['microk8s', 'inspect'], { privileged: true, okExitCodes: [0, 1], timeoutMs: INSPECT_TIMEOUT_MS });
  try {
    return { code: r.code, report: parseInspect(r.stdout, r.stderr) };
  } catch {
    return { code: r.code, outputTail: tail(`${r.stdout}\n${r.stderr}`, 12, 1500) };
  }
}

/** `sha256sum <path>` and `stat -c %s <path>` on the node (as root). */
export async function checksum(shell: RemoteShell, path: string): Promise<{ sha256: string; bytes: number }> {
  assertPath(path);
  // Both read the same finished file: at once, a failure named in this order.
  const [sum, size] = await allInOrder([shell.exec(['sha256sum', path], { privileged: true }), shell.exec(['stat', '-c', '%s', path], { privileged: true })]);
  return { sha256: parseSha256sum(sum.stdout, path), bytes: parseStatSize(size.stdout, path) };
}

export type FetchOutcome = { ok: true; sha256: string; bytes: number } | { ok: false; sha256: string; bytes: number };

/**
 * Copies `remotePath` to `localPath` over SFTP and compares the copy with what the node reported
 * (`expected`): a copy that does not match is deleted, and its own sha256 and size returned.
 * The copy is made under a temporary name, readable by this user only (0600), and renamed into
 * place once it matches: a failed fetch never replaces a file already there.
 */
export async function fetchChecked(shell: RemoteShell, remotePath: string, localPath: string, expected: { sha256: string; bytes: number }): Promise<FetchOutcome> {
  assertPath(remotePath);
  const partial = `${localPath}.part`;
  try {
    await shell.download(remotePath, partial);
    await chmod(partial, 0o600);
    const [sha256, info] = await Promise.all([sha256OfFile(partial), stat(partial)]);
    if (sha256 !== expected.sha256 || info.size !== expected.bytes) return { ok: false, sha256, bytes: info.size };
    await rename(partial, localPath);
    return { ok: true, sha256, bytes: info.size };
  } finally {
    await rm(partial, { force: true });
  }
}

/** `sudo rm -f <path>`. */
export async function removeFile(shell: RemoteShell, path: string): Promise<void> {
  await shell.exec(['rm', '-f', assertPath(path)], { privileged: true });
}

/** `spec.renewTime` of a Lease as JSON → epoch ms (microseconds kept as a fraction); `from` names the node asked. */
export function parseLeaseRenewTime(text: string, node: string, from: string): number {
  let renew: unknown;
  try {
    renew = (JSON.parse(text) as { spec?: { renewTime?: unknown } }).spec?.renewTime;
  } catch {
    renew = undefined;
  }
  const m = typeof renew === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(renew) : null;
  if (!m) throw new CheckFailedError(`the lease of ${node} read from ${from} has no spec.renewTime in RFC 3339 form`);
  const fraction = Number(`0.${m[2] ?? '0'}`);
  return Date.parse(`${m[1]}Z`) + fraction * 1000;
}

/** `microk8s kubectl get lease <node> -n kube-node-lease -o json` → when the kubelet last renewed it. */
export async function leaseRenewTime(shell: RemoteShell, node: string): Promise<number> {
  assertNodeName(node);
  const r = await shell.exec(['microk8s', 'kubectl', 'get', 'lease', node, '-n', 'kube-node-lease', '-o', 'json'], { privileged: true });
  return parseLeaseRenewTime(r.stdout, node, shell.node);
}

/** `snap services <service>` → its Current column (`active` / `inactive`). */
export function parseServiceCurrent(stdout: string, service: string): string | undefined {
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] === service) return cols[2];
  }
  return undefined;
}

function assertService(service: string): string {
  if (!SERVICE.test(service)) throw new InvalidValueError(`not a MicroK8s service: ${JSON.stringify(service.slice(0, 80))}`);
  return service;
}

/** `snap services <service>`: active, inactive, or undefined when snapd does not list it. */
export async function serviceState(shell: RemoteShell, service: string): Promise<string | undefined> {
  return parseServiceCurrent((await shell.exec(['snap', 'services', assertService(service)])).stdout, service);
}

/** `sudo snap restart <service>`. */
export async function restartService(shell: RemoteShell, service: string): Promise<void> {
  await shell.exec(['snap', 'restart', assertService(service)], { privileged: true });
}
