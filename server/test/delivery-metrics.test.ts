import { type RedisHandle, startRedis } from "@chat/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Node, startNodes, stopNodes } from "./support/nodes.js";
import { RawClient, until } from "./support/raw-client.js";

let redis: RedisHandle;
let nodes: Node[];
beforeAll(async () => {
  redis = await startRedis();
  nodes = await startNodes(2, { REDIS_URL: redis.url });
});
afterAll(async () => {
  await stopNodes(nodes);
  await redis.destroy();
});

const metric = async (node: Node, name: string) => {
  const text = await fetch(`${node.adminUrl}/metrics`).then((r) => r.text());
  return Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1] ?? Number.NaN);
};

it("counts every delivery on the pod that writes it, locally and relayed through Redis", async () => {
  const [a, b] = nodes as [Node, Node];
  const onA = await Promise.all([0, 1].map((i) => RawClient.connect(a.url, { name: `a${i}` })));
  const onB = await Promise.all([0, 1, 2].map((i) => RawClient.connect(b.url, { name: `b${i}` })));
  const everyone = [...onA, ...onB];
  for (const c of everyone) await c.join("counted");
  for (let i = 0; i < 4; i++) await (onA[0] as RawClient).send("counted", `m${i}`);
  for (const c of everyone) await until(c, "four messages", () => c.seqs("counted").length === 4);
  // 4 messages: 2 members on pod a, 3 on pod b.
  expect(await metric(a, "chat_messages_delivered_total")).toBe(8);
  expect(await metric(b, "chat_messages_delivered_total")).toBe(12);
  expect(await metric(b, "chat_delivery_latency_seconds_count")).toBe(4);
  for (const c of everyone) c.close();
});
