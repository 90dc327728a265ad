/**
 * Connecting with a passphrase-protected key (OpenSSH's default KDF: bcrypt, 16 rounds), as one
 * process opens fresh connections one after another (a cold pool's `status` of many nodes, a
 * fleet's first jobs). The key is decrypted once per process (src/ssh/private-key.ts): after the
 * first, a connect with it should cost what one with a plain key does. The figure is that ratio,
 * both measured here against the same kind of test server (each connect: handshake, auth, `true`).
 */
import { SshConnection } from '../src/ssh/connection.ts';
import { makeKeyPair, startTestServer, targetFor } from '../test/support/ssh-test-server.ts';
import { log, ms, ratio, stats, type Benchmark, type Figures, type Row } from './lib.ts';

const CONNECTS = 8;
const PASSPHRASE = 'bench passphrase';

/** Wall time of each of CONNECTS connections opened one after another with this key. */
async function connects(passphrase: string | undefined): Promise<number[]> {
  const key = makeKeyPair('ed25519', passphrase);
  const server = await startTestServer({ handler: () => ({ stdout: 'ok\n' }), authorizedKeys: [key] });
  try {
    const target = { ...targetFor(server, { privateKeyPath: server.writeClientKey(key) }), ...(passphrase ? { passphrase } : {}) };
    const walls: number[] = [];
    for (let i = 0; i < CONNECTS; i++) {
      const conn = new SshConnection(target);
      const t = performance.now();
      try {
        await conn.exec(['true']);
      } finally {
        conn.close();
      }
      walls.push(performance.now() - t);
    }
    return walls;
  } finally {
    await server.close();
  }
}

async function run(fig: Figures): Promise<Row[]> {
  const plain = stats((await connects(undefined)).slice(1));
  const [first = 0, ...rest] = await connects(PASSPHRASE);
  const encrypted = stats(rest);
  log(`  connect + \`true\`, plain Ed25519 key: p50 ${ms(plain.p50)}; encrypted key: first ${ms(first)} (the one decryption), then p50 ${ms(encrypted.p50)} → ${ratio(encrypted.p50 / plain.p50)} of a plain key's`);
  fig.encryptedKeyConnectRatio = Number((encrypted.p50 / plain.p50).toFixed(3));
  return [
    { bench: 'key', figure: 'connect with an encrypted key ÷ with a plain one (after the first)', value: ratio(encrypted.p50 / plain.p50), n: encrypted.n, note: `first ${ms(first)}, then ${ms(encrypted.p50)} vs ${ms(plain.p50)}` },
  ];
}

export const encryptedKey: Benchmark = { name: 'key', title: 'SSH connects with a passphrase-protected key', run };
