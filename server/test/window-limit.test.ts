import { type RedisHandle, startRedis } from "@chat/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { windowLimitSuite } from "./support/window-limit-suite.js";

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.destroy();
});

windowLimitSuite("redis", async () => {
  const client = new Redis(redis.url, { enableOfflineQueue: false });
  await new Promise((resolve) => client.once("ready", resolve));
  return client;
});
