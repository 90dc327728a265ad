/**
 * Sentinel switchovers, followed. A planned `SENTINEL FAILOVER` (Redis maintenance) promotes the
 * replica while the old master stays up: it keeps taking the writes of every client still
 * connected to it until the sentinels get round to demoting it (seconds later), and those writes
 * are then thrown away when it resyncs from the new master. So each process listens to the
 * sentinels' `+switch-master` itself, and at once reconnects every client of that master that is
 * connected elsewhere; a reconnect asks the sentinels again, and what the old master may have
 * taken with it goes again (connection.ts: the idempotent writes not yet on a replica).
 *
 * Not ioredis's `failoverDetector`: its disconnect can land while a client is still asking the
 * sentinels after a lost master, which ends that client for good (redis/ioredis#1683). Here only
 * a client that is `ready` is reconnected.
 */
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import type { RedisTarget } from './connection.ts';

const CHANNEL = '+switch-master';

interface Watch {
  clients: Set<Redis>;
  subscribers: Redis[];
}

/** One watch per set of sentinels and master name, shared by the process's clients of it. */
const watches = new Map<string, Watch>();

/** The new master's address in a `+switch-master` message of `name` ("<name> <old-ip> <old-port> <new-ip> <new-port>"), or undefined. */
export function switchedTo(name: string, message: string): { host: string; port: number } | undefined {
  const parts = message.split(' ');
  if (parts.length !== 5 || parts[0] !== name) return undefined;
  const port = Number(parts[4]);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) return undefined;
  return { host: parts[3] as string, port };
}

/** Whether a ready client's socket is on `to` (an IPv4 peer may show as ::ffff:a.b.c.d). */
function connectedTo(client: Redis, to: { host: string; port: number }): boolean {
  const socket = client.stream as Socket | undefined;
  if (!socket || socket.remotePort !== to.port) return false;
  const address = socket.remoteAddress ?? '';
  return address === to.host || address === `::ffff:${to.host}`;
}

/**
 * `client` (a Sentinel client of `target`) reconnects when the sentinels announce a new master;
 * so do its duplicates (BullMQ makes its blocking connections that way). Followed until it ends.
 */
export function followSwitchovers(client: Redis, target: RedisTarget): void {
  const sentinels = target.sentinels;
  if (!sentinels || sentinels.length === 0) return;
  const name = target.sentinelName ?? 'mymaster';
  const key = `${name}\u0000${sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  let watch = watches.get(key);
  if (!watch) {
    const clients = new Set<Redis>();
    const onMessage = (channel: string, message: string) => {
      const to = channel === CHANNEL ? switchedTo(name, message) : undefined;
      if (!to) return;
      for (const c of clients) if (c.status === 'ready' && !connectedTo(c, to)) c.disconnect(true);
    };
    const subscribers = sentinels.map((s) => {
      const sub = new Redis({
        host: s.host,
        port: s.port,
        ...(target.sentinelPassword !== undefined ? { password: target.sentinelPassword } : {}),
        maxRetriesPerRequest: null,
        retryStrategy: (times) => Math.min(times * 200, 2_000),
      });
      // A sentinel that is down is one of several; the clients' own connects report Redis trouble.
      sub.on('error', () => undefined);
      sub.on('message', onMessage);
      sub.subscribe(CHANNEL).catch(() => undefined);
      return sub;
    });
    watch = { clients, subscribers };
    watches.set(key, watch);
  }
  const w = watch;
  w.clients.add(client);
  client.once('end', () => {
    w.clients.delete(client);
    if (w.clients.size > 0) return;
    // The process's last client of this master has closed: so does the watch.
    for (const sub of w.subscribers) sub.disconnect();
    if (watches.get(key) === w) watches.delete(key);
  });
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (override) => {
    const copy = duplicate(override);
    followSwitchovers(copy, target);
    return copy;
  };
}
