/**
 * OpenSSH known_hosts: parsing, host matching (plain, `[host]:port`, comma lists, wildcards,
 * negations, hashed `|1|salt|hmac` names), markers (`@revoked`, `@cert-authority`), and the
 * `SHA256:` fingerprints `ssh-keygen -lf` prints.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface KnownHostEntry {
  /** 1-based line number in the file, for messages. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Host patterns (comma list split), or undefined for a hashed entry. */
  patterns?: string[];
  hashed?: { salt: Buffer; hmac: Buffer };
  keyType: string;
  key: Buffer;
}

export type HostKeyCheck =
  | { status: 'ok'; line: number }
  | { status: 'unknown' }
  /** The host is known, but not with this key. `knownTypes` lists the key types on file. */
  | { status: 'mismatch'; knownTypes: string[]; line: number }
  | { status: 'revoked'; line: number };

/** `SHA256:<base64 without padding>` of the key's wire-format blob, as `ssh-keygen -lf` prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64url').replaceAll('-', '+').replaceAll('_', '/')}`;
}

/** The key type string at the start of an SSH wire-format public key blob (`ssh-ed25519`, ...). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  if (len === 0 || len > 64 || keyBlob.length < 4 + len) return 'unknown';
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return port === 22 ? bare : `[${bare}]:${port}`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/[ \t]+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return; // unknown marker: OpenSSH ignores the line
    }
    const [hosts, keyType, keyB64] = fields;
    if (!hosts || !keyType || !keyB64 || !BASE64.test(keyB64)) return;
    const key = Buffer.from(keyB64, 'base64');
    if (keyTypeOf(key) !== keyType) return; // not a key of the type the line claims: not a key line
    const entry: KnownHostEntry = { line: i + 1, keyType, key };
    if (marker) entry.marker = marker;
    if (hosts.startsWith('|1|')) {
      const [, , salt, hmac] = hosts.split('|');
      if (!salt || !hmac) return;
      entry.hashed = { salt: Buffer.from(salt, 'base64'), hmac: Buffer.from(hmac, 'base64') };
    } else {
      entry.patterns = hosts.toLowerCase().split(',').filter((p) => p !== '');
    }
    entries.push(entry);
  });
  return entries;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${body}$`);
}

/** Does the entry name this host? `name` is what knownHostsName() returns. */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed) {
    const digest = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return digest.length === entry.hashed.hmac.length && timingSafeEqual(digest, entry.hashed.hmac);
  }
  let matched = false;
  for (const pattern of entry.patterns ?? []) {
    const negated = pattern.startsWith('!');
    const glob = negated ? pattern.slice(1) : pattern;
    if (globToRegExp(glob).test(name)) {
      if (negated) return false; // a matching negation vetoes the whole line
      matched = true;
    }
  }
  return matched;
}

export class KnownHosts {
  constructor(
    readonly entries: KnownHostEntry[],
    /** Where they came from, for messages. */
    readonly path: string,
    /** True when the file did not exist (every host is then unknown). */
    readonly missing = false,
  ) {}

  static parse(text: string, path = '(inline)'): KnownHosts {
    return new KnownHosts(parseKnownHosts(text), path);
  }

  /** Reads the file now (so edits apply to the next connection); a missing file means "nothing known". */
  static load(path: string): KnownHosts {
    try {
      return KnownHosts.parse(readFileSync(path, 'utf8'), path);
    } catch (err) {
      if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return new KnownHosts([], path, true);
      throw err;
    }
  }

  private entriesFor(host: string, port: number): KnownHostEntry[] {
    const name = knownHostsName(host, port);
    return this.entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e, name));
  }

  /** Key types on file for this host, in file order (used to prefer them during key exchange). */
  knownKeyTypes(host: string, port: number): string[] {
    const types = this.entriesFor(host, port)
      .filter((e) => !e.marker)
      .map((e) => e.keyType);
    return [...new Set(types)];
  }

  verify(host: string, port: number, keyBlob: Buffer): HostKeyCheck {
    const entries = this.entriesFor(host, port);
    const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(keyBlob));
    if (revoked) return { status: 'revoked', line: revoked.line };
    const plain = entries.filter((e) => !e.marker);
    const exact = plain.find((e) => e.key.equals(keyBlob));
    if (exact) return { status: 'ok', line: exact.line };
    const first = plain[0];
    if (!first) return { status: 'unknown' };
    const offeredType = keyTypeOf(keyBlob);
    const sameType = plain.find((e) => e.keyType === offeredType) ?? first;
    return { status: 'mismatch', knownTypes: [...new Set(plain.map((e) => e.keyType))], line: sameType.line };
  }
}
