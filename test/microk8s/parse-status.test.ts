import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OutputParseError } from '../../src/microk8s/errors.ts';
import { parseStatus } from '../../src/microk8s/parse-status.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

const THREE_VOTERS = [
  { address: '10.0.0.1:19001', role: 'voter' },
  { address: '10.0.0.2:19001', role: 'voter' },
  { address: '10.0.0.3:19001', role: 'voter' },
];

describe('parseStatus --format yaml', () => {
  it('reads running, HA, every member with its role (spares too) and addons', () => {
    const s = parseStatus(fixture('status-yaml-ha.txt'));
    expect(s.running).toBe(true);
    expect(s.highAvailability).toBe(true);
    expect(s.members).toEqual([...THREE_VOTERS, { address: '10.0.0.4:19001', role: 'standby' }, { address: '10.0.0.5:19001', role: 'spare' }]);
    expect(s.addons).toEqual([
      { name: 'dns', repository: 'core', description: 'CoreDNS', version: '1.13.1', enabled: true },
      { name: 'hostpath-storage', repository: 'core', description: 'Storage class; allocates storage from host directory', version: '1.5.0', enabled: false },
      // `version:  ` (status.py prints an empty version so) is none
      { name: 'rbac', repository: 'core', description: 'Role-Based Access Control for authorisation', enabled: false },
    ]);
    expect(s.message).toBeUndefined();
  });

  it('reads a single node (enabled: False, 127.0.0.1)', () => {
    const s = parseStatus(fixture('status-yaml-single.txt'));
    expect(s).toMatchObject({ running: true, highAvailability: false, members: [{ address: '127.0.0.1:19001', role: 'voter' }] });
  });

  it('reads not ready: running False and the message that sits under high-availability', () => {
    const s = parseStatus(fixture('status-yaml-not-ready.txt'));
    expect(s.running).toBe(false);
    expect(s.message).toBe('microk8s is not running. Use microk8s inspect for a deeper inspection.');
    expect(s.members).toEqual(THREE_VOTERS);
  });

  it('reads HA without nodes, CRLF and trailing blank lines', () => {
    const s = parseStatus('microk8s:\r\n  running: True\r\nhigh-availability:\r\n  enabled: False\r\naddons:\r\n\r\n\r\n');
    expect(s).toEqual({ running: true, highAvailability: false, members: [] });
  });

  it('survives a description that breaks the YAML (": " and " #")', () => {
    const s = parseStatus(
      'microk8s:\n  running: True\nhigh-availability:\n  enabled: False\naddons:\n  - name: weird\n    repository: community\n    description: has: colons # and hashes\n    version: 1.0\n    status: enabled\n',
    );
    expect(s.addons).toEqual([{ name: 'weird', repository: 'community', description: 'has: colons # and hashes', version: '1.0', enabled: true }]);
  });

  it('reads the deprecated --yaml short form', () => {
    const s = parseStatus('microk8s:\n  running: True\naddons:\n  core/dns: enabled\n  core/rbac: disabled\n');
    expect(s.running).toBe(true);
    expect(s.addons).toEqual([
      { name: 'dns', repository: 'core', enabled: true },
      { name: 'rbac', repository: 'core', enabled: false },
    ]);
  });

  it('refuses yaml without a running flag', () => {
    expect(() => parseStatus('microk8s:\n  runnin: maybe\n')).toThrow(/running: True/);
  });
});

describe('parseStatus pretty and short', () => {
  it('reads the current pretty format with (core)', () => {
    const s = parseStatus(fixture('status-pretty-ha.txt'));
    expect(s.running).toBe(true);
    expect(s.highAvailability).toBe(true);
    expect(s.members).toEqual([...THREE_VOTERS, { address: '10.0.0.4:19001', role: 'standby' }]);
    expect(s.addons?.map((a) => `${a.repository}/${a.name}:${a.enabled}`)).toEqual([
      'core/dns:true',
      'core/ha-cluster:true',
      'core/cert-manager:false',
      'core/rbac:false',
    ]);
  });

  it('reads pre-1.24 output (no "(core)") with dqlite errors leaked into it', () => {
    const s = parseStatus(fixture('status-pretty-pre124-leak.txt'));
    expect(s).toMatchObject({ running: true, highAvailability: false, members: [{ address: '192.168.30.10:19001', role: 'voter' }] });
    expect(s.addons?.find((a) => a.name === 'ambassador')).toEqual({ name: 'ambassador', enabled: false });
  });

  it('reads "datastore master nodes: none"', () => {
    const s = parseStatus('microk8s is running\nhigh-availability: no\n  datastore master nodes: none\n  datastore standby nodes: none\n');
    expect(s).toEqual({ running: true, highAvailability: false, members: [] });
  });

  it('reads the short format', () => {
    const s = parseStatus(fixture('status-short.txt'));
    expect(s.running).toBe(true);
    expect(s.highAvailability).toBeUndefined();
    expect(s.addons).toHaveLength(4);
  });
});

describe('parseStatus one-line answers', () => {
  it('reads a stopped node', () => {
    expect(parseStatus('microk8s is not running, try microk8s start\n')).toEqual({
      running: false,
      members: [],
      message: 'microk8s is not running, try microk8s start',
    });
  });

  it('reads not ready in pretty format', () => {
    expect(parseStatus('microk8s is not running. Use microk8s inspect for a deeper inspection.\n').running).toBe(false);
  });

  it('recognises a worker node', () => {
    const s = parseStatus('This MicroK8s deployment is acting as a node in a cluster.\nPlease use the control plane node.\n');
    expect(s).toMatchObject({ running: false, worker: true });
  });

  it('recognises the low-memory guard', () => {
    const s = parseStatus('\nThis node does not have enough RAM to host the Kubernetes control plane services\nand join the database quorum.\n');
    expect(s.running).toBe(false);
    expect(s.message).toMatch(/low-memory guard/);
  });

  it('refuses garbage, quoting a short piece of it', () => {
    expect(() => parseStatus('Insufficient permissions to access MicroK8s.\n')).toThrow(OutputParseError);
    expect(() => parseStatus('Insufficient permissions to access MicroK8s.\n')).toThrow(/got "Insufficient permissions to access MicroK8s."/);
    expect(() => parseStatus('')).toThrow(/\(no output\)/);
  });
});
