import { type RedisHandle, startRedis } from "@chat/testkit";
import { Redis } from "ioredis";
import { chatSuite, suiteEnv } from "./support/chat-suite.js";
import { startNodes, stopNodes } from "./support/nodes.js";
import { storedStrings } from "./support/store-suite.js";

chatSuite("embedded pod (in-memory)", async () => {
  const nodes = await startNodes(1, suiteEnv);
  return { nodes, teardown: () => stopNodes(nodes) };
});

let redis: RedisHandle;
chatSuite("three pods sharing Redis", async () => {
  redis = await startRedis();
  const nodes = await startNodes(3, { ...suiteEnv, REDIS_URL: redis.url });
  const reader = new Redis(redis.url);
  return {
    nodes,
    teardown: async () => {
      reader.disconnect();
      await stopNodes(nodes);
      await redis.destroy();
    },
    stored: (room) => storedStrings(reader, room),
  };
});
