import type { Redis } from 'ioredis';

type ScriptMethod = (numberOfKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;

/**
 * A Lua script sent by its SHA1 (EVALSHA), through ioredis's defineCommand: the body goes over
 * the wire only when the server does not know it yet (NOSCRIPT after a restart, or on a replica
 * Sentinel just promoted), where ioredis sends EVAL and goes on with EVALSHA. The hot scripts run
 * at every step boundary, lock check and audit event; EVAL would send and hash each body every time.
 */
export function redisScript<R>(name: string, lua: string): (redis: Redis, keys: readonly string[], args: readonly string[]) => Promise<R> {
  const command = `mk8s_${name}`;
  const defined = new WeakSet<Redis>();
  return async (redis, keys, args) => {
    if (!defined.has(redis)) {
      redis.defineCommand(command, { lua });
      defined.add(redis);
    }
    const method = (redis as unknown as Record<string, ScriptMethod>)[command];
    if (!method) throw new Error(`redis script ${name} is not defined on this connection`);
    return (await method.call(redis, keys.length, ...keys, ...args)) as R;
  };
}
