import type { ChatMessage } from "@chat/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { advance, connectAndJoin, createHarness, seqs, until } from "./testing/harness.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("resuming after a reconnect", () => {
  it("re-joins with since = the resume cursor and shows what was missed, in order, without duplicates", async () => {
    const h = createHarness();
    for (let i = 0; i < 3; i++) h.server.post("general", `before ${i + 1}`);
    await connectAndJoin(h, "ada", ["general"]);
    expect(seqs(h, "general")).toEqual([1, 2, 3]);
    expect(h.state().rooms.general?.contiguous).toBe(3);

    h.server.accepting = false;
    h.server.latest.drop();
    await until(() => h.state().status === "reconnecting", "reconnecting");
    for (let i = 0; i < 4; i++) h.server.post("general", `missed ${i + 1}`);
    h.server.accepting = true;
    await until(() => h.state().status === "connected", "reconnected");
    await until(() => h.state().rooms.general?.contiguous === 7, "caught up");

    const joins = h.server.requestsOf("room:join").map((r) => r.payload);
    expect(joins).toEqual([{ room: "general" }, { room: "general", since: 3 }]);
    expect(seqs(h, "general")).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(
      h
        .state()
        .rooms.general?.messages.map((m) => m.text)
        .slice(3),
    ).toEqual(["missed 1", "missed 2", "missed 3", "missed 4"]);
  });

  it("does not mistake a join answer overtaken by newer broadcasts for a server reset", async () => {
    const h = createHarness();
    for (let i = 0; i < 3; i++) h.server.post("general", `before ${i + 1}`);
    await connectAndJoin(h, "ada", ["general"]);
    // The re-join is answered as of its arrival (cursor 3), but the answer travels slowly...
    h.server.interceptor = (req) => (req.event === "room:join" ? { delayMs: 200 } : undefined);
    h.server.latest.drop();
    await until(() => h.server.requestsOf("room:join").length === 2, "re-join sent");
    await advance(20);
    // ...and live messages overtake it, as they do while a handover holds two connections.
    h.server.post("general", "live 4");
    h.server.post("general", "live 5");
    await until(() => h.state().rooms.general?.contiguous === 5, "live messages in");
    await advance(300);
    expect(h.state().rooms.general?.notice).toBeNull();
    expect(seqs(h, "general")).toEqual([1, 2, 3, 4, 5]);
    expect(h.state().rooms.general?.contiguous).toBe(5);
  });

  it("resumes every room with its own cursor and counts what arrived in the rooms not on screen", async () => {
    const h = createHarness();
    h.server.post("general", "g1");
    h.server.post("random", "r1");
    h.server.post("random", "r2");
    await connectAndJoin(h, "ada", ["general", "random"]);
    h.client.openRoom("general");

    h.server.latest.drop();
    h.server.post("random", "r3");
    h.server.post("random", "r4");
    await until(() => h.state().rooms.random?.contiguous === 4, "random caught up");
    await until(() => h.server.requestsOf("room:join").length === 4, "both rejoined");

    const rejoins = h.server
      .requestsOf("room:join")
      .slice(2)
      .map((r) => r.payload);
    expect(rejoins).toEqual(
      expect.arrayContaining([
        { room: "general", since: 1 },
        { room: "random", since: 2 },
      ]),
    );
    expect(h.state().rooms.random?.unread).toBe(2);
    expect(h.state().rooms.general?.unread).toBe(0);
    h.client.openRoom("random");
    expect(h.state().rooms.random?.unread).toBe(0);
  });

  it("keeps the user's identity by sending the session token back on every reconnect", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    const id = h.state().user?.id;
    h.server.latest.drop();
    await until(() => h.state().connections === 2, "second session");
    expect(h.state().user?.id).toBe(id);
  });

  it("starts a new identity when the server refuses the stored token", async () => {
    const h = createHarness();
    h.storage.setItem("chat.token", "forged");
    await connectAndJoin(h, "ada", ["general"]);
    expect(h.state().user?.name).toBe("ada");
    expect(h.storage.getItem("chat.token")).not.toBe("forged");
  });
});

describe("filling holes", () => {
  /** Connect with autoBroadcast off, so the test decides which broadcast arrives when. */
  async function scripted() {
    const h = createHarness();
    h.server.post("general", "m1");
    await connectAndJoin(h, "ada", ["general"]);
    h.server.autoBroadcast = false;
    const deliver = (m: ChatMessage) => h.server.deliver(h.server.latest, m);
    const joinsSince = () => h.server.requestsOf("room:join").filter((r) => r.payload.since !== undefined);
    return { h, deliver, joinsSince };
  }

  it("fills a hole left by out-of-order broadcasts with exactly one join, and ends up ordered without duplicates", async () => {
    const { h, deliver, joinsSince } = await scripted();
    const [m2, m3, m4, m5, m6] = ["m2", "m3", "m4", "m5", "m6"].map((t) =>
      h.server.post("general", t),
    ) as ChatMessage[];
    // Two pods' broadcasts interleave; 2 and 5 are late, and 4 comes twice.
    deliver(m4 as ChatMessage);
    deliver(m3 as ChatMessage);
    deliver(m6 as ChatMessage);
    deliver(m4 as ChatMessage);
    await advance(5);
    expect(seqs(h, "general")).toEqual([1, 3, 4, 6]);
    expect(h.state().rooms.general?.contiguous).toBe(1);

    await until(() => h.state().rooms.general?.contiguous === 6, "hole filled");
    // The late broadcasts finally arrive too.
    deliver(m2 as ChatMessage);
    deliver(m5 as ChatMessage);
    await advance(500);

    expect(joinsSince().map((r) => r.payload)).toEqual([{ room: "general", since: 1 }]);
    expect(seqs(h, "general")).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("does not ask the server when the late broadcast closes the hole first", async () => {
    const { h, deliver, joinsSince } = await scripted();
    const [m2, m3] = [h.server.post("general", "m2"), h.server.post("general", "m3")];
    deliver(m3);
    await advance(10);
    deliver(m2);
    await advance(1_000);
    expect(seqs(h, "general")).toEqual([1, 2, 3]);
    expect(h.state().rooms.general?.contiguous).toBe(3);
    expect(joinsSince()).toHaveLength(0);
  });

  it("keeps one fill in flight per room and fills a hole found meanwhile once it has answered", async () => {
    const { h, deliver, joinsSince } = await scripted();
    h.server.interceptor = (req) => (req.event === "room:join" ? { delayMs: 300 } : undefined);
    const m3 = [h.server.post("general", "m2"), h.server.post("general", "m3")][1] as ChatMessage;
    deliver(m3);
    await until(() => joinsSince().length === 1, "first fill asked");
    // While the first fill is under way, another hole: 5 arrives, 4 does not.
    const m5 = [h.server.post("general", "m4"), h.server.post("general", "m5")][1] as ChatMessage;
    deliver(m5);
    await advance(200);
    expect(joinsSince()).toHaveLength(1);

    await until(() => h.state().rooms.general?.contiguous === 5, "both holes filled");
    expect(joinsSince().map((r) => r.payload)).toEqual([
      { room: "general", since: 1 },
      { room: "general", since: 3 },
    ]);
    expect(seqs(h, "general")).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("trimmed history", () => {
  it("resets the room to the latest page and says so when the server no longer has what was missed", async () => {
    const h = createHarness();
    h.server.historyPage = 3;
    h.server.post("general", "old 1");
    h.server.post("general", "old 2");
    await connectAndJoin(h, "ada", ["general"]);
    expect(seqs(h, "general")).toEqual([1, 2]);

    h.server.accepting = false;
    h.server.latest.drop();
    await until(() => h.state().status === "reconnecting", "reconnecting");
    for (let i = 3; i <= 10; i++) h.server.post("general", `new ${i}`);
    h.server.trimBelow("general", 6); // seqs 3..5 are gone for good
    h.server.accepting = true;

    await until(() => h.state().rooms.general?.notice !== null, "notice");
    expect(seqs(h, "general")).toEqual([8, 9, 10]);
    expect(h.state().rooms.general?.contiguous).toBe(10);
    expect(h.state().rooms.general?.notice).toMatch(/no longer in the history/);

    // The room carries on normally from there.
    h.server.post("general", "after");
    await until(() => h.state().rooms.general?.contiguous === 11, "live again");
    expect(seqs(h, "general")).toEqual([8, 9, 10, 11]);
    h.client.dismissNotice("general");
    expect(h.state().rooms.general?.notice).toBeNull();
  });
});
