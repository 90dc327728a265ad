import { mkdtempSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseInventory } from '../../src/config/inventory.ts';
import { formatAge, formatBytes, listBackups, pruneBackups, writeManifest } from '../../src/store/backup-store.ts';

/** The backups kept on the bot host: listing newest first across nodes, pruning to K, manifests. */
describe('backup store', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'mk8s-backups-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function put(root: string, node: string, stamp: string, opts: { manifestTime?: string; bytes?: number } = {}): string {
    const dir = join(root, 'prod', node);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `mk8s-backup-${stamp}.tar.gz`);
    writeFileSync(path, Buffer.alloc(opts.bytes ?? 10));
    return path;
  }

  it('lists newest first across nodes, by manifest time, else the stamp in the name; other files are ignored', async () => {
    const root = tmp();
    const a = put(root, 'k8s-1', '20260101T000000Z');
    const b = put(root, 'k8s-2', '20260103T000000Z');
    const c = put(root, 'k8s-1', '20260102T000000Z');
    // a manifest's time wins over the name (here: later than all)
    await writeManifest(a, { cluster: 'prod', node: 'k8s-1', file: 'x', sha256: 'ab'.repeat(32), bytes: 10, job: '12', time: '2026-02-01T00:00:00.000Z', remotePath: '/r' });
    writeFileSync(join(root, 'prod', 'k8s-1', 'notes.txt'), 'x');
    mkdirSync(join(root, 'prod', 'inspect'), { recursive: true });
    writeFileSync(join(root, 'prod', 'inspect', 'k8s-1-inspection-report-20260101_000000.tar.gz'), 'x');
    const list = await listBackups(root, 'prod');
    expect(list.map((x) => x.path)).toEqual([a, b, c]);
    expect(list[0]).toMatchObject({ node: 'k8s-1', sha256: 'ab'.repeat(32), job: '12', hasManifest: true, bytes: 10 });
    expect(list[1]).toMatchObject({ node: 'k8s-2', hasManifest: false, takenAt: Date.UTC(2026, 0, 3) });
    expect(await listBackups(root, 'nope')).toEqual([]);
  });

  it('prunes to the newest K, tarball and manifest together', async () => {
    const root = tmp();
    const paths = ['20260101T000000Z', '20260102T000000Z', '20260103T000000Z', '20260104T000000Z'].map((s, i) => put(root, i % 2 ? 'k8s-2' : 'k8s-1', s));
    for (const p of paths) await writeManifest(p, { cluster: 'prod', node: 'n', file: 'f', sha256: 'cd'.repeat(32), bytes: 10, job: '1', time: new Date(Date.UTC(2026, 0, 1 + paths.indexOf(p))).toISOString(), remotePath: '/r' });
    const gone = await pruneBackups(root, 'prod', 2);
    expect(gone.map((g) => g.path)).toEqual([paths[1], paths[0]]);
    expect(readdirSync(join(root, 'prod', 'k8s-1')).toSorted()).toEqual(['mk8s-backup-20260103T000000Z.tar.gz', 'mk8s-backup-20260103T000000Z.tar.gz.json']);
    expect(readdirSync(join(root, 'prod', 'k8s-2')).toSorted()).toEqual(['mk8s-backup-20260104T000000Z.tar.gz', 'mk8s-backup-20260104T000000Z.tar.gz.json']);
    expect(await pruneBackups(root, 'prod', 2)).toEqual([]);
    await expect(pruneBackups(root, 'prod', 0)).rejects.toThrow(/at least 1/);
  });

  it('a tarball with neither manifest nor a parseable stamp falls back to its mtime', async () => {
    const root = tmp();
    const p = put(root, 'k8s-1', '20261399T000000Z');
    utimesSync(p, new Date('2025-05-05T00:00:00Z'), new Date('2025-05-05T00:00:00Z'));
    expect((await listBackups(root, 'prod'))[0]?.takenAt).toBe(Date.parse('2025-05-05T00:00:00Z'));
  });

  it('formats sizes and ages', () => {
    expect(formatBytes(752)).toBe('752 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(25 * 1024 * 1024)).toBe('25 MB');
    expect(formatAge(30_000)).toBe('30 s');
    expect(formatAge(45 * 60_000)).toBe('45 min');
    expect(formatAge(5 * 3600_000)).toBe('5 h');
    expect(formatAge(3 * 86_400_000)).toBe('3 d');
  });

  it('the inventory keeps 10 by default; backups.keep is validated', () => {
    const base = (extra: string) =>
      `clusters:\n  prod:\n    channel: C0PROD0001\n    ssh: { user: ubuntu, agent: true, knownHostsPath: ./kh }\n    nodes: [{ name: k8s-1, host: 10.0.0.1, role: control-plane }]\n${extra}`;
    expect(parseInventory(base(''), '/tmp/i.yml').clusters.prod?.backups.keep).toBe(10);
    expect(parseInventory(base('    backups: { keep: 3 }\n'), '/tmp/i.yml').clusters.prod?.backups.keep).toBe(3);
    expect(() => parseInventory(base('    backups: { keep: 0 }\n'), '/tmp/i.yml')).toThrow(/clusters\.prod\.backups\.keep/);
    expect(() => parseInventory(base('    backups: { keep: 3, every: 1h }\n'), '/tmp/i.yml')).toThrow(/backups/);
  });
});
