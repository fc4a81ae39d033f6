import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientIp, RateLimits } from "./rate-limits.js";

const req = (remote: string, xff?: string) =>
  ({ socket: { remoteAddress: remote }, headers: xff ? { "x-forwarded-for": xff } : {} }) as unknown as IncomingMessage;

describe("clientIp", () => {
  it("uses the peer address when no proxy is trusted, even if X-Forwarded-For is sent", () => {
    expect(clientIp(req("10.0.0.9", "1.2.3.4"), 0)).toBe("10.0.0.9");
  });
  it("takes the entry the trusted proxy appended, ignoring what the client forged before it", () => {
    expect(clientIp(req("10.0.0.9", "6.6.6.6, 203.0.113.7"), 1)).toBe("203.0.113.7");
    expect(clientIp(req("10.0.0.9", "203.0.113.7, 10.1.1.1"), 2)).toBe("203.0.113.7");
    expect(clientIp(req("10.0.0.9"), 1)).toBe("10.0.0.9");
  });
});

describe("limits (in-memory)", () => {
  const config = {
    RATE_WINDOW_MS: 10_000,
    RATE_MESSAGES_PER_USER: 3,
    RATE_MESSAGES_PER_IP: 5,
    RATE_JOINS_PER_USER: 2,
    RATE_CONNECTIONS_PER_IP: 2,
    RATE_CONNECTIONS_WINDOW_MS: 60_000,
  };

  it("limits a user's messages and says when to retry", async () => {
    const limits = new RateLimits(config);
    for (let i = 0; i < 3; i++) expect((await limits.message("u1", "ip1")).ok).toBe(true);
    const over = await limits.message("u1", "ip1");
    expect(over.ok).toBe(false);
    expect(!over.ok && over.retryAfterMs).toBeGreaterThan(0);
    expect((await limits.message("u2", "ip1")).ok).toBe(true);
  });

  it("limits an address across users", async () => {
    const limits = new RateLimits(config);
    const results = [];
    for (let i = 0; i < 6; i++) results.push((await limits.message(`u${i}`, "ip9")).ok);
    expect(results).toEqual([true, true, true, true, true, false]);
  });

  it("limits joins and connections", async () => {
    const limits = new RateLimits(config);
    expect([(await limits.join("u")).ok, (await limits.join("u")).ok, (await limits.join("u")).ok]).toEqual([
      true,
      true,
      false,
    ]);
    expect([
      (await limits.connection("a")).ok,
      (await limits.connection("a")).ok,
      (await limits.connection("a")).ok,
    ]).toEqual([true, true, false]);
  });
});
