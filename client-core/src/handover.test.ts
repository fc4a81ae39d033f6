import { ErrorCode, fail } from "@chat/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { advance, connectAndJoin, createHarness, type Harness, seqs, until } from "./testing/harness.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Connected in two rooms with one message waiting in the outbox (the server answered `unavailable`). */
async function withQueuedMessage(): Promise<Harness> {
  const h = createHarness();
  h.server.post("general", "g1");
  await connectAndJoin(h, "ada", ["general", "random"]);
  h.server.interceptor = (req) =>
    req.event === "message:send" ? fail(ErrorCode.Unavailable, "redis down") : undefined;
  h.client.send("general", "queued");
  await until(() => h.state().outbox[0]?.error !== null && h.state().outbox[0]?.error !== undefined, "refused once");
  h.server.interceptor = null;
  return h;
}

describe("handover on server:draining (make-before-break)", () => {
  it("moves to a new connection, re-joins with since, flushes the outbox once, then closes the old socket", async () => {
    const h = await withQueuedMessage();
    const old = h.server.latest;
    const sendsBefore = h.server.requestsOf("message:send").length;
    const connectionsBefore = h.state().connections;
    h.statusChanges.length = 0;
    // Slow joins, to look at the handover half way.
    h.server.interceptor = (req) => (req.event === "room:join" ? { delayMs: 100 } : undefined);

    old.push("server:draining", { deadline: Date.now() + 5_000 });
    await until(() => h.server.sockets.length === 2 && h.server.latest.connected, "a second connection");
    const next = h.server.latest;
    expect(h.state().handingOver).toBe(true);
    expect(old.connected).toBe(true);
    expect(h.state().pod).toBe(old.pod);

    await until(() => !h.state().handingOver, "handover done");
    await until(() => h.state().outbox.length === 0, "outbox flushed");

    // The new socket re-joined every room from its cursor before taking over...
    expect(h.server.requestsOf("room:join", next).map((r) => r.payload)).toEqual([
      { room: "general", since: 1 },
      { room: "random", since: 0 },
    ]);
    // ...the queued message was sent exactly once (through whichever connection served then)...
    const sends = h.server.requestsOf("message:send").slice(sendsBefore);
    expect(sends).toHaveLength(1);
    // ...and only once the new socket had every room was the old one closed, by the client.
    expect(old.connected).toBe(false);
    expect(old.active).toBe(false);
    const journal = h.server.journal;
    expect(journal.indexOf("s1 closed")).toBeGreaterThan(journal.lastIndexOf("s2 room:join"));

    expect(h.statusChanges).toEqual([]);
    expect(h.state().status).toBe("connected");
    expect(h.state().pod).toBe(next.pod);
    expect(h.state().connections).toBe(connectionsBefore + 1);
    expect(h.state().disconnectedMs).toBe(0);
    expect(h.state().disconnectedSince).toBeNull();
    expect(seqs(h, "general")).toEqual([1, 2]);
  });

  it("sends messages written during the handover at once, through the old connection that still serves", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    const old = h.server.latest;
    h.statusChanges.length = 0;
    h.server.interceptor = (req) => (req.event === "room:join" ? { delayMs: 200 } : undefined);
    old.push("server:draining", { deadline: Date.now() + 5_000 });
    await until(() => h.state().handingOver, "handover started");
    h.client.send("general", "mid-move");
    // Not held for the new connection's handshake and joins: delivered while still handing over.
    await until(() => h.state().outbox.length === 0, "sent");
    expect(h.state().handingOver).toBe(true);
    await until(() => !h.state().handingOver, "handover done");
    const sends = h.server.requestsOf("message:send");
    expect(sends).toHaveLength(1);
    expect(sends[0]?.socket).toBe(old);
    expect(seqs(h, "general")).toEqual([1]);
    // After the move, the new connection carries the next one.
    h.client.send("general", "after the move");
    await until(() => h.state().outbox.length === 0, "sent after");
    expect(h.server.requestsOf("message:send")[1]?.socket).not.toBe(old);
    expect(h.statusChanges).toEqual([]);
  });

  it("retries a send cut short by the switch on the new connection, and it is stored once", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    const old = h.server.latest;
    // The old pod answers sends slowly: the switch to the new connection closes it mid-request.
    h.server.interceptor = (req) =>
      req.event === "message:send" && req.socket === old
        ? "hold"
        : req.event === "room:join"
          ? { delayMs: 100 }
          : undefined;
    old.push("server:draining", { deadline: Date.now() + 5_000 });
    await until(() => h.state().handingOver, "handover started");
    h.client.send("general", "in flight");
    await until(() => h.server.requestsOf("message:send").length === 1, "sent on the old connection");
    await until(() => !h.state().handingOver && h.state().outbox.length === 0, "delivered after the move");
    const sends = h.server.requestsOf("message:send");
    expect(sends.map((r) => r.socket === old)).toEqual([true, false]);
    expect(sends[0]?.payload).toEqual(sends[1]?.payload);
    expect(seqs(h, "general")).toEqual([1]);
  });

  it("falls back to a normal reconnect when no new connection can be made before the deadline", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    const old = h.server.latest;
    h.server.accepting = false; // every pod refuses new handshakes for now
    old.push("server:draining", { deadline: Date.now() + 2_000 });
    await until(() => h.server.sockets.length === 2, "standby created");
    await advance(1_500);
    expect(h.state().status).toBe("connected"); // the old socket still serves until the deadline

    await until(() => h.state().status === "reconnecting", "deadline passed");
    expect(old.active).toBe(false);
    h.server.accepting = true;
    await until(() => h.state().status === "connected", "reconnected");
    expect(h.state().pod).toBe(h.server.latest.pod);
    expect(h.state().disconnectedMs).toBeGreaterThan(0);
    h.client.send("general", "after the move");
    await until(() => h.state().outbox.length === 0, "sent");
  });

  it("carries on with the new connection if the old one is cut before the handover completes", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    const old = h.server.latest;
    h.server.interceptor = (req) => (req.event === "room:join" ? { delayMs: 500 } : undefined);
    old.push("server:draining", { deadline: Date.now() + 10_000 });
    await until(() => h.server.sockets.length === 2 && h.server.latest.connected, "standby connected");
    old.kick();
    await until(() => !h.state().handingOver, "switched");
    await until(() => h.state().rooms.general !== undefined && h.server.latest.rooms.has("general"), "joined");
    expect(h.state().status).toBe("connected");
    expect(old.active).toBe(false);
    expect(h.server.sockets).toHaveLength(2);
  });
});

describe("name changes", () => {
  it("applies a new name through a fresh connection without going offline", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    h.statusChanges.length = 0;
    expect(h.client.setName("Ada L.")).toBeNull();
    await until(() => h.state().user?.name === "Ada L." && !h.state().handingOver, "renamed");
    expect(h.statusChanges).toEqual([]);
    expect(h.server.sockets).toHaveLength(2);
    expect(h.server.sockets[0]?.connected).toBe(false);
  });

  it("stays on the current connection under the old name when the new one is taken", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    h.server.refusal = { code: ErrorCode.NameTaken, message: "name is taken" };
    h.client.setName("grace");
    await until(() => h.state().nameError !== null, "refused");
    expect(h.state().nameError).toBe("That name is taken; pick another one.");
    expect(h.state().name).toBe("ada");
    expect(h.state().status).toBe("connected");
    expect(h.server.sockets[0]?.connected).toBe(true);
  });
});
