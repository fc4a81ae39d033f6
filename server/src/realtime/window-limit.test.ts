import { describe, expect, it } from "vitest";
import type { RedisClient } from "../stores/redis-script.js";
import type { Verdict } from "./rate-limits.js";
import { WindowLimit } from "./window-limit.js";

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

describe("connection limit, settling a flood of addresses", () => {
  it("sends one flush's addresses in scripts of at most 500 keys, and counts every one", async () => {
    const calls: number[] = [];
    // Just enough of a Redis client for WindowLimit: EVALSHA of its script, answering each counter.
    const redis = {
      isCluster: false,
      evalsha: async (_sha: string, keys: number, ...rest: (string | number)[]) => {
        calls.push(keys);
        return rest.slice(keys).filter((_, i) => i % 2 === 0);
      },
    } as unknown as RedisClient;
    const limit = new WindowLimit({ limit: 5, windowMs: 60_000, redis });
    const ips = Array.from({ length: 1200 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    expect(ips.map((ip) => (limit.check(ip) as Verdict).ok).every(Boolean)).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([500, 500, 200]);
    limit.close();
  });
});
