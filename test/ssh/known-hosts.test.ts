import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KnownHosts, fingerprint, keyTypeOf, knownHostsName, parseKnownHosts } from '../../src/ssh/known-hosts.ts';
import { makeKeyPair } from '../support/ssh-test-server.ts';

// Keys and hashed lines produced by OpenSSH 9.2 (ssh-keygen -t ..., ssh-keygen -lf, ssh-keygen -H).
const ED25519 = 'AAAAC3NzaC1lZDI1NTE5AAAAICT7TemehlFjhGCF9p6i/iDAiVLsQnNAJPFMInavFu2m';
const ED25519_FP = 'SHA256:0y46hH/ZMJd0cAS90fXIYNPEB0Gkt9bBZQmhuSIOG+A';
const ECDSA =
  'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGrxkNPhmhTyQvhUbrrfH2FBAe0Cwp1h2a/hLLbplLtjIAIDZpzkYdK/4DpydMQaB1lJ3CHaXbjEaRKAdPIhxJY=';
const ECDSA_FP = 'SHA256:ABPTQNNJeGSGZ9B4kgg3bjeIrHNsEEtu8/Y4g9zJUHw';
// `k8s-1.example.com,10.0.0.11 ssh-ed25519 …` and `[10.0.0.12]:2222 ecdsa-sha2-nistp256 …`, hashed by ssh-keygen -H
const HASHED = `
|1|PFvwswnle4OWdf5dT4R1ZvehcO8=|aKL8ys4knWpLOAuEqiMu7spz6vU= ssh-ed25519 ${ED25519}
|1|k2A71vSQHAjZ5EDnPLIalwizgMI=|VOxpI77LGWMJY6Q+eRKus3iv2CA= ssh-ed25519 ${ED25519}
|1|i29jnQPwKPWH69xjPNxbDpm/FXY=|OA5iHvfrc/weqC8sGbzB0S/z5Xs= ecdsa-sha2-nistp256 ${ECDSA}
`;

const ed = Buffer.from(ED25519, 'base64');
const ec = Buffer.from(ECDSA, 'base64');

describe('fingerprint', () => {
  it('matches ssh-keygen -lf', () => {
    expect(fingerprint(ed)).toBe(ED25519_FP);
    expect(fingerprint(ec)).toBe(ECDSA_FP);
  });

  it('matches the ssh-keygen on this machine for a fresh key, when there is one', () => {
    const keygen = spawnSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
    if (keygen.error) return; // no OpenSSH client installed here
    const key = makeKeyPair('rsa');
    const dir = mkdtempSync(join(tmpdir(), 'fp-'));
    writeFileSync(join(dir, 'k.pub'), `${key.publicLine}\n`);
    const out = execFileSync('ssh-keygen', ['-lf', join(dir, 'k.pub')], { encoding: 'utf8' });
    expect(out.split(' ')[1]).toBe(fingerprint(key.blob));
  });

  it('reads the key type from the blob', () => {
    expect(keyTypeOf(ed)).toBe('ssh-ed25519');
    expect(keyTypeOf(ec)).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOf(Buffer.from([0, 0]))).toBe('unknown');
  });
});

describe('knownHostsName', () => {
  it('uses the bare host on port 22 and [host]:port otherwise', () => {
    expect(knownHostsName('10.0.0.11', 22)).toBe('10.0.0.11');
    expect(knownHostsName('K8S-1.Example.com', 2222)).toBe('[k8s-1.example.com]:2222');
    expect(knownHostsName('[fd00::1]', 22)).toBe('fd00::1');
  });
});

describe('KnownHosts', () => {
  it('parses plain, port, comma-list entries and ignores comments, blanks and junk', () => {
    const kh = KnownHosts.parse(`
# a comment
k8s-1,10.0.0.11 ssh-ed25519 ${ED25519} root@k8s-1

[10.0.0.12]:2222 ecdsa-sha2-nistp256 ${ECDSA}
this line is garbage
k8s-9 ssh-ed25519 not*base64
@unknown-marker k8s-3 ssh-ed25519 ${ED25519}
`);
    expect(kh.entries).toHaveLength(2);
    expect(kh.verify('k8s-1', 22, ed)).toEqual({ status: 'ok', line: 3 });
    expect(kh.verify('10.0.0.11', 22, ed).status).toBe('ok');
    expect(kh.verify('10.0.0.12', 2222, ec).status).toBe('ok');
    expect(kh.verify('10.0.0.12', 22, ec).status).toBe('unknown');
    expect(kh.verify('k8s-3', 22, ed).status).toBe('unknown');
  });

  it('reports a different key for a known host as a mismatch, with the line and key types on file', () => {
    const kh = KnownHosts.parse(`k8s-1 ssh-ed25519 ${ED25519}\n`);
    expect(kh.verify('k8s-1', 22, ec)).toEqual({ status: 'mismatch', knownTypes: ['ssh-ed25519'], line: 1 });
    const other = makeKeyPair('ed25519');
    expect(kh.verify('k8s-1', 22, other.blob)).toMatchObject({ status: 'mismatch', line: 1 });
  });

  it('matches hashed entries written by ssh-keygen -H', () => {
    const kh = KnownHosts.parse(HASHED);
    expect(kh.verify('k8s-1.example.com', 22, ed).status).toBe('ok');
    expect(kh.verify('10.0.0.11', 22, ed).status).toBe('ok');
    expect(kh.verify('10.0.0.12', 2222, ec).status).toBe('ok');
    expect(kh.verify('10.0.0.13', 22, ed).status).toBe('unknown');
    expect(kh.verify('10.0.0.11', 22, ec).status).toBe('mismatch');
  });

  it('honours wildcards and negations', () => {
    const kh = KnownHosts.parse(`*.prod.example.com,!bad.prod.example.com ssh-ed25519 ${ED25519}\n10.0.0.? ecdsa-sha2-nistp256 ${ECDSA}\n`);
    expect(kh.verify('k8s-1.prod.example.com', 22, ed).status).toBe('ok');
    expect(kh.verify('bad.prod.example.com', 22, ed).status).toBe('unknown');
    expect(kh.verify('10.0.0.5', 22, ec).status).toBe('ok');
    expect(kh.verify('10.0.0.55', 22, ec).status).toBe('unknown');
  });

  it('refuses a @revoked key even when another line accepts it', () => {
    const kh = KnownHosts.parse(`k8s-1 ssh-ed25519 ${ED25519}\n@revoked * ssh-ed25519 ${ED25519}\n`);
    expect(kh.verify('k8s-1', 22, ed)).toEqual({ status: 'revoked', line: 2 });
  });

  it('ignores @cert-authority lines (certificates are not supported)', () => {
    const kh = KnownHosts.parse(`@cert-authority *.example.com ssh-ed25519 ${ED25519}\n`);
    expect(kh.verify('a.example.com', 22, ed).status).toBe('unknown');
  });

  it('lists the key types on file for a host, for host key algorithm preference', () => {
    const kh = KnownHosts.parse(`k8s-1 ecdsa-sha2-nistp256 ${ECDSA}\nk8s-1 ssh-ed25519 ${ED25519}\n`);
    expect(kh.knownKeyTypes('k8s-1', 22)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(kh.knownKeyTypes('k8s-2', 22)).toEqual([]);
  });

  it('treats a missing file as knowing nothing', () => {
    const kh = KnownHosts.load(join(tmpdir(), 'does-not-exist-known-hosts'));
    expect(kh.missing).toBe(true);
    expect(kh.verify('k8s-1', 22, ed).status).toBe('unknown');
  });

  it('parses CRLF files', () => {
    expect(parseKnownHosts(`k8s-1 ssh-ed25519 ${ED25519}\r\nk8s-2 ssh-ed25519 ${ED25519}\r\n`)).toHaveLength(2);
  });
});
