import type { AppDeps } from "./app.js";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import { MemoryMessageStore } from "./stores/memory-message-store.js";
import { MemoryPresenceStore } from "./stores/memory-presence-store.js";
import { connectRedis } from "./stores/redis-connection.js";
import { RedisMessageStore } from "./stores/redis-message-store.js";
import { RedisPresenceStore } from "./stores/redis-presence-store.js";
import { MemoryRoomDirectory, RedisRoomDirectory, withRoomDirectory } from "./stores/room-directory.js";
import type { StoreLimits } from "./stores/types.js";

/** Redis when configured (one instance, a cluster, or Sentinel's master), otherwise the in-memory twins for one pod. */
export function createDeps(config: Config, log: Logger): AppDeps {
  const directoryFailed = (err: unknown) => log.debug({ err: (err as Error).message }, "room directory update failed");
  const limits: StoreLimits = {
    historyLimit: config.HISTORY_LIMIT,
    historyPage: config.HISTORY_PAGE,
    idempotencyTtlMs: config.IDEMPOTENCY_TTL_MS,
    roomIdleTtlMs: config.ROOM_IDLE_TTL_MS,
    presenceTtlMs: config.PRESENCE_TTL_MS,
  };
  if (config.mode === "embedded") {
    log.warn(
      { mode: config.mode },
      "embedded mode (no REDIS_* variable set): in-memory stores, one pod only; history is lost on restart",
    );
    return {
      config,
      log,
      stores: withRoomDirectory(
        new MemoryMessageStore(limits),
        new MemoryPresenceStore(limits),
        new MemoryRoomDirectory(),
        directoryFailed,
      ),
    };
  }
  const redis = connectRedis(config, log);
  log.info({ mode: config.mode }, `redis mode: ${config.mode}`);
  return {
    config,
    log,
    redis,
    stores: withRoomDirectory(
      new RedisMessageStore(redis.writer, limits, {
        replicas: redis.replicasAck,
        timeoutMs: config.REDIS_REPLICA_ACK_TIMEOUT_MS,
      }),
      new RedisPresenceStore(redis.client, limits),
      new RedisRoomDirectory(redis.client),
      directoryFailed,
    ),
  };
}
