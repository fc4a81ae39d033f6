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

/** How many replicas must hold a write before it counts (0: as soon as the master has it). */
export interface ReplicaAck {
  replicas: () => number;
  timeoutMs: number;
}

export const NO_REPLICA_ACK: ReplicaAck = { replicas: () => 0, timeoutMs: 0 };

/** Redis' own wording for the same condition (min-replicas-to-write), so both read as "unavailable". */
export class NotReplicatedError extends Error {
  override name = "NotReplicatedError";
}

/**
 * A writing script that resolves only once WAIT confirms `ack.replicas()` replicas hold its
 * effects. Every write the message store acknowledges goes through here.
 *
 * WAIT counts the writes of the connection it is sent on, so the script and the WAIT travel in
 * one pipeline: on a Cluster the pipeline goes whole to the node owning the keys' slot (and is
 * retried whole after a redirection or failover); if a connection drops between the two
 * replies, ioredis aborts the WAIT rather than resending it alone on a fresh connection, where
 * it would count nothing and confirm at once.
 */
export function writeScript<T>(
  redis: RedisClient,
  lua: string,
  numberOfKeys: number,
  ack: ReplicaAck = NO_REPLICA_ACK,
) {
  const plain = script<T>(redis, lua, numberOfKeys);
  const sha = createHash("sha1").update(lua).digest("hex");
  const run = async (keys: string[], args: (string | number)[], replicas: number, cached: boolean): Promise<T> => {
    const pipeline = redis.pipeline();
    if (cached) pipeline.evalsha(sha, numberOfKeys, ...keys, ...args);
    else pipeline.eval(lua, numberOfKeys, ...keys, ...args);
    pipeline.call("WAIT", replicas, ack.timeoutMs);
    const [written, waited] = (await pipeline.exec()) ?? [];
    const writeErr = written?.[0];
    if (cached && writeErr?.message.startsWith("NOSCRIPT")) return run(keys, args, replicas, false);
    if (writeErr) {
      // Only a pipeline whose replies all failed alike is redirected by ioredis; here the WAIT
      // answered (on the wrong node), so learn the new owner for the retry.
      if (writeErr.message.startsWith("MOVED") && "refreshSlotsCache" in redis) redis.refreshSlotsCache();
      throw writeErr;
    }
    if (waited?.[0]) throw waited[0];
    const confirmed = Number(waited?.[1] ?? 0);
    if (confirmed < replicas) {
      throw new NotReplicatedError(
        `NOREPLICAS ${confirmed} of ${replicas} replicas confirmed the write within ${ack.timeoutMs} ms`,
      );
    }
    return written?.[1] as T;
  };
  return async (keys: string[], args: (string | number)[]): Promise<T> => {
    const replicas = ack.replicas();
    return replicas === 0 ? plain(keys, args) : run(keys, args, replicas, true);
  };
}
