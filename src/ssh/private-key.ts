/**
 * A node's private key, decrypted once per process and key file. An encrypted OpenSSH key pays
 * its KDF on every parse (bcrypt, 16 rounds: about 190 ms of CPU here, with the event loop
 * blocked), and ssh2 parses the key it is handed on every connect: a `status` of 100 nodes on
 * a cold pool would hold the process for some 40 s. The file is still read on every connect, so
 * a replaced key is used at once; its parse is reused while the bytes and the passphrase match.
 */
import { readFile } from 'node:fs/promises';
import ssh2, { type ParsedKey } from 'ssh2';

const { utils } = ssh2;

interface Cached {
  data: Buffer;
  passphrase: string | undefined;
  key: ParsedKey;
}

const parsedKeys = new Map<string, Cached>();

/**
 * The key at `path`, parsed (and decrypted with `passphrase`); an Error when ssh2 cannot use it.
 * `reused`: no parse was needed. Rejects when the file cannot be read.
 */
export async function loadPrivateKey(path: string, passphrase: string | undefined): Promise<{ key: ParsedKey | Error; reused: boolean }> {
  const data = await readFile(path);
  const hit = parsedKeys.get(path);
  if (hit && hit.passphrase === passphrase && hit.data.equals(data)) return { key: hit.key, reused: true };
  const parsed = utils.parseKey(data, passphrase) as ParsedKey | ParsedKey[] | Error;
  // OpenSSH's format may hold several keys; it stores one in practice (as ssh2 takes the first).
  const key = Array.isArray(parsed) ? (parsed[0] ?? new Error('the key file holds no key')) : parsed;
  if (key instanceof Error || !key.isPrivateKey()) {
    parsedKeys.delete(path);
    return { key: key instanceof Error ? key : new Error('not a private key'), reused: false };
  }
  parsedKeys.set(path, { data, passphrase, key });
  return { key, reused: false };
}
