import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

export type RedisClient = Redis | Cluster;

/**
 * A Lua script called by its SHA1 (EVALSHA), loaded on first use or after a Redis restart
 * (NOSCRIPT). On a cluster the first key picks the node, which is why all keys share a hash tag.
 * Without `numberOfKeys`, every call passes as many as it has.
 */
export function script<T>(redis: RedisClient, lua: string, numberOfKeys?: number) {
  const sha = createHash("sha1").update(lua).digest("hex");
  return async (keys: string[], args: (string | number)[]): Promise<T> => {
    const n = numberOfKeys ?? keys.length;
    try {
      return (await redis.evalsha(sha, n, ...keys, ...args)) as T;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return (await redis.eval(lua, n, ...keys, ...args)) as T;
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
 * WAIT counts the writes of the connection it is sent on, so the scripts and their WAIT travel
 * in one pipeline: on a Cluster the pipeline goes whole to the node owning the keys' slot (and
 * is retried whole after a failover); if a connection drops between the replies, ioredis aborts
 * the rest of the pipeline rather than resending the WAIT alone on a fresh connection, where it
 * would count nothing and confirm at once.
 *
 * WAIT blocks its connection until the replicas answer, so the writes of one event-loop turn
 * share one WAIT (group commit): per room on a Cluster (one slot per pipeline), all together
 * otherwise.
 */
export function writeScript<T>(
  redis: RedisClient,
  lua: string,
  numberOfKeys: number,
  ack: ReplicaAck = NO_REPLICA_ACK,
) {
  const plain = script<T>(redis, lua, numberOfKeys);
  const sha = createHash("sha1").update(lua).digest("hex");
  const batches = new Map<string, Pending<T>[]>();

  const flush = async (batch: Pending<T>[], replicas: number, cached: boolean): Promise<void> => {
    const pipeline = redis.pipeline();
    for (const { keys, args } of batch) {
      if (cached) pipeline.evalsha(sha, numberOfKeys, ...keys, ...args);
      else pipeline.eval(lua, numberOfKeys, ...keys, ...args);
    }
    pipeline.call("WAIT", replicas, ack.timeoutMs);
    let results: [Error | null, unknown][];
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    const [waitErr, waited] = results[batch.length] ?? [new Error("WAIT got no reply"), 0];
    const confirmed = Number(waited ?? 0);
    const uncached: Pending<T>[] = [];
    batch.forEach((p, i) => {
      const [err, value] = results[i] ?? [new Error("no reply"), undefined];
      if (err && cached && err.message.startsWith("NOSCRIPT")) uncached.push(p);
      else if (err) {
        // Only a pipeline whose replies all failed alike is redirected by ioredis; here the WAIT
        // answered (on the wrong node), so learn the new owner for the retry.
        if (err.message.startsWith("MOVED") && "refreshSlotsCache" in redis) redis.refreshSlotsCache();
        p.reject(err);
      } else if (waitErr) p.reject(waitErr);
      else if (confirmed < replicas) {
        p.reject(
          new NotReplicatedError(
            `NOREPLICAS ${confirmed} of ${replicas} replicas confirmed the write within ${ack.timeoutMs} ms`,
          ),
        );
      } else p.resolve(value as T);
    });
    if (uncached.length > 0) await flush(uncached, replicas, false);
  };

  return (keys: string[], args: (string | number)[]): Promise<T> => {
    const replicas = ack.replicas();
    if (replicas === 0) return plain(keys, args);
    return new Promise<T>((resolve, reject) => {
      const slot = "slots" in redis ? hashTag(keys[0] ?? "") : "";
      let batch = batches.get(slot);
      if (!batch) {
        const fresh: Pending<T>[] = [];
        batches.set(slot, fresh);
        setImmediate(() => {
          batches.delete(slot);
          void flush(fresh, replicas, true);
        });
        batch = fresh;
      }
      batch.push({ keys, args, resolve, reject });
    });
  };
}

interface Pending<T> {
  keys: string[];
  args: (string | number)[];
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

/** The part of a key that Redis Cluster hashes: keys with the same tag share a slot. */
const hashTag = (key: string) => /\{([^}]+)\}/.exec(key)?.[1] ?? key;
