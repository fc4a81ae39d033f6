import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { RedisClient } from "./redis-script.js";

export interface RedisConnections {
  /** Commands and SPUBLISH. Fails fast while disconnected, so a send gets `unavailable` instead of waiting. */
  client: RedisClient;
  /**
   * The message store's own connection. WAIT blocks the connection it runs on until replicas
   * confirm, so replicated writes get one of their own instead of stalling rate limits, presence
   * and the adapter's publishes behind them.
   */
  writer: RedisClient;
  /** SSUBSCRIBE only; ioredis restores its subscriptions after a reconnect (also onto a new master). */
  subscriber: RedisClient;
  /**
   * Replicas that must confirm a message before it is acknowledged (REDIS_MIN_REPLICAS_ACK). On a
   * Cluster without an explicit value it is decided once, from the topology first seen: 1 if
   * every master has a replica. The pod is not ready before it is decided.
   */
  replicasAck(): number;
  isUp(): boolean;
  /** Called now with the current state and on every change. */
  watch(listener: (up: boolean) => void): void;
  close(): Promise<void>;
}

// Capped at 1 s: after a failover the new master is found within a second of its promotion.
const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, 1000);

/** A write to a replica (a demoted master, before our connection noticed) is a cue to find the master again. */
const reconnectOnError = (err: Error) => err.message.startsWith("READONLY");

type RedisConfig = Pick<
  Config,
  | "mode"
  | "REDIS_URL"
  | "REDIS_CLUSTER_NODES"
  | "REDIS_SENTINELS"
  | "REDIS_SENTINEL_MASTER"
  | "REDIS_SENTINEL_PASSWORD"
  | "REDIS_PASSWORD"
  | "REDIS_MIN_REPLICAS_ACK"
>;

const hostPorts = (list: string[]) =>
  list.map((hostPort) => {
    const [host = "127.0.0.1", port = "6379"] = hostPort.split(":");
    return { host, port: Number(port) };
  });

/** Connect to one Redis, a Redis Cluster, or the master that Sentinel names, through one code path. */
export function connectRedis(config: RedisConfig, log: Logger): RedisConnections {
  const common: RedisOptions = {
    retryStrategy,
    reconnectOnError,
    connectTimeout: 5000,
    maxRetriesPerRequest: 1,
    ...(config.REDIS_PASSWORD ? { password: config.REDIS_PASSWORD } : {}),
  };
  let make: (role: "command" | "subscriber") => RedisClient;
  if (config.mode === "cluster") {
    const seeds = hostPorts(config.REDIS_CLUSTER_NODES);
    const options: ClusterOptions = { clusterRetryStrategy: retryStrategy, redisOptions: common };
    make = (role) =>
      role === "subscriber"
        ? new Cluster(seeds, { ...options, shardedSubscribers: true })
        : new Cluster(seeds, { ...options, enableOfflineQueue: false });
  } else if (config.mode === "sentinel") {
    const sentinel: RedisOptions = {
      ...common,
      sentinels: hostPorts(config.REDIS_SENTINELS),
      name: config.REDIS_SENTINEL_MASTER,
      role: "master",
      // Also follow a switch announced by the Sentinels (+switch-master) when the old master is
      // partitioned away rather than dead, so its connections would hang instead of closing.
      failoverDetector: true,
      ...(config.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: config.REDIS_SENTINEL_PASSWORD } : {}),
    };
    make = (role) =>
      new Redis(
        role === "subscriber"
          ? { ...sentinel, maxRetriesPerRequest: null }
          : { ...sentinel, enableOfflineQueue: false },
      );
  } else if (config.mode === "standalone" && config.REDIS_URL) {
    const url = config.REDIS_URL;
    make = (role) =>
      new Redis(
        url,
        role === "subscriber" ? { ...common, maxRetriesPerRequest: null } : { ...common, enableOfflineQueue: false },
      );
  } else {
    throw new Error("connectRedis needs REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS");
  }
  const client = make("command");
  const writer = make("command");
  const subscriber = make("subscriber");
  const all = [client, writer, subscriber];

  let replicas = config.REDIS_MIN_REPLICAS_ACK ?? (config.mode === "sentinel" ? 1 : 0);
  let replicasDecided = config.REDIS_MIN_REPLICAS_ACK !== undefined || config.mode !== "cluster";
  let deciding = false;
  const decideReplicas = () => {
    if (replicasDecided || deciding || !(writer instanceof Cluster) || writer.status !== "ready") return;
    deciding = true;
    // CLUSTER NODES, not CLUSTER SLOTS: Redis leaves replicas out of the latter until they hold data.
    void (writer.cluster("NODES") as Promise<string>)
      .then((text) => {
        const nodes = text
          .trim()
          .split("\n")
          .map((line) => line.split(" "));
        const masters = nodes.filter(
          ([, , flags = "", , , , , , ...slots]) => flags.includes("master") && slots.length > 0,
        );
        const replicated = masters.every(([id]) =>
          nodes.some(([, , flags = "", masterId]) => flags.includes("slave") && masterId === id),
        );
        replicas = masters.length > 0 && replicated ? 1 : 0;
        replicasDecided = true;
        log.info(
          { replicasAck: replicas },
          `redis cluster ${replicas ? "has" : "has no"} replicas: REDIS_MIN_REPLICAS_ACK=${replicas}`,
        );
      })
      .catch((err: Error) => {
        log.debug({ err: err.message }, "could not read the cluster topology yet");
        setTimeout(update, 500).unref();
      })
      .finally(() => {
        deciding = false;
        update();
      });
  };

  let up = false;
  const listeners: ((up: boolean) => void)[] = [];
  const update = () => {
    decideReplicas();
    // Not ready before it is known how many replicas confirm a write.
    const now = all.every((c) => c.status === "ready") && replicasDecided;
    if (now === up) return;
    up = now;
    log[up ? "info" : "warn"]({ redis: up ? "up" : "down", mode: config.mode }, up ? "redis is up" : "redis is down");
    for (const l of listeners) l(up);
  };
  for (const conn of all) {
    for (const event of ["ready", "close", "end", "reconnecting", "+node", "-node", "refresh"]) conn.on(event, update);
    // Without a listener an 'error' event would crash the process; ioredis reconnects by itself.
    conn.on("error", (err: Error) => log.debug({ err: err.message }, "redis connection error"));
  }

  return {
    client,
    writer,
    subscriber,
    replicasAck: () => replicas,
    isUp: () => up,
    watch(listener) {
      listeners.push(listener);
      listener(up);
    },
    async close() {
      await Promise.allSettled(all.map((c) => c.quit()));
    },
  };
}
