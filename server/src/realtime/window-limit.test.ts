import { freePort, type RedisHandle, startRedis } from "@chat/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Verdict } from "./rate-limits.js";
import { WindowLimit } from "./window-limit.js";

const okCount = (verdicts: Verdict[]) => verdicts.filter((v) => v.ok).length;

describe("connection limit, in process (embedded mode)", () => {
  it("admits exactly the limit per window and says when the window ends", () => {
    let now = 1_000_000;
    const limit = new WindowLimit({ limit: 3, windowMs: 60_000, now: () => now });
    const verdicts = [0, 1, 2, 3, 4].map(() => limit.check("a") as Verdict);
    expect(verdicts.map((v) => v.ok)).toEqual([true, true, true, false, false]);
    const refused = verdicts[3];
    // The window is aligned to the epoch: 1,000,000 ms is 40 s into the window [960 s, 1020 s).
    expect(refused).toEqual({ ok: false, retryAfterMs: 20_000 });
    expect((limit.check("b") as Verdict).ok).toBe(true);
    now += 19_999;
    expect((limit.check("a") as Verdict).ok).toBe(false);
    limit.close();
  });

  it("starts counting afresh in the next window", () => {
    let now = 0;
    const limit = new WindowLimit({ limit: 2, windowMs: 1000, now: () => now });
    expect([limit.check("a"), limit.check("a"), limit.check("a")].map((v) => (v as Verdict).ok)).toEqual([
      true,
      true,
      false,
    ]);
    now = 1000;
    expect([limit.check("a"), limit.check("a"), limit.check("a")].map((v) => (v as Verdict).ok)).toEqual([
      true,
      true,
      false,
    ]);
    limit.close();
  });
});

describe("connection limit, shared through Redis", () => {
  let redis: RedisHandle;
  const clients: Redis[] = [];
  const limits: WindowLimit[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const l of limits) l.close();
    for (const c of clients) c.disconnect();
    await redis?.destroy();
  });
  const pod = async (opts: { limit: number; windowMs?: number; keyPrefix: string }) => {
    const client = new Redis(redis.url, { enableOfflineQueue: false });
    clients.push(client);
    await new Promise((resolve) => client.once("ready", resolve));
    const limit = new WindowLimit({ windowMs: 60_000, flushMs: 20, ...opts, redis: client });
    limits.push(limit);
    return { limit, client };
  };
  const burst = (limit: WindowLimit, ip: string, n: number) =>
    Promise.all(Array.from({ length: n }, () => limit.check(ip)));
  const stored = async (client: Redis, prefix: string, ip: string) => {
    const keys = await client.keys(`${prefix}:*:${ip}`);
    return keys.length === 0 ? 0 : Number(await client.get(keys[0] as string));
  };

  it("one pod is exact: a burst past the limit admits exactly the limit, and Redis holds that count", async () => {
    const { limit, client } = await pod({ limit: 100, keyPrefix: "t1" });
    const verdicts = await burst(limit, "10.0.0.1", 160);
    expect(okCount(verdicts)).toBe(100);
    const refused = verdicts.find((v) => !v.ok);
    expect(refused && !refused.ok && refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused && !refused.ok && refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await stored(client, "t1", "10.0.0.1")).toBe(100);
    // Another address has its own count.
    expect(okCount(await burst(limit, "10.0.0.2", 5))).toBe(5);
  });

  it("two pods reach the global limit together, overshooting by at most one chunk (limit / 20)", async () => {
    const a = await pod({ limit: 100, keyPrefix: "t2" });
    const b = await pod({ limit: 100, keyPrefix: "t2" });
    const [fromA, fromB] = await Promise.all([burst(a.limit, "10.0.0.3", 150), burst(b.limit, "10.0.0.3", 150)]);
    const admitted = okCount(fromA) + okCount(fromB);
    expect(admitted).toBeGreaterThanOrEqual(100);
    expect(admitted).toBeLessThanOrEqual(100 + 5);
    // Both pods took part, and every admission reached Redis.
    expect(okCount(fromA)).toBeGreaterThan(0);
    expect(okCount(fromB)).toBeGreaterThan(0);
    expect(await stored(a.client, "t2", "10.0.0.3")).toBe(admitted);
    // Each pod now refuses from memory, including what the other admitted.
    expect((await a.limit.check("10.0.0.3")).ok).toBe(false);
    expect((await b.limit.check("10.0.0.3")).ok).toBe(false);
  });

  it("a pod that admitted nothing itself learns the other pod's count on its first flush", async () => {
    const a = await pod({ limit: 40, keyPrefix: "t3" });
    const b = await pod({ limit: 40, keyPrefix: "t3" });
    expect(okCount(await burst(a.limit, "10.0.0.4", 60))).toBe(40);
    // b admits one chunk (2) blind, then Redis tells it the address is over: the bound's overshoot.
    expect(okCount(await burst(b.limit, "10.0.0.4", 20))).toBe(2);
  });

  it("fails open when Redis is unreachable", async () => {
    const dead = new Redis({ port: await freePort(), enableOfflineQueue: false, lazyConnect: true });
    dead.on("error", () => {});
    clients.push(dead);
    const limit = new WindowLimit({ limit: 20, windowMs: 60_000, flushMs: 20, redis: dead });
    limits.push(limit);
    // Past the chunk (1) handshakes wait for Redis, whose failure admits them rather than hanging
    // them, even beyond the limit.
    expect(okCount(await burst(limit, "10.0.0.5", 30))).toBe(30);
  });
});
