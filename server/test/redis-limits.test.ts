import { type RedisHandle, startRedis } from "@chat/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roomKeys } from "../src/stores/keys.js";
import { type Node, startNodes, stopNodes } from "./support/nodes.js";
import { RawClient, randomId } from "./support/raw-client.js";

/**
 * What Redis' own limits do to a pod, against a real redis-server: memory full (maxmemory with
 * noeviction, as k8s/base/redis.conf sets it) and idle rooms expiring (ROOM_IDLE_TTL_MS).
 */

const ROOM_IDLE_TTL_MS = 60_000;
let redis: RedisHandle;
let client: Redis;
let nodes: Node[];

beforeAll(async () => {
  redis = await startRedis({ extraArgs: ["--maxmemory-policy", "noeviction"] });
  client = new Redis(redis.url);
  nodes = await startNodes(1, { REDIS_URL: redis.url, ROOM_IDLE_TTL_MS: String(ROOM_IDLE_TTL_MS) });
});
afterAll(async () => {
  if (nodes) await stopNodes(nodes);
  client?.disconnect();
  await redis?.destroy();
});

const roomKeysIn = async (room: string) => client.keys(`chat:{room:${room}}:*`);

/** Alice connected, in a fresh room where she has sent one message. */
async function aliceInARoom(prefix: string) {
  const alice = await RawClient.connect(nodes[0]?.url ?? "", { name: "alice" });
  const room = `${prefix}-${randomId()}`;
  expect((await alice.join(room)).ok).toBe(true);
  expect((await alice.send(room, "hello")).ok).toBe(true);
  return { alice, room };
}

describe("idle rooms", () => {
  it("every key of a room expires within ROOM_IDLE_TTL_MS, and each message pushes that back", async () => {
    const { alice, room } = await aliceInARoom("ttl");
    try {
      const keys = await roomKeysIn(room);
      // seq, log, one clientId key and presence's five: nothing of the room is kept forever.
      expect(keys.map((k) => k.replace(/^chat:\{room:[^}]+\}:/, "").replace(/^cid:.*/, "cid")).sort()).toEqual([
        "cid",
        "log",
        "presence",
        "presence:holds",
        "presence:names",
        "presence:users",
        "presence:version",
        "seq",
      ]);
      for (const key of keys) {
        const ttl = await client.pttl(key);
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(ROOM_IDLE_TTL_MS);
      }
      // A clientId key never outlives the room (IDEMPOTENCY_TTL_MS is 24 h by default).
      const cid = keys.find((k) => k.includes(":cid:")) ?? "";
      // Absolute expiry times (PEXPIRETIME): two PTTL reads a millisecond apart would differ by one.
      const expiry = (key: string) => client.call("PEXPIRETIME", key) as Promise<number>;
      expect(await expiry(cid)).toBeLessThanOrEqual(await expiry(roomKeys(room).seq));

      // Nearly expired; the next message gives the whole room its full idle time again.
      const k = roomKeys(room);
      await client.pexpire(k.seq, 100);
      await client.pexpire(k.log, 100);
      expect((await alice.send(room, "still here")).ok).toBe(true);
      for (const key of [k.seq, k.log]) expect(await client.pttl(key), key).toBeGreaterThan(ROOM_IDLE_TTL_MS - 10_000);
    } finally {
      alice.close();
    }
  });
});

describe("Redis out of memory (maxmemory, noeviction)", () => {
  it("refuses sends and joins with `unavailable`, keeps the pod up, and recovers once memory is free", async () => {
    const { alice, room } = await aliceInARoom("oom");
    try {
      // 1 MiB of other data, then a limit below what Redis now uses: with noeviction every
      // write is refused, and nothing is evicted to make room.
      for (let i = 0; i < 16; i++) await client.set(`filler:${i}`, "x".repeat(64 * 1024));
      const used = Number((await client.info("memory")).match(/^used_memory:(\d+)/m)?.[1]);
      await client.config("SET", "maxmemory", String(used - 512 * 1024));
      await expect(client.set("probe", "1")).rejects.toThrow(/^OOM /);

      const refused = await alice.send(room, "during");
      expect(refused).toMatchObject({ ok: false, error: { code: "unavailable" } });
      const other = await alice.join(`oom-other-${randomId()}`);
      expect(other).toMatchObject({ ok: false, error: { code: "unavailable" } });
      // The pod itself is fine: the same socket, still connected.
      expect(alice.socket.connected).toBe(true);

      await client.config("SET", "maxmemory", "0");
      await client.del(await client.keys("filler:*"));
      const after = await alice.send(room, "after");
      expect(after).toMatchObject({ ok: true, data: { seq: 2, text: "after" } });
    } finally {
      await client.config("SET", "maxmemory", "0");
      alice.close();
    }
  });
});
