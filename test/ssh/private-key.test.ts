/**
 * src/ssh/private-key.ts: an encrypted key is decrypted once per process and file, and a file
 * replaced on disk (a rotated key) or a different passphrase is parsed again.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPrivateKey } from '../../src/ssh/private-key.ts';
import { makeKeyPair } from '../support/ssh-test-server.ts';

describe('loadPrivateKey', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mk8s-key-'));

  it('decrypts an encrypted key once, and parses it again only when the file or the passphrase changes', async () => {
    const path = join(dir, 'id_ed25519');
    const first = makeKeyPair('ed25519', 'pass-one');
    writeFileSync(path, first.private, { mode: 0o600 });

    const a = await loadPrivateKey(path, 'pass-one');
    expect(a.reused).toBe(false);
    expect(a.key instanceof Error ? a.key.message : a.key.getPublicSSH().equals(first.blob)).toBe(true);
    const b = await loadPrivateKey(path, 'pass-one');
    expect(b.reused).toBe(true);
    expect(b.key).toBe(a.key);

    // Another passphrase is not taken on trust from the cache: it is tried on the file.
    const wrong = await loadPrivateKey(path, 'not-the-passphrase');
    expect(wrong.key).toBeInstanceOf(Error);
    expect(wrong.reused).toBe(false);

    // The key rotated on disk: the new one is used at once.
    const second = makeKeyPair('ed25519', 'pass-two');
    writeFileSync(path, second.private, { mode: 0o600 });
    const c = await loadPrivateKey(path, 'pass-two');
    expect(c.reused).toBe(false);
    expect(c.key instanceof Error ? c.key.message : c.key.getPublicSSH().equals(second.blob)).toBe(true);
  });

  it('rejects when the file cannot be read, and says when it is not a key', async () => {
    await expect(loadPrivateKey(join(dir, 'missing'), undefined)).rejects.toMatchObject({ code: 'ENOENT' });
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'not a key\n');
    expect((await loadPrivateKey(junk, undefined)).key).toBeInstanceOf(Error);
  });
});
