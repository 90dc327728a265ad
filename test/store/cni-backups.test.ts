/** The record of upgrade-cni's backups (src/store/cni-backups.ts): one key per cluster, replaced by the next upgrade, none when unreadable. */
import { describe, expect, it } from 'vitest';
import { keys } from '../../src/queue/keys.ts';
import { readCniBackup, writeCniBackup, type CniBackupRecord } from '../../src/store/cni-backups.ts';
import { useRedisClient } from '../support/redis.ts';

const record: CniBackupRecord = {
  job: '12', at: 1_700_000_000_000, from: 'v3.25.1', to: 'v3.28.0',
  backups: { 'k8s-1': '/var/snap/microk8s/current/args/cni-network/cni.yaml.mk8s-20260101T000000Z', 'w1': '/var/snap/microk8s/current/args/cni-network/cni.yaml.mk8s-20260101T000000Z' },
};

describe('cni backup record', () => {
  const db = useRedisClient();

  it('reads back what was written, per cluster; the next write replaces it', async () => {
    expect(await readCniBackup(db.redis, 'prod')).toBeUndefined();
    await writeCniBackup(db.redis, 'prod', record);
    expect(await readCniBackup(db.redis, 'prod')).toEqual(record);
    expect(await readCniBackup(db.redis, 'staging')).toBeUndefined();
    await writeCniBackup(db.redis, 'prod', { ...record, restoredBy: '13' });
    expect(await readCniBackup(db.redis, 'prod')).toEqual({ ...record, restoredBy: '13' });
    expect(await db.redis.get('mk8s:cni-backup:prod')).toBe(JSON.stringify({ ...record, restoredBy: '13' })); // the key the bot has always used
  });

  it('an unreadable record is no record', async () => {
    await db.redis.set(keys.cniBackup('broken'), '{not json');
    expect(await readCniBackup(db.redis, 'broken')).toBeUndefined();
  });
});
