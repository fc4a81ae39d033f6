import { freePort } from "@chat/testkit";
import { Cluster, Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { Verdict } from "../../src/realtime/rate-limits.js";
import { WindowLimit } from "../../src/realtime/window-limit.js";
import type { RedisClient } from "../../src/stores/redis-script.js";

const okCount = (verdicts: Verdict[]) => verdicts.filter((v) => v.ok).length;

/**
 * WindowLimit shared by several pods through one backend: `connect` gives each pod its own
 * client (a single redis-server, or a Redis Cluster, where every address travels alone).
 */
export function windowLimitSuite(name: string, connect: () => Promise<RedisClient>) {
  describe(`connection limit, shared through ${name}`, () => {
    const clients: RedisClient[] = [];
    const limits: WindowLimit[] = [];
    afterAll(() => {
      for (const l of limits) l.close();
      for (const c of clients) c.disconnect();
    });
    const pod = async (opts: { limit: number; windowMs?: number; keyPrefix: string }) => {
      const client = await connect();
      clients.push(client);
      const limit = new WindowLimit({ windowMs: 60_000, flushMs: 20, ...opts, redis: client });
      limits.push(limit);
      return { limit, client };
    };
    const burst = (limit: WindowLimit, ip: string, n: number) =>
      Promise.all(Array.from({ length: n }, () => limit.check(ip)));
    /** The address' count in Redis (KEYS answers for one node only, so a Cluster asks every master). */
    const stored = async (client: RedisClient, prefix: string, ip: string) => {
      const nodes = client instanceof Cluster ? client.nodes("master") : [client];
      const keys = (await Promise.all(nodes.map((n) => n.keys(`${prefix}:*:${ip}`)))).flat();
      expect(keys.length).toBeLessThanOrEqual(1);
      if (keys.length === 0) return 0;
      // Every counter expires, one window after its own has ended.
      const ttl = await client.pttl(keys[0] as string);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(2 * 60_000);
      return Number(await client.get(keys[0] as string));
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
}
