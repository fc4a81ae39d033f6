import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

export type RedisClient = Redis | Cluster;

/**
 * A Lua script called by its SHA1 (EVALSHA), loaded on first use or after a Redis restart
 * (NOSCRIPT). On a cluster the first key picks the node, which is why all keys share a hash tag.
 */
export function script<T>(redis: RedisClient, lua: string, numberOfKeys: number) {
  const sha = createHash("sha1").update(lua).digest("hex");
  return async (keys: string[], args: (string | number)[]): Promise<T> => {
    try {
      return (await redis.evalsha(sha, numberOfKeys, ...keys, ...args)) as T;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return (await redis.eval(lua, numberOfKeys, ...keys, ...args)) as T;
    }
  };
}
