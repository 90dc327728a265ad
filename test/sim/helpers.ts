/** Test helpers: a plain ssh2 Client against the simulator (not src/ssh, on purpose). */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Client as SshClient } from 'ssh2';
import type { SimCluster } from '../../src/sim/index.ts';

export interface ExecOut {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface Conn {
  client: SshClient;
  /** Host key fingerprint the client's hostVerifier saw. */
  seenFingerprint: string;
  exec(command: string, timeoutMs?: number): Promise<ExecOut>;
  close(): void;
}

export async function clientFiles(cluster: SimCluster): Promise<{ privateKey: Buffer; dir: string; privateKeyPath: string; knownHostsPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mk8s-sim-'));
  const files = await cluster.writeClientFiles(dir);
  return { ...files, dir, privateKey: await readFile(files.privateKeyPath) };
}

export function connect(cluster: SimCluster, nodeName: string, opts: { privateKey: Buffer; username?: string }): Promise<Conn> {
  const info = cluster.nodes.find((n) => n.name === nodeName);
  if (!info) throw new Error(`no node ${nodeName}`);
  const client = new ssh2.Client();
  let seenFingerprint = '';
  return new Promise((resolve, reject) => {
    client
      .on('ready', () => {
        // Nagle on the client + delayed ACKs cost ~40 ms per command on loopback
        client.setNoDelay(true);
        resolve({
          client,
          seenFingerprint,
          exec: (command, timeoutMs = 10_000) => exec(client, command, timeoutMs),
          close: () => client.end(),
        });
      })
      .on('error', reject)
      .connect({
        host: info.host,
        port: info.port,
        username: opts.username ?? cluster.user,
        privateKey: opts.privateKey,
        readyTimeout: 5000,
        hostVerifier: (key: Buffer) => {
          seenFingerprint = `SHA256:${createHashB64(key)}`;
          return true;
        },
      });
  });
}

function createHashB64(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** Runs one command; rejects when the channel cannot open, or after timeoutMs (closing the channel). */
export function exec(client: SshClient, command: string, timeoutMs = 10_000): Promise<ExecOut> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, ch) => {
      if (err) {
        reject(err);
        return;
      }
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      const timer = setTimeout(() => {
        ch.close();
        reject(new Error(`timeout: ${command}`));
      }, timeoutMs);
      ch.on('data', (d: Buffer) => (stdout += d.toString()));
      ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      ch.on('exit', (c: number | null) => (code = c));
      ch.on('close', () => {
        clearTimeout(timer);
        resolve({ stdout, stderr, code });
      });
    });
  });
}

export const SUDO = 'sudo -n -- ';
