import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.ts';
import { chatMode, parseEnv } from '../../src/config/env.ts';
import { InventoryError, clusterConfig, loadInventory, nodeInCluster, parseInventory, rbacFor } from '../../src/config/inventory.ts';

const good = `
clusters:
  prod:
    channel: C0123456789
    auditChannel: C0999999999
    ssh:
      user: ubuntu
      privateKeyPath: ~/.ssh/id_ed25519
      knownHostsPath: keys/known_hosts
      sudo: true
    nodes:
      - { name: k8s-1, host: 10.0.0.11, port: 22, role: control-plane }
      - { name: k8s-2, host: 10.0.0.12, role: control-plane }
      - { name: w1, host: 10.0.0.21, role: worker, os: windows }
    snapProxy: { host: 10.0.0.5, port: 22 }
    policy: { approvePlan: true, twoPerson: true, approvalTtl: 30m }
rbac:
  operators: [U012AB3CD]
  approvers: [U045EF6GH, S0APPROVERS]
  viewers: ["*"]
`;

function errorOf(text: string): string {
  try {
    parseInventory(text, '/etc/mk8s/inventory.yml');
  } catch (err) {
    expect(err).toBeInstanceOf(InventoryError);
    return (err as Error).message;
  }
  throw new Error('expected the inventory to be refused');
}

describe('inventory', () => {
  it('accepts the DESIGN.md example and fills defaults', () => {
    const inv = parseInventory(good, '/etc/mk8s/inventory.yml');
    const prod = inv.clusters.prod!;
    expect(prod.policy.approvalTtl).toBe(30 * 60_000);
    expect(prod.policy.drainTimeout).toBe(5 * 60_000);
    expect(prod.nodes[1]!.port).toBe(22);
    expect(prod.nodes[2]!.os).toBe('windows');
    expect(prod.ssh.knownHostsPath).toBe('/etc/mk8s/keys/known_hosts');
    expect(prod.ssh.privateKeyPath).toBe(join(homedir(), '.ssh/id_ed25519'));
    expect(rbacFor(inv, 'prod').approvers).toContain('S0APPROVERS');
  });

  it('names the file, the path and what was expected', () => {
    const msg = errorOf(good.replace('approvalTtl: 30m', 'approvalTtl: soon'));
    expect(msg).toContain('/etc/mk8s/inventory.yml');
    expect(msg).toContain('clusters.prod.policy.approvalTtl');
    expect(msg).toContain('expected a duration such as 15s, 30m, 2h or 1d');
  });

  it.each([
    ['role: control-plane }\n      - { name: k8s-2', 'role: boss }\n      - { name: k8s-2', 'clusters.prod.nodes[0].role'],
    ['name: k8s-1,', 'name: K8S_1,', 'clusters.prod.nodes[0].name'],
    ['port: 22, role', 'port: 70000, role', 'clusters.prod.nodes[0].port'],
    ['host: 10.0.0.11', 'host: "10.0.0.11; rm -rf /"', 'clusters.prod.nodes[0].host'],
    ['name: k8s-2,', 'name: k8s-1,', 'duplicate node name "k8s-1"'],
    ['      privateKeyPath: ~/.ssh/id_ed25519\n', '', 'set privateKeyPath or agent: true'],
    ['    channel: C0123456789\n', '', 'clusters.prod.channel'],
    ['sudo: true', 'sudo: true\n      passwd: hunter2', 'clusters.prod.ssh'],
  ])('refuses %s → %s', (from, to, expected) => {
    expect(errorOf(good.replace(from, to))).toContain(expected);
  });

  // Every error says what is allowed; "Invalid input" (what a failed union says) never reaches a person.
  it.each([
    ['channel: C0123456789', 'channel: C_PROD', 'clusters.prod.channel: expected a Slack channel id such as C0123456789'],
    ['channel: C0123456789', 'channel: "#ops"', 'clusters.prod.channel: expected a Slack channel id such as C0123456789'],
    ['auditChannel: C0999999999', 'auditChannel: 42', 'clusters.prod.auditChannel: expected a Slack channel id such as C0123456789'],
    ['operators: [U012AB3CD]', 'operators: [U_OP1]', 'rbac.operators[0]: expected a Slack user id such as U012AB3CD'],
    ['approvers: [U045EF6GH, S0APPROVERS]', 'approvers: [U045EF6GH, 7]', 'rbac.approvers[1]: expected a Slack user id such as U012AB3CD'],
    ['role: control-plane }\n      - { name: k8s-2', 'role: boss }\n      - { name: k8s-2', 'clusters.prod.nodes[0].role: expected one of control-plane, worker'],
    ['sudo: true', 'sudo: true\n      passwd: hunter2', 'clusters.prod.ssh: unknown key "passwd"; allowed: user, privateKeyPath, passphraseEnv, agent'],
    ['approvalTtl: 30m', 'approvalTtl: 30', 'clusters.prod.policy.approvalTtl: expected a duration such as 15s, 30m, 2h or 1d'],
    ['port: 22, role', 'port: "ssh", role', 'clusters.prod.nodes[0].port: expected a port number from 1 to 65535'],
    ['  prod:\n', '  Prod:\n', 'clusters.Prod: expected a cluster name: lowercase letters, digits and "-"'],
    ['rbac:\n', 'rbca: {}\nrbac:\n', '(top level): unknown key "rbca"; allowed: clusters, rbac'],
  ])('explains %s → %s', (from, to, expected) => {
    const msg = errorOf(good.replace(from, to));
    expect(msg).toContain(expected);
    expect(msg).not.toContain('Invalid input');
  });

  it('says what a missing or mistyped section should be, without echoing text', () => {
    const msg = errorOf(`clusters:\n  prod:\n    channel: C0123456789\n    nodes: hunter2\n`);
    expect(msg).toContain('clusters.prod.ssh: missing: expected a mapping with user, privateKeyPath');
    expect(msg).toContain('clusters.prod.nodes: expected a list, got text');
    expect(msg).not.toContain('hunter2');
  });

  it('accepts what Slack really sends: C/G/D channel ids, U/W user ids, S user groups; and console names', () => {
    const inv = parseInventory(
      good.replace('channel: C0123456789', 'channel: G01ABCDEF23').replace('operators: [U012AB3CD]', 'operators: [W0123ABCD, U024BE7LH, alice]'),
      '/etc/mk8s/inventory.yml',
    );
    expect(inv.clusters.prod!.channel).toBe('G01ABCDEF23');
    expect(inv.rbac.operators).toEqual(['W0123ABCD', 'U024BE7LH', 'alice']);
  });

  it('looks clusters up as own keys only', () => {
    const inv = parseInventory(good, '/etc/mk8s/inventory.yml');
    expect(clusterConfig(inv, 'constructor')).toBeUndefined();
    expect(clusterConfig(inv, '__proto__')).toBeUndefined();
    expect(clusterConfig(inv, 'toString')).toBeUndefined();
    expect(clusterConfig(inv, 'prod')?.name).toBe('prod');
    expect(rbacFor(inv, 'constructor')).toBe(inv.rbac);
  });

  it('says whether a name is a node of a cluster, and lists its nodes when not (the name shortened, on one line)', () => {
    const prod = clusterConfig(parseInventory(good, '/etc/mk8s/inventory.yml'), 'prod')!;
    expect(nodeInCluster(prod, 'k8s-2')).toBeUndefined();
    expect(nodeInCluster(prod, 'w9')).toBe("unknown node 'w9' in cluster prod; its nodes are k8s-1, k8s-2, w1");
    expect(nodeInCluster(prod, `evil\n${'x'.repeat(60)}`)).toBe(`unknown node 'evil ⏎ ${'x'.repeat(32)}…' in cluster prod; its nodes are k8s-1, k8s-2, w1`);
  });

  it('takes maintenance windows and the watch, and names the path of a bad one and what is allowed', () => {
    const inv = parseInventory(good.replace('approvalTtl: 30m }', 'approvalTtl: 30m, windows: ["sat 02:00-06:00 Europe/Berlin"] }\n    watch: { interval: 5m, notReadyAfter: 2m }'), 'inv.yml');
    expect(inv.clusters.prod!.policy.windows.map((w) => w.text)).toEqual(['sat 02:00-06:00 Europe/Berlin']);
    expect(inv.clusters.prod!.watch).toEqual({ interval: 5 * 60_000, notReadyAfter: 2 * 60_000 });
    const defaults = parseInventory(good, 'inv.yml').clusters.prod!;
    expect(defaults.watch).toEqual({ interval: 15 * 60_000, notReadyAfter: 5 * 60_000 });
    expect(defaults.policy.windows).toEqual([]);
    expect(parseInventory(good.replace('approvalTtl: 30m }', 'approvalTtl: 30m }\n    watch: { interval: 0 }'), 'inv.yml').clusters.prod!.watch.interval).toBe(0);

    const msg = errorOf(good.replace('approvalTtl: 30m }', 'approvalTtl: 30m, windows: ["sat 02:00-06:00 Europe/Berlin", "sun 1-5 UTC", "mon 01:00-02:00 Mars/Base"] }\n    watch: { interval: often }'));
    expect(msg).toContain("clusters.prod.policy.windows[1]: '1-5' is not a time range HH:MM-HH:MM");
    expect(msg).toContain("clusters.prod.policy.windows[2]: 'Mars/Base' is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)");
    expect(msg).toContain('clusters.prod.watch.interval: expected a duration such as 30s, 15m or 1h, or 0 to turn it off');
    expect(msg).not.toContain('windows[0]');
  });

  it('needs a control-plane node in each cluster', () => {
    const msg = errorOf(good.replaceAll('role: control-plane', 'role: worker'));
    expect(msg).toContain('expected at least one control-plane node');
  });

  it('explains broken YAML and a missing file', () => {
    expect(errorOf('clusters: [oops')).toMatch(/not valid YAML/);
    const dir = mkdtempSync(join(tmpdir(), 'inv-'));
    expect(() => loadInventory(join(dir, 'missing.yml'))).toThrow(/cannot read the inventory \(ENOENT\); set MK8S_INVENTORY/);
    writeFileSync(join(dir, 'inv.yml'), good);
    expect(Object.keys(loadInventory(join(dir, 'inv.yml')).clusters)).toEqual(['prod']);
  });
});

describe('durations', () => {
  it.each([
    ['15s', 15_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(formatDuration(ms)).toBe(text);
  });
  it.each(['', '0s', '-5m', '1.5h', '10', 'm', '5 minutes', '30M', '99999999s'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('environment', () => {
  it('has the documented defaults and picks the chat mode', () => {
    const env = parseEnv({});
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.MK8S_INVENTORY).toBe('./inventory.yml');
    expect(env.MK8S_ROLE).toBe('all');
    expect(env.MK8S_BACKUP_DIR).toBe('./backups');
    expect(chatMode(env)).toBe('console');
    expect(chatMode(parseEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }))).toBe('slack-http');
    expect(chatMode(parseEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }))).toBe('slack-socket');
  });
  it('names a bad variable without echoing its value', () => {
    expect(() => parseEnv({ MK8S_ROLE: 'boss', REDIS_URL: 'http://secret-host' })).toThrow(/MK8S_ROLE/);
    const message = (() => {
      try {
        parseEnv({ REDIS_URL: 'http://secret-host' });
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(message).toContain('REDIS_URL');
    expect(message).not.toContain('secret-host');
  });
});

describe('inventory: windows settings', () => {
  it('has the seed\'s defaults when absent', () => {
    const w = parseInventory(good, '/etc/mk8s/inventory.yml').clusters.prod!.windows;
    expect(w.serviceCidr).toBe('10.152.183.0/24');
    expect(w.dnsIp).toBe('10.152.183.10');
    expect(w.calicoScriptUrl).toBe('https://github.com/projectcalico/calico/releases/download/v3.25.1/install-calico-windows.ps1');
    expect(w.containerdScriptUrl).toContain('Install-ContainerdRuntime/install-containerd-runtime.ps1');
    expect(w.calicoctlPath).toBe('/usr/local/bin/calicoctl');
    expect(w.fetchCalicoctl).toBe(false);
    expect(w.interfaceName).toBeUndefined();
    expect(w.user).toBeUndefined();
  });

  it('takes an internal mirror, a Calico version, an adapter and a Windows account', () => {
    const text = good.replace('    policy:', '    windows: { user: Administrator, calicoReleaseBaseUrl: "https://mirror.internal/calico", calicoVersion: 3.25.0, interfaceName: "vEthernet (Ethernet 2)", serviceCidr: 10.152.0.0/16 }\n    policy:');
    const w = parseInventory(text, '/etc/mk8s/inventory.yml').clusters.prod!.windows;
    expect(w).toMatchObject({ user: 'Administrator', calicoReleaseBaseUrl: 'https://mirror.internal/calico', calicoVersion: '3.25.0', interfaceName: 'vEthernet (Ethernet 2)', serviceCidr: '10.152.0.0/16' });
  });

  it('names the path and what is allowed for bad values', () => {
    const bad = (windows: string) => errorOf(good.replace('    policy:', `    windows: ${windows}\n    policy:`));
    expect(bad('{ calicoScriptUrl: "https://x/a b.ps1" }')).toContain('clusters.prod.windows.calicoScriptUrl: expected an http(s) URL');
    expect(bad('{ calicoScriptUrl: "https://x/a\'; rm.ps1" }')).toContain('clusters.prod.windows.calicoScriptUrl');
    expect(bad('{ dnsIp: 10.152.183.300 }')).toContain('clusters.prod.windows.dnsIp: expected an IPv4 address such as 10.152.183.10');
    expect(bad('{ serviceCidr: 10.152.183.0 }')).toContain('clusters.prod.windows.serviceCidr: expected an IPv4 CIDR');
    expect(bad('{ interfaceName: "Ethernet$(whoami)" }')).toContain('clusters.prod.windows.interfaceName: expected an adapter name');
    expect(bad('{ calicoVersion: latest }')).toContain('clusters.prod.windows.calicoVersion: expected a Calico version such as 3.25.0');
    expect(bad('{ shell: cmd }')).toContain('clusters.prod.windows');
  });
});
