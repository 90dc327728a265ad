/**
 * One watch check of one cluster: a read-only look at every node (the same reads as
 * `status`), the problems found, the alerts reconciled, and a snapshot for the App
 * Home. It never takes the cluster hold, never waits for a job, and sends no command
 * that changes a node.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ChatPort } from '../chat/port.ts';
import type { ClusterConfig } from '../config/inventory.ts';
import { keys } from '../queue/keys.ts';
import { redisScript } from '../queue/script.ts';
import type { Clock } from '../schedule/clock.ts';
import { readClusterStatus, type ClusterStatus, type StatusOptions } from '../status/cluster-status.ts';
import { reconcileAlerts } from './alerts.ts';
import { findProblems } from './problems.ts';
import { readSnapshot, snapshotOf, writeSnapshot } from './snapshot.ts';

/** Compare-and-delete: releases the watch lock only if it is still this check's. */
const releaseWatchLock = redisScript<number>('watch_unlock', "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0");

export interface WatchDeps {
  redis: Redis;
  chat: ChatPort;
  audit: AuditLog;
  logger: Logger;
  clock: Clock;
  knownVerb(verb: string): boolean;
  /** Called when the alerts or the cluster's state changed (the App Home is refreshed). */
  onChange?(cluster: string): void;
  /** SSH command timeout of the reads (default 20 s). */
  timeoutMs?: number;
}

/** Nodes whose last cordon/drain/uncordon in the audit trail is a successful cordon or drain by a job. */
async function cordonedByBot(audit: AuditLog, cluster: string): Promise<Set<string>> {
  const last = new Map<string, boolean>();
  for (const e of await audit.recent(2000, { cluster })) {
    if (e.type !== 'command' || e.code !== 0) continue;
    const w = e.command.split(' ');
    const k = w.indexOf('kubectl');
    const verb = k >= 0 ? w[k + 1] : undefined;
    const node = k >= 0 ? w[k + 2] : undefined;
    if (!node || (verb !== 'cordon' && verb !== 'drain' && verb !== 'uncordon')) continue;
    last.set(node, verb !== 'uncordon');
  }
  return new Set([...last].filter(([, cordoned]) => cordoned).map(([n]) => n));
}

export async function runWatchCheck(deps: WatchDeps, cluster: ClusterConfig, iteration: string, read: (c: ClusterConfig, o: StatusOptions) => Promise<ClusterStatus> = readClusterStatus): Promise<void> {
  const started = Date.now();
  const lockMs = Math.max(60_000, cluster.watch.interval);
  const locked = await deps.redis.set(keys.watchLock(cluster.name), iteration, 'PX', lockMs, 'NX');
  if (locked !== 'OK') {
    await deps.audit.record({ type: 'watch.check', cluster: cluster.name, iteration, problems: 0, durationMs: 0, skipped: 'the previous check is still running' });
    return;
  }
  try {
    const now = deps.clock.now();
    const [status, previous, byBot] = await Promise.all([
      read(cluster, { redis: deps.redis, now, timeoutMs: deps.timeoutMs ?? 20_000 }),
      readSnapshot(deps.redis, cluster.name),
      cordonedByBot(deps.audit, cluster.name),
    ]);
    const snapshot = snapshotOf(status, previous, now);
    const problems = findProblems(status, {
      cluster, now, cordonedByBot: byBot, knownVoters: snapshot.voters, notReadySince: new Map(Object.entries(snapshot.notReadySince)),
    });
    await writeSnapshot(deps.redis, cluster.name, snapshot);
    const changed = await reconcileAlerts(deps, cluster, problems, now);
    await deps.audit.record({ type: 'watch.check', cluster: cluster.name, iteration, problems: problems.length, durationMs: Date.now() - started });
    if (changed || JSON.stringify(previous?.nodes) !== JSON.stringify(snapshot.nodes)) deps.onChange?.(cluster.name);
  } finally {
    await releaseWatchLock(deps.redis, [keys.watchLock(cluster.name)], [iteration]);
  }
}
