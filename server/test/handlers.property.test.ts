import { ErrorCode, type Response } from "@chat/protocol";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Node, startNodes, stopNodes } from "./support/nodes.js";
import { RawClient } from "./support/raw-client.js";

const codes = new Set<string>(Object.values(ErrorCode));
const payload = fc.oneof(
  fc.jsonValue(),
  fc.record(
    { room: fc.oneof(fc.constantFrom("general", "prop"), fc.string()), since: fc.anything() },
    { requiredKeys: [] },
  ),
  fc.record(
    { room: fc.constantFrom("prop", "elsewhere"), text: fc.oneof(fc.string(), fc.anything()), clientId: fc.string() },
    { requiredKeys: ["room"] },
  ),
  fc.record(
    {
      room: fc.constantFrom("prop", "elsewhere"),
      id: fc.oneof(fc.constantFrom("prop:1", "prop:2", "prop:999", "elsewhere:1"), fc.string(), fc.anything()),
      text: fc.oneof(fc.string(), fc.anything()),
      before: fc.oneof(fc.integer(), fc.anything()),
      limit: fc.oneof(fc.integer({ min: -2, max: 2000 }), fc.anything()),
    },
    { requiredKeys: ["room"] },
  ),
);

describe("handlers under arbitrary payloads", () => {
  let nodes: Node[];
  let client: RawClient;
  beforeAll(async () => {
    nodes = await startNodes(1);
    client = await RawClient.connect((nodes[0] as Node).url, { name: "prop" });
    await client.join("prop");
  });
  afterAll(async () => {
    client?.close();
    await stopNodes(nodes);
  });

  const events = [
    "room:join",
    "room:leave",
    "message:send",
    "room:history",
    "message:edit",
    "message:delete",
    "rooms:list",
  ];
  for (const event of events) {
    it(`${event}: every payload gets an ok or a known error code, and the server keeps serving`, async () => {
      await fc.assert(
        fc.asyncProperty(payload, async (value) => {
          const res = (await client.emitRaw(event, value)) as Response<unknown>;
          expect(res.ok === true || codes.has(res.error.code)).toBe(true);
          if (!res.ok) expect(res.error.code).not.toBe(ErrorCode.Internal);
        }),
        { numRuns: 300 },
      );
      // Still a working chat afterwards.
      await client.join("prop");
      expect((await client.send("prop", "still here")).ok).toBe(true);
    });
  }
});
