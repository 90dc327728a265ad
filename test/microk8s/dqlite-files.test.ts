import { describe, expect, it } from 'vitest';
import {
  dataFiles,
  parseBackendListing,
  parseClusterYaml,
  parseInfoYaml,
  reconfigureOutcome,
  renderClusterYaml,
  templateFiles,
} from '../../src/microk8s/dqlite-files.ts';
import { lineDiff } from '../../src/ops/recover-quorum.ts';

// reference §A2: older go-dqlite (ghodss/yaml, sorted keys) and yaml.v3 (struct order)
const OLD_ORDER = '- Address: 94.237.101.145:19001\n  ID: 3297041220608546238\n  Role: 0\n- Address: 94.237.96.48:19001\n  ID: 361013223158465256\n  Role: 2\n';
const NEW_ORDER = '- ID: 3297041220608546238\n  Address: 10.5.0.4:19001\n  Role: 2\n';

describe('cluster.yaml and info.yaml', () => {
  it('reads both key orders, keeps 64-bit IDs exact and remembers the order', () => {
    expect(parseClusterYaml(OLD_ORDER)).toEqual({
      keyOrder: 'address-first',
      members: [
        { id: '3297041220608546238', address: '94.237.101.145:19001', role: 0 },
        { id: '361013223158465256', address: '94.237.96.48:19001', role: 2 },
      ],
    });
    expect(parseClusterYaml(NEW_ORDER)).toEqual({ keyOrder: 'id-first', members: [{ id: '3297041220608546238', address: '10.5.0.4:19001', role: 2 }] });
    expect(parseClusterYaml('- Address: 10.0.0.1:19001\n  ID: 18446744073709551615\n  Role: 1\n').members[0]!.id).toBe('18446744073709551615');
  });

  it('writes YAML in the key order it was given, and reads back the same', () => {
    const members = parseClusterYaml(OLD_ORDER).members;
    const old = renderClusterYaml(members, 'address-first');
    expect(old).toBe(OLD_ORDER);
    expect(renderClusterYaml(members, 'id-first')).toBe('- ID: 3297041220608546238\n  Address: 94.237.101.145:19001\n  Role: 0\n- ID: 361013223158465256\n  Address: 94.237.96.48:19001\n  Role: 2\n');
    expect(parseClusterYaml(renderClusterYaml(members, 'id-first')).members).toEqual(members);
  });

  it('refuses what dqlite would abort on or what is not a member list', () => {
    expect(() => parseClusterYaml('- Address: 10.0.0.1:19001\n  ID: 0\n  Role: 0\n')).toThrow(/ID must be a non-zero unsigned 64-bit integer/);
    expect(() => parseClusterYaml('- Address: 10.0.0.1:19001\n  ID: 5\n- Address: 10.0.0.2:19001\n  ID: 5\n')).toThrow(/appears twice/);
    expect(() => parseClusterYaml('Address: 10.0.0.1:19001\n')).toThrow(/expected a list of members/);
    expect(() => parseClusterYaml('- Address: "<!channel>:1"\n  ID: 5\n')).toThrow(/Address must be host:port/);
    expect(() => parseClusterYaml('- [')).toThrow(/not valid YAML/);
  });

  it('reads info.yaml (restore-db.md: Address, ID, Role)', () => {
    expect(parseInfoYaml('Address: 127.0.0.1:9001\nID: 1\nRole: 0\n')).toEqual({ id: '1', address: '127.0.0.1:9001', role: 0 });
  });
});

describe('the backend listing', () => {
  // microk8s#2367 and #2506
  const LS = [
    '0000000034628364-0000000034628397', 'cluster.crt', 'cluster.key', 'cluster.yaml', 'failure-domain', 'info.yaml', 'kine.sock',
    'metadata1', 'metadata2', 'open-1', 'open-2', 'open-3', 'snapshot-2-15844431-871964758', 'snapshot-2-15844431-871964758.meta', '',
  ].join('\n');

  it('sorts the files by what dqlite does with them; the last index comes from the names', () => {
    const l = parseBackendListing(LS);
    expect(l.closed).toEqual([{ name: '0000000034628364-0000000034628397', start: 34628364, end: 34628397 }]);
    expect(l.open).toEqual(['open-1', 'open-2', 'open-3']);
    expect(l.snapshots).toEqual([{ name: 'snapshot-2-15844431-871964758', term: 2, index: 15844431, timestamp: 871964758, hasMeta: true }]);
    expect(l.metadata).toEqual(['metadata1', 'metadata2']);
    expect(l.other).toEqual(['cluster.crt', 'cluster.key', 'cluster.yaml', 'failure-domain', 'info.yaml', 'kine.sock']);
    expect(l.lastIndex).toBe(34628397);
    expect(dataFiles(l)).toEqual(['snapshot-2-15844431-871964758', 'snapshot-2-15844431-871964758.meta', '0000000034628364-0000000034628397', 'open-1', 'open-2', 'open-3', 'metadata1', 'metadata2']);
    expect(templateFiles(l)).toEqual(['snapshot-2-15844431-871964758', 'snapshot-2-15844431-871964758.meta', '0000000034628364-0000000034628397']);
  });

  it('ignores names that only look like raft files', () => {
    const l = parseBackendListing('000000003462836-0000000034628397\nopen-x\nsnapshot-2-1\n-rf\n');
    expect(l.closed).toEqual([]);
    expect(l.open).toEqual([]);
    expect(l.snapshots).toEqual([]);
    expect(l.lastIndex).toBe(0);
  });
});

describe('.reconfigure answers', () => {
  it('is OK only for exactly OK and exit 0', () => {
    expect(reconfigureOutcome('OK\n', '', 0)).toEqual({ ok: true });
    expect(reconfigureOutcome('OK\n', '', 1).ok).toBe(false);
    const bad = reconfigureOutcome('', 'Error: bad command format, should be: .reconfigure <dir> <clusteryaml>\nArgs:\n\tdir - …\nUsage:\n  dqlite -s <servers> <database> [command] [flags]\n', 1);
    expect(bad).toEqual({ ok: false, text: '"Error: bad command format, should be: .reconfigure <dir> <clusteryaml>" (exit code 1)' });
    expect(reconfigureOutcome('', '', 134)).toEqual({ ok: false, text: '(no output) (exit code 134)' });
  });
});

describe('the cluster.yaml diff', () => {
  it('keeps the template, removes the lost members', () => {
    const before = '- Address: a:1\n  ID: 1\n  Role: 0\n- Address: b:1\n  ID: 2\n  Role: 0\n';
    expect(lineDiff(before, '- Address: a:1\n  ID: 1\n  Role: 0\n')).toBe('  - Address: a:1\n    ID: 1\n    Role: 0\n- - Address: b:1\n-   ID: 2\n-   Role: 0');
  });
});
