import { ErrorCode, fail } from "@chat/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { roomFeed } from "./state.js";
import { advance, connectAndJoin, createHarness, type Harness, until } from "./testing/harness.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function sends(h: Harness) {
  return h.server.requestsOf("message:send");
}

function shown(h: Harness, room: string) {
  const s = h.state();
  const r = s.rooms[room];
  return r ? roomFeed(r, s.outbox, s.user).map((i) => ({ text: i.text, status: i.status, seq: i.seq })) : [];
}

describe("sending", () => {
  it("shows a message as pending at once and as sent with its seq after the ack", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);

    expect(h.client.send("general", "  hello  ")).toBeNull();
    expect(shown(h, "general")).toEqual([{ text: "hello", status: "pending", seq: null }]);

    await until(() => h.state().outbox.length === 0, "ack");
    expect(shown(h, "general")).toEqual([{ text: "hello", status: "sent", seq: 1 }]);
    expect(h.server.room("general").messages).toHaveLength(1);
  });

  it("rejects blank text without queueing anything", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    expect(h.client.send("general", "   \n ")).toEqual({ code: "blank", message: "Type a message first." });
    expect(h.state().outbox).toEqual([]);
  });

  it("refuses a text over the session's limit: nothing is queued and nobody receives it", async () => {
    const h = createHarness();
    h.server.limits = { ...h.server.limits, maxTextLength: 2000 };
    await connectAndJoin(h, "ada", ["general"]);
    expect(h.state().limits.maxTextLength).toBe(2000);
    const refusal = h.client.send("general", "x".repeat(2100));
    expect(refusal).toEqual({
      code: "too_long",
      message: expect.stringContaining("100 characters over the limit of 2000"),
    });
    expect(h.state().outbox).toEqual([]);
    await advance(100);
    expect(h.server.requestsOf("message:send")).toHaveLength(0);
    expect(h.client.send("general", "x".repeat(2000))).toBeNull();
    await until(() => h.server.requestsOf("message:send").length === 1, "the one at the limit is sent");
  });

  it("uses the protocol's limit with a protocol 1 server, which sends none", async () => {
    const h = createHarness();
    h.server.protocol = 1;
    await connectAndJoin(h, "ada", ["general"]);
    expect(h.state().limits.maxTextLength).toBe(4000);
    expect(h.client.send("general", "x".repeat(4001))?.code).toBe("too_long");
  });

  it("delivers a message written while disconnected exactly once after reconnecting", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    h.server.accepting = false;
    h.server.latest.drop();
    await until(() => h.state().status === "reconnecting", "reconnecting");

    h.client.send("general", "written offline");
    await advance(500);
    expect(shown(h, "general")).toEqual([{ text: "written offline", status: "pending", seq: null }]);
    expect(sends(h)).toHaveLength(0);

    h.server.accepting = true;
    await until(() => h.state().outbox.length === 0, "delivered");
    await advance(500);
    expect(h.server.room("general").messages.map((m) => m.text)).toEqual(["written offline"]);
    expect(shown(h, "general")).toEqual([{ text: "written offline", status: "sent", seq: 1 }]);
    expect(h.server.misuse).toEqual([]);
  });

  it("never shows a message twice when the connection drops between storing it and the ack", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    // The server stores the message, but the connection breaks before the ack gets back.
    h.server.interceptor = (req) => {
      if (req.event !== "message:send") return undefined;
      h.server.interceptor = null;
      h.server.handle(req.socket, req.event, req.payload);
      req.socket.drop();
      return "hold";
    };
    h.client.send("general", "once");
    await until(() => h.state().outbox.length === 0 && h.state().status === "connected", "settled");
    await advance(1_000);

    expect(h.server.room("general").messages.map((m) => m.text)).toEqual(["once"]);
    expect(shown(h, "general")).toEqual([{ text: "once", status: "sent", seq: 1 }]);
    // The rejoin's history already had it, so it was not even sent again.
    expect(sends(h)).toHaveLength(1);
  });

  it("keeps a message queued on `unavailable` and retries it with the same clientId", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    let refusals = 2;
    h.server.interceptor = (req) =>
      req.event === "message:send" && refusals-- > 0 ? fail(ErrorCode.Unavailable, "redis is down") : undefined;

    h.client.send("general", "eventually");
    await until(() => sends(h).length === 1 && h.state().outbox[0]?.error !== null, "first refusal");
    expect(h.state().outbox[0]).toMatchObject({ status: "pending", error: expect.stringMatching(/unavailable/) });

    await until(() => h.state().outbox.length === 0, "delivered after retries");
    const clientIds = new Set(sends(h).map((r) => r.payload.clientId));
    expect(sends(h)).toHaveLength(3);
    expect(clientIds.size).toBe(1);
    expect(shown(h, "general")).toEqual([{ text: "eventually", status: "sent", seq: 1 }]);
  });

  it("waits retryAfterMs after `rate_limited` before sending again", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    let limited = true;
    h.server.interceptor = (req) => {
      if (req.event !== "message:send" || !limited) return undefined;
      limited = false;
      return fail(ErrorCode.RateLimited, "slow down", 3_000);
    };
    h.client.send("general", "patience");
    await until(() => sends(h).length === 1 && h.state().outbox[0]?.error !== null, "limited");
    expect(h.state().outbox[0]?.error).toMatch(/too fast.*3 s/);

    await advance(2_900);
    expect(sends(h)).toHaveLength(1);
    await until(() => h.state().outbox.length === 0, "sent after the wait");
    expect(sends(h)).toHaveLength(2);
  });

  it("marks a message failed with the server's reason on `invalid_payload`, and can retry or discard it", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    h.server.interceptor = (req) =>
      req.event === "message:send" ? fail(ErrorCode.InvalidPayload, "text: too long (max 2000)") : undefined;

    h.client.send("general", "x".repeat(3000));
    await until(() => h.state().outbox[0]?.status === "failed", "failed");
    expect(h.state().outbox[0]?.error).toBe("Rejected by the server: text: too long (max 2000)");
    await advance(5_000);
    expect(sends(h)).toHaveLength(1); // no automatic retry

    h.server.interceptor = null;
    h.client.retry(h.state().outbox[0]?.clientId ?? "");
    await until(() => h.state().outbox.length === 0, "sent on manual retry");

    h.server.interceptor = (req) => (req.event === "message:send" ? fail(ErrorCode.InvalidPayload, "nope") : undefined);
    h.client.send("general", "bad");
    await until(() => h.state().outbox[0]?.status === "failed", "failed again");
    h.client.discard(h.state().outbox[0]?.clientId ?? "");
    expect(h.state().outbox).toEqual([]);
  });

  it("sends a room's messages one at a time, in the order they were written", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    for (const text of ["one", "two", "three"]) h.client.send("general", text);
    await until(() => h.state().outbox.length === 0, "all sent");
    expect(h.server.room("general").messages.map((m) => [m.seq, m.text])).toEqual([
      [1, "one"],
      [2, "two"],
      [3, "three"],
    ]);
  });

  it("settles a pending message when its own broadcast arrives before the ack", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    h.server.interceptor = (req) => {
      if (req.event !== "message:send") return undefined;
      h.server.handle(req.socket, req.event, req.payload); // stored and broadcast...
      return "hold"; // ...but the ack never comes
    };
    h.client.send("general", "echo");
    await until(() => h.state().outbox.length === 0, "settled by the broadcast");
    expect(shown(h, "general")).toEqual([{ text: "echo", status: "sent", seq: 1 }]);
  });
});

describe("the outbox across a reload", () => {
  it("keeps unsent messages in storage and delivers them once from the next page load", async () => {
    const first = createHarness();
    await connectAndJoin(first, "ada", ["general"]);
    first.server.accepting = false;
    first.server.latest.drop();
    first.client.send("general", "survives reload");
    first.client.stop(); // the tab goes away

    const second = createHarness({ server: first.server, storage: first.storage });
    expect(second.state().name).toBe("ada");
    expect(second.state().roomOrder).toEqual(["general"]);
    expect(shown(second, "general")).toEqual([{ text: "survives reload", status: "pending", seq: null }]);

    second.server.accepting = true;
    second.client.start();
    await until(() => second.state().outbox.length === 0, "delivered");
    expect(second.server.room("general").messages.map((m) => m.text)).toEqual(["survives reload"]);
    expect(shown(second, "general")).toEqual([{ text: "survives reload", status: "sent", seq: 1 }]);

    const third = createHarness({ server: first.server, storage: first.storage });
    expect(third.state().outbox).toEqual([]);
  });

  it("does not resend after a reload when the history shows the message was stored", async () => {
    const first = createHarness();
    await connectAndJoin(first, "ada", ["general"]);
    first.server.interceptor = (req) => {
      if (req.event !== "message:send") return undefined;
      first.server.handle(req.socket, req.event, req.payload);
      return "hold";
    };
    first.server.autoBroadcast = false;
    first.client.send("general", "stored, never acked");
    await until(() => first.server.room("general").messages.length === 1, "stored");
    first.client.stop();

    const second = createHarness({ server: first.server, storage: first.storage });
    second.server.interceptor = null;
    second.client.start();
    await until(() => second.state().rooms.general?.loaded === true, "rejoined");
    expect(second.state().outbox).toEqual([]);
    expect(shown(second, "general")).toEqual([{ text: "stored, never acked", status: "sent", seq: 1 }]);
    expect(second.server.requestsOf("message:send")).toHaveLength(1); // only the original attempt
  });
});
