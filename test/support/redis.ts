/**
 * A real redis-server per suite, on a free port, that a test can kill and
 * restart: `const redis = await useRedis()` inside a describe block.
 */
import { afterAll, beforeAll } from 'vitest';
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
