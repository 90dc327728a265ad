/** The nodes a quorum recovery declared lost (src/store/lost-nodes.ts): the marks in Redis, and what "still names the old cluster" means. */
import { describe, expect, it } from 'vitest';
import { keys } from '../../src/queue/keys.ts';
import { clearLost, markLost, readLost, stillNamesOldCluster, type LostNode } from '../../src/store/lost-nodes.ts';
import { useRedisClient } from '../support/redis.ts';

const OLD = ['10.0.0.11:19001', '10.0.0.12:19001', '10.0.0.13:19001'];
const lost = (node: string, address: string): LostNode => ({ node, address, oldMembers: OLD, byJob: '17', at: 1_700_000_000_000 });

describe('lost nodes', () => {
  const db = useRedisClient();

  it('marks nodes lost per cluster, reads and clears the marks', async () => {
    await markLost(db.redis, 'prod', []);
    expect(await db.redis.exists(keys.lostNodes('prod'))).toBe(0);
    expect((await readLost(db.redis, 'prod')).size).toBe(0);
    await markLost(db.redis, 'prod', [lost('k8s-2', '10.0.0.12:19001'), lost('k8s-4', '10.0.0.14:19001')]);
    await markLost(db.redis, 'prod', [lost('k8s-2', '10.0.0.12:19001')]); // idempotent
    const marks = await readLost(db.redis, 'prod');
    expect([...marks.keys()].toSorted()).toEqual(['k8s-2', 'k8s-4']);
    expect(marks.get('k8s-4')).toEqual(lost('k8s-4', '10.0.0.14:19001'));
    expect((await readLost(db.redis, 'elsewhere')).size).toBe(0);
    await clearLost(db.redis, 'prod', 'k8s-4');
    expect([...(await readLost(db.redis, 'prod')).keys()]).toEqual(['k8s-2']);
  });

  it('a datastore still names the old cluster when it lists another old member', () => {
    const l = lost('k8s-2', '10.0.0.12:19001');
    expect(stillNamesOldCluster(l, ['10.0.0.12:19001', '10.0.0.11:19001'])).toBe(true);
    expect(stillNamesOldCluster(l, ['10.0.0.12:19001'])).toBe(false);
    expect(stillNamesOldCluster(l, ['10.0.0.99:19001'])).toBe(false);
  });
});
