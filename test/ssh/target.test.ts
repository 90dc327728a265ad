import { describe, expect, it } from 'vitest';
import { clusterConfig, parseInventory } from '../../src/config/inventory.ts';
import { UnknownNodeError, snapProxyTarget, sshTargetFor } from '../../src/ssh/target.ts';

const inv = parseInventory(
  `
clusters:
  prod:
    channel: C0123456789
    ssh:
      user: ubuntu
      privateKeyPath: keys/id_ed25519
      passphraseEnv: PROD_KEY_PASSPHRASE
      knownHostsPath: /etc/mk8s/known_hosts
      commandTimeout: 5m
    snapProxy: { host: 10.0.0.5 }
    nodes:
      - { name: k8s-1, host: 10.0.0.11, port: 2201, role: control-plane }
      - { name: k8s-2, host: 10.0.0.12, role: control-plane }
      - { name: w1, host: 10.0.0.21, role: worker, os: windows }
    windows: { user: Administrator }
  lab:
    channel: C0999999999
    ssh: { user: ops, agent: true, knownHostsPath: ./kh, sudo: false }
    nodes:
      - { name: n1, host: lab-1.example.com, role: control-plane }
`,
  '/srv/mk8s/inventory.yml',
);

describe('sshTargetFor', () => {
  it('a Windows node: its own account and never sudo (cmd.exe has none)', () => {
    const prod = clusterConfig(inv, 'prod')!;
    expect(sshTargetFor(prod, 'w1')).toMatchObject({ node: 'w1', host: '10.0.0.21', user: 'Administrator', sudo: false });
    expect(sshTargetFor(prod, 'k8s-2')).toMatchObject({ user: 'ubuntu', sudo: true });
  });

  it('takes host and port from the node and the rest from the cluster', () => {
    const prod = clusterConfig(inv, 'prod')!;
    expect(sshTargetFor(prod, 'k8s-1', { PROD_KEY_PASSPHRASE: 'hunter2' })).toEqual({
      node: 'k8s-1',
      host: '10.0.0.11',
      port: 2201,
      user: 'ubuntu',
      privateKeyPath: '/srv/mk8s/keys/id_ed25519',
      passphrase: 'hunter2',
      knownHostsPath: '/etc/mk8s/known_hosts',
      sudo: true,
      connectTimeoutMs: 10_000,
      commandTimeoutMs: 300_000,
    });
    expect(sshTargetFor(prod, 'k8s-2', {})).not.toHaveProperty('passphrase');
    expect(sshTargetFor(prod, 'k8s-2', {}).port).toBe(22);
  });

  it('uses the agent when the cluster says so', () => {
    const lab = clusterConfig(inv, 'lab')!;
    const t = sshTargetFor(lab, 'n1', {});
    expect(t).toMatchObject({ agent: true, sudo: false, user: 'ops', knownHostsPath: '/srv/mk8s/kh' });
    expect(t).not.toHaveProperty('privateKeyPath');
  });

  it('refuses a node that is not in the cluster, listing the ones that are', () => {
    const prod = clusterConfig(inv, 'prod')!;
    expect(() => sshTargetFor(prod, 'k8s-9')).toThrow(UnknownNodeError);
    expect(() => sshTargetFor(prod, 'k8s-9')).toThrow('node "k8s-9" is not in cluster prod (its nodes: k8s-1, k8s-2, w1)');
  });

  it('builds the snap proxy target with the cluster ssh settings', () => {
    expect(snapProxyTarget(clusterConfig(inv, 'prod')!, {})).toMatchObject({ node: 'snap-proxy', host: '10.0.0.5', port: 22, user: 'ubuntu' });
    expect(snapProxyTarget(clusterConfig(inv, 'lab')!, {})).toBeUndefined();
  });
});
