import { type RedisHandle, startRedis } from "@chat/testkit";
import { chatSuite, suiteEnv } from "./support/chat-suite.js";
import { startNodes, stopNodes } from "./support/nodes.js";

chatSuite("embedded pod (in-memory)", async () => {
  const nodes = await startNodes(1, suiteEnv);
  return { nodes, teardown: () => stopNodes(nodes) };
});

let redis: RedisHandle;
chatSuite("three pods sharing Redis", async () => {
  redis = await startRedis();
  const nodes = await startNodes(3, { ...suiteEnv, REDIS_URL: redis.url });
  return {
    nodes,
    teardown: async () => {
      await stopNodes(nodes);
      await redis.destroy();
    },
  };
});
