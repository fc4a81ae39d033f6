import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { RedisClient } from "./redis-script.js";

export interface RedisConnections {
  /** Commands and SPUBLISH. Fails fast while disconnected, so a send gets `unavailable` instead of waiting. */
  client: RedisClient;
  /** SSUBSCRIBE only; ioredis restores its subscriptions after a reconnect. */
  subscriber: RedisClient;
  isUp(): boolean;
  /** Called now with the current state and on every change. */
  watch(listener: (up: boolean) => void): void;
  close(): Promise<void>;
}

const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, 2000);

/** Connect to one Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES) through one code path. */
export function connectRedis(config: Pick<Config, "REDIS_URL" | "REDIS_CLUSTER_NODES">, log: Logger): RedisConnections {
  const common: RedisOptions = { retryStrategy, connectTimeout: 5000, maxRetriesPerRequest: 1 };
  let client: RedisClient;
  let subscriber: RedisClient;
  if (config.REDIS_CLUSTER_NODES.length > 0) {
    const seeds = config.REDIS_CLUSTER_NODES.map((hostPort) => {
      const [host = "127.0.0.1", port = "6379"] = hostPort.split(":");
      return { host, port: Number(port) };
    });
    client = new Cluster(seeds, {
      enableOfflineQueue: false,
      clusterRetryStrategy: retryStrategy,
      redisOptions: common,
    });
    subscriber = new Cluster(seeds, {
      shardedSubscribers: true,
      clusterRetryStrategy: retryStrategy,
      redisOptions: common,
    });
  } else if (config.REDIS_URL) {
    client = new Redis(config.REDIS_URL, { ...common, enableOfflineQueue: false });
    subscriber = new Redis(config.REDIS_URL, { ...common, maxRetriesPerRequest: null });
  } else {
    throw new Error("connectRedis needs REDIS_URL or REDIS_CLUSTER_NODES");
  }

  let up = false;
  const listeners: ((up: boolean) => void)[] = [];
  const update = () => {
    const now = client.status === "ready" && subscriber.status === "ready";
    if (now === up) return;
    up = now;
    log[up ? "info" : "warn"]({ redis: up ? "up" : "down" }, up ? "redis is up" : "redis is down");
    for (const l of listeners) l(up);
  };
  for (const conn of [client, subscriber]) {
    for (const event of ["ready", "close", "end", "reconnecting", "+node", "-node"]) conn.on(event, update);
    // Without a listener an 'error' event would crash the process; ioredis reconnects by itself.
    conn.on("error", (err: Error) => log.debug({ err: err.message }, "redis connection error"));
  }

  return {
    client,
    subscriber,
    isUp: () => up,
    watch(listener) {
      listeners.push(listener);
      listener(up);
    },
    async close() {
      await Promise.allSettled([client.quit(), subscriber.quit()]);
    },
  };
}
