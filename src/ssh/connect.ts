/**
 * Opening one SSH connection (ssh2 Client) for SshConnection (connection.ts):
 *
 * - Host keys are checked against an OpenSSH known_hosts file, on every (re)connect: an
 *   unknown, changed or revoked key refuses the connection with a HostKeyError naming the
 *   offered fingerprint. The host key algorithms offered prefer the key types on file.
 * - Auth with a private key file (+ passphrase) or the agent at SSH_AUTH_SOCK.
 * - SSH keepalives (3 missed answers drop the connection); TCP_NODELAY once ready.
 * - A failure to connect is an SshConnectError that says what to check (auth, timeout,
 *   refused, unreachable), never the secrets.
 */
import ssh2 from 'ssh2';
import type { AgentAuthMethod, ConnectConfig, ParsedKey, PublicKeyAuthMethod, ServerHostKeyAlgorithm } from 'ssh2';
import { HostKeyError, SshConnectError } from './errors.ts';
import { KnownHosts, fingerprint, keyTypeOf, type HostKeyCheck } from './known-hosts.ts';
import { loadPrivateKey } from './private-key.ts';
import type { SshTarget } from './types.ts';

const { Client } = ssh2;
export type SshClient = InstanceType<typeof Client>;

/** ssh2's host key algorithms in its default order (Node 20 has Ed25519). */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const satisfies readonly ServerHostKeyAlgorithm[];
type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];

/** Like OpenSSH: prefer the algorithms of the key types already on file for this host. */
export function hostKeyAlgorithmsFor(knownTypes: readonly string[]): HostKeyAlgorithm[] {
  const preferred: HostKeyAlgorithm[] = [];
  for (const type of knownTypes) {
    const algos = type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
    for (const a of algos) {
      const known = HOST_KEY_ALGORITHMS.find((h) => h === a);
      if (known && !preferred.includes(known)) preferred.push(known);
    }
  }
  return [...preferred, ...HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))];
}

type Fail = (problem: ConstructorParameters<typeof SshConnectError>[3], detail: string, cause?: unknown) => SshConnectError;

/** What the connection learns of a client it opened. */
export interface ClientEvents {
  /** The handshake and auth succeeded (called just before the open resolves). */
  ready: (client: SshClient) => void;
  /** A client that was ready closed; `detail` is its last error's message, if any. */
  closed: (client: SshClient, detail?: string) => void;
}

/** Opens and authenticates a client to `t`; rejects with an SshConnectError or a HostKeyError. */
export async function openClient(t: SshTarget, keepaliveIntervalMs: number, events: ClientEvents): Promise<SshClient> {
  const fail: Fail = (problem, detail, cause) =>
    new SshConnectError(t.node, t.host, t.port, problem, detail, cause === undefined ? undefined : { cause });

  let knownHosts: KnownHosts;
  try {
    knownHosts = KnownHosts.load(t.knownHostsPath);
  } catch (err) {
    throw fail('other', `cannot read the known_hosts file ${t.knownHostsPath} (${errCode(err)})`);
  }

  const config: ConnectConfig = {
    host: t.host.replace(/^\[(.*)\]$/, '$1'),
    port: t.port,
    username: t.user,
    readyTimeout: t.connectTimeoutMs,
    keepaliveInterval: keepaliveIntervalMs,
    keepaliveCountMax: 3,
    algorithms: { serverHostKey: hostKeyAlgorithmsFor(knownHosts.knownKeyTypes(t.host, t.port)) },
  };

  // Auth methods in ssh2's own order (the key, then the agent), the key handed over parsed:
  // given as bytes, ssh2 would parse (and decrypt) it again on every connect (private-key.ts).
  const methods: Array<PublicKeyAuthMethod | AgentAuthMethod> = [];
  if (t.privateKeyPath) {
    let parsed: ParsedKey | Error;
    try {
      parsed = (await loadPrivateKey(t.privateKeyPath, t.passphrase)).key;
    } catch (err) {
      throw fail('key', `cannot read the private key file ${t.privateKeyPath} (${errCode(err)})`);
    }
    if (parsed instanceof Error) {
      const why = /passphrase/i.test(parsed.message)
        ? t.passphrase
          ? 'the passphrase does not decrypt it'
          : 'it is encrypted and no passphrase was given (set the variable named by ssh.passphraseEnv)'
        : 'it is not a private key ssh2 can read';
      throw fail('key', `cannot use the private key ${t.privateKeyPath}: ${why}`);
    }
    methods.push({ type: 'publickey', username: t.user, key: parsed });
  }
  if (t.agent) {
    const sock = process.env.SSH_AUTH_SOCK;
    if (sock) methods.push({ type: 'agent', username: t.user, agent: sock });
    else if (!t.privateKeyPath) throw fail('key', 'the inventory says agent: true but SSH_AUTH_SOCK is not set');
  }
  if (methods.length === 0) throw fail('key', 'no private key and no agent configured');
  config.authHandler = methods;

  let hostCheck: { check: HostKeyCheck; key: Buffer } | undefined;
  config.hostVerifier = (key: Buffer): boolean => {
    const check = knownHosts.verify(t.host, t.port, key);
    hostCheck = { check, key };
    return check.status === 'ok';
  };

  const client = new Client();
  return new Promise<SshClient>((resolve, reject) => {
    let ready = false;
    let lastError: Error | undefined;
    client.on('ready', () => {
      ready = true;
      // Small request/response exchanges: without TCP_NODELAY each command waits ~40 ms for Nagle.
      client.setNoDelay(true);
      events.ready(client);
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      lastError = err;
      if (ready) return; // reported through 'close' to the commands in flight
      reject(connectError(t, err, hostCheck, knownHosts, fail));
    });
    client.on('close', () => {
      if (!ready) {
        reject(lastError ? connectError(t, lastError, hostCheck, knownHosts, fail) : fail('other', 'the server closed the connection during the handshake'));
        return;
      }
      events.closed(client, lastError?.message);
    });
    try {
      client.connect(config);
    } catch (err) {
      reject(fail('other', err instanceof Error ? err.message : String(err), err));
    }
  });
}

function connectError(
  t: SshTarget,
  err: Error & { level?: string; code?: string },
  hostCheck: { check: HostKeyCheck; key: Buffer } | undefined,
  knownHosts: KnownHosts,
  fail: Fail,
): Error {
  if (hostCheck && hostCheck.check.status !== 'ok') {
    const { check, key } = hostCheck;
    const problem = check.status === 'unknown' ? 'unknown' : check.status === 'revoked' ? 'revoked' : 'changed';
    return new HostKeyError(t.node, t.host, t.port, problem, fingerprint(key), keyTypeOf(key), knownHosts.path, {
      ...(check.status === 'mismatch' ? { line: check.line, knownTypes: check.knownTypes } : {}),
      ...(check.status === 'revoked' ? { line: check.line } : {}),
      fileMissing: knownHosts.missing,
    });
  }
  switch (err.level) {
    case 'client-authentication':
      return fail(
        'auth',
        `authentication as "${t.user}" failed (${t.privateKeyPath ? `key ${t.privateKeyPath}` : 'agent keys'}); ` +
          `check that the public key is in ~${t.user}/.ssh/authorized_keys on the node`,
      );
    case 'client-timeout':
      return fail('timeout', `no SSH handshake within ${t.connectTimeoutMs} ms`);
    case 'client-socket':
      if (err.code === 'ECONNREFUSED') return fail('refused', 'connection refused (is sshd running, and is the port right?)');
      if (err.code && ['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EHOSTDOWN'].includes(err.code)) {
        return fail('unreachable', `host unreachable (${err.code})`);
      }
      return fail('other', `network error (${err.code ?? err.message})`);
    default:
      return fail('other', err.message);
  }
}

function errCode(err: unknown): string {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : String(err);
}
