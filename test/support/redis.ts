/**
 * A real redis-server per suite, on a free port, that a test can kill and
 * restart: `const redis = await useRedis()` inside a describe block;
 * `useRedisClient()` also opens one client to it for the suite.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createRedis } from '../../src/queue/connection.ts';
import { startPrivateRedis, type PrivateRedis } from '../../src/util/redis-server.ts';

export function useRedis(): { get url(): string; get server(): PrivateRedis } {
  let server: PrivateRedis | undefined;
  beforeAll(async () => {
    server = await startPrivateRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get url() {
      if (!server) throw new Error('redis not started yet');
      return server.url;
    },
    get server() {
      if (!server) throw new Error('redis not started yet');
      return server;
    },
  };
}

/** useRedis() and one client connected to it for the whole suite (disconnected after it). */
export function useRedisClient(): { get redis(): Redis; get url(): string } {
  const server = useRedis();
  let client: Redis | undefined;
  beforeAll(() => {
    client = createRedis(server.url);
  });
  afterAll(() => {
    client?.disconnect();
  });
  return {
    get redis() {
      if (!client) throw new Error('redis not started yet');
      return client;
    },
    get url() {
      return server.url;
    },
  };
}
