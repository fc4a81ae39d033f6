import { startRedis } from "@chat/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { MemoryMessageStore } from "../src/stores/memory-message-store.js";
import { MemoryPresenceStore } from "../src/stores/memory-presence-store.js";
import { RedisMessageStore } from "../src/stores/redis-message-store.js";
import { RedisPresenceStore } from "../src/stores/redis-presence-store.js";
import { MemoryRoomDirectory, RedisRoomDirectory, withRoomDirectory } from "../src/stores/room-directory.js";
import { storedStrings, storeSuite, suiteLimits } from "./support/store-suite.js";

const fail = (err: unknown) => {
  throw err;
};

// The in-memory twin runs on a fake clock; Redis uses its own clock, so it waits for real.
let fakeNow = 1_000_000;
storeSuite(
  "memory",
  async (limits = suiteLimits) => {
    const now = () => fakeNow;
    const stores = withRoomDirectory(
      new MemoryMessageStore(limits, now),
      new MemoryPresenceStore(limits, now),
      new MemoryRoomDirectory(),
      fail,
      now,
    );
    return { stores, room: (name) => name, now };
  },
  async (ms) => {
    fakeNow += ms;
  },
);

let redis: Awaited<ReturnType<typeof startRedis>>;
let client: Redis;
let prefix = 0;
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.destroy();
});
storeSuite(
  "redis",
  async (limits = suiteLimits) => {
    const p = `t${++prefix}-`;
    const stores = withRoomDirectory(
      new RedisMessageStore(client, limits),
      new RedisPresenceStore(client, limits),
      new RedisRoomDirectory(client),
      fail,
    );
    return { stores, room: (name) => `${p}${name}`, now: Date.now, stored: (room) => storedStrings(client, room) };
  },
  (ms) => new Promise((r) => setTimeout(r, ms)),
);
