import { describe, expect, it } from "vitest";
import { SessionTokens } from "./session-token.js";

describe("session tokens", () => {
  let now = 1_000;
  const tokens = new SessionTokens("a-secret-of-enough-length", 60_000, () => now);
  const user = { id: "u_1", name: "ada" };

  it("makes distinct user ids of the same shape, also past a refill of the random pool", () => {
    const ids = Array.from({ length: 1000 }, () => SessionTokens.newUserId());
    for (const id of ids) expect(id).toMatch(/^u_[A-Za-z0-9_-]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("round-trips a user", () => {
    expect(tokens.verify(tokens.issue(user))).toMatchObject({ ok: true, user });
  });

  it("refuses forged, truncated, tampered, oversized and foreign tokens", () => {
    const token = tokens.issue(user);
    const [v, body, sig] = token.split(".") as [string, string, string];
    const forgedBody = Buffer.from(JSON.stringify({ sub: "u_2", name: "eve", iat: 0, exp: 9e15 })).toString(
      "base64url",
    );
    const cases = {
      forged: `${v}.${forgedBody}.${sig}`,
      truncated: token.slice(0, -3),
      garbage: "not-a-token",
      oversized: `v1.${"a".repeat(2000)}.b`,
      otherSecret: new SessionTokens("another-secret-of-length", 60_000).issue(user),
      badBody: `${v}.${body.slice(2)}.${sig}`,
    };
    for (const [what, t] of Object.entries(cases)) expect(tokens.verify(t), what).toMatchObject({ ok: false });
  });

  it("refuses an expired token with a clear reason", () => {
    const token = tokens.issue(user);
    now += 60_001;
    expect(tokens.verify(token)).toEqual({ ok: false, reason: "session token has expired" });
  });
});
