import { ErrorCode, fail } from "@chat/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeServer } from "./testing/fake-server.js";
import { advance, connectAndJoin, createHarness, type Harness, settle, until } from "./testing/harness.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const room = (h: Harness) => h.state().rooms.general;
const names = (h: Harness) => room(h)?.presence.map((u) => u.name) ?? [];

function largeRoomServer(): FakeServer {
  const server = new FakeServer();
  server.protocol = 3;
  server.limits = { ...server.limits, presenceListMax: 3 };
  return server;
}

/** Users named u1..un joined to #general, in order. */
async function fill(server: FakeServer, n: number, from = 1): Promise<Harness[]> {
  const all: Harness[] = [];
  for (let i = from; i < from + n; i++) {
    const h = createHarness({ server });
    await connectAndJoin(h, `p${i}`, ["general"]);
    all.push(h);
  }
  return all;
}

describe("paged presence (protocol 3)", () => {
  it("declares protocol 3 in the handshake", async () => {
    const server = largeRoomServer();
    const auths: unknown[] = [];
    const handshake = server.handshake.bind(server);
    server.handshake = (auth) => {
      auths.push(auth.protocol);
      return handshake(auth);
    };
    await fill(server, 1);
    expect(auths).toEqual([3]);
  });

  it("shows a large room's count and first page, and loads the rest page by page", async () => {
    const server = largeRoomServer();
    await fill(server, 6);
    const me = createHarness({ server });
    await connectAndJoin(me, "zed", ["general"]);
    expect(room(me)).toMatchObject({ presenceCount: 7, presencePartial: true, presenceHasMore: true });
    expect(names(me)).toHaveLength(3);

    await settle(me.client.loadMorePresence("general"));
    expect(server.requestsOf("room:presence").at(-1)?.payload).toEqual({ room: "general", cursor: "3" });
    expect(names(me)).toHaveLength(6);
    expect(room(me)?.presenceHasMore).toBe(true);

    await settle(me.client.loadMorePresence("general"));
    expect(names(me)).toEqual(["p1", "p2", "p3", "p4", "p5", "p6", "zed"]);
    expect(room(me)).toMatchObject({ presenceCount: 7, presencePartial: true, presenceHasMore: false });
    // The walk is over: nothing more to ask for.
    const asked = server.requestsOf("room:presence").length;
    await settle(me.client.loadMorePresence("general"));
    expect(server.requestsOf("room:presence")).toHaveLength(asked);
  });

  it("dedupes a user a page walk shows twice", async () => {
    const server = largeRoomServer();
    await fill(server, 4);
    const me = createHarness({ server });
    await connectAndJoin(me, "zed", ["general"]);
    // A walk may repeat users (like SCAN): here the next page overlaps the first.
    const first = new Set(room(me)?.presence.map((u) => u.id));
    const original = server.presencePage.bind(server);
    server.presencePage = (r, cursor) => {
      const page = original(r, cursor === "3" ? "1" : cursor);
      return { ...page, next: null };
    };
    await settle(me.client.loadMorePresence("general"));
    const ids = room(me)?.presence.map((u) => u.id) ?? [];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of first) expect(ids).toContain(id);
  });

  it("keeps the count of the highest version when count events arrive out of order", async () => {
    const server = largeRoomServer();
    await fill(server, 4);
    const me = createHarness({ server });
    await connectAndJoin(me, "zed", ["general"]);
    await fill(server, 1, 5);
    await until(() => room(me)?.presenceCount === 6, "count of 6");
    expect(server.requestsOf("room:presence")).toHaveLength(0); // A count costs no list.
    const version = server.room("general").presenceVersion;
    const socket = server.sockets.find((s) => s.user?.name === "zed");
    // Another pod's older count arrives after the newer one; then a newer one.
    socket?.push("presence:count", { room: "general", version: version - 1, count: 5 });
    await advance(10);
    expect(room(me)?.presenceCount).toBe(6);
    socket?.push("presence:count", { room: "general", version: version + 2, count: 8 });
    await advance(10);
    expect(room(me)?.presenceCount).toBe(8);
    socket?.push("presence:count", { room: "general", version: version + 1, count: 7 });
    await advance(10);
    expect(room(me)?.presenceCount).toBe(8);
  });

  it("fetches the full list at once when a delta says the room is no longer large", async () => {
    const server = largeRoomServer();
    const others = await fill(server, 3);
    const me = createHarness({ server });
    await connectAndJoin(me, "zed", ["general"]);
    const mine = server.latest;
    expect(room(me)).toMatchObject({ presenceCount: 4, presencePartial: true });
    others[0]?.client.stop(); // 3 left: not large, so a delta.
    await until(() => server.requestsOf("room:presence", mine).length === 1, "a fetch");
    expect(server.requestsOf("room:presence", mine)[0]?.payload).toEqual({ room: "general" });
    await until(() => room(me)?.presencePartial === false, "full mode");
    expect(names(me)).toEqual(["p2", "p3", "zed"]);
    expect(room(me)?.presenceCount).toBe(3);
    // Back to protocol 2 rules: deltas apply without a fetch.
    others[1]?.client.stop();
    await until(() => names(me).length === 2, "p2 gone");
    expect(names(me)).toEqual(["p3", "zed"]);
    await advance(3_000);
    expect(server.requestsOf("room:presence", mine)).toHaveLength(1);
  });

  it("retries the fetch a delta asked for when it fails", async () => {
    const server = largeRoomServer();
    const others = await fill(server, 3);
    const me = createHarness({ server });
    await connectAndJoin(me, "zed", ["general"]);
    const mine = server.latest;
    let failures = 1;
    server.interceptor = (req) =>
      req.event === "room:presence" && req.socket === mine && failures-- > 0
        ? fail(ErrorCode.Unavailable, "try later")
        : undefined;
    others[0]?.client.stop();
    await until(() => server.requestsOf("room:presence", mine).length === 1, "first fetch");
    await advance(20);
    expect(room(me)?.presencePartial).toBe(true); // Still the sample: nothing better yet.
    await until(() => server.requestsOf("room:presence", mine).length === 2, "second fetch");
    await until(() => room(me)?.presencePartial === false, "full mode");
    expect(names(me)).toEqual(["p2", "p3", "zed"]);
  });

  it("keeps the full list as a sample when a count arrives, and walks from the start on Show more", async () => {
    const server = largeRoomServer();
    await fill(server, 2);
    const me = createHarness({ server });
    await connectAndJoin(me, "zed", ["general"]);
    expect(room(me)).toMatchObject({ presenceCount: 3, presencePartial: false, presenceHasMore: false });
    await fill(server, 2, 3); // 5 users: large, so counts.
    await until(() => room(me)?.presenceCount === 5, "count of 5");
    expect(room(me)).toMatchObject({ presencePartial: true, presenceHasMore: true });
    expect(names(me)).toEqual(["p1", "p2", "zed"]); // p3's join made the room large: counted, not listed.
    await settle(me.client.loadMorePresence("general"));
    // No cursor yet: the walk starts from the beginning, and its pages add to the sample.
    expect(server.requestsOf("room:presence", server.sockets[2]).map((r) => r.payload)).toEqual([{ room: "general" }]);
    expect(room(me)?.presenceHasMore).toBe(true);
    await settle(me.client.loadMorePresence("general"));
    expect(names(me)).toEqual(["p1", "p2", "p3", "p4", "zed"]);
    expect(room(me)?.presenceHasMore).toBe(false);
  });

  it("ignores a count older than the full list it holds", async () => {
    const server = largeRoomServer();
    await fill(server, 2);
    const me = createHarness({ server });
    await connectAndJoin(me, "zed", ["general"]);
    const version = server.room("general").presenceVersion;
    server.sockets.find((s) => s.user?.name === "zed")?.push("presence:count", { room: "general", version, count: 9 });
    await advance(10);
    expect(room(me)).toMatchObject({ presenceCount: 3, presencePartial: false });
  });

  it("shows a failed Show more and lets it be tried again", async () => {
    const server = largeRoomServer();
    await fill(server, 4);
    const me = createHarness({ server });
    await connectAndJoin(me, "zed", ["general"]);
    server.interceptor = (req) => (req.event === "room:presence" ? fail(ErrorCode.Unavailable, "busy") : undefined);
    await settle(me.client.loadMorePresence("general"));
    expect(room(me)).toMatchObject({ presenceHasMore: true, presenceLoading: false });
    expect(room(me)?.presenceError).toMatch(/could not load/i);
    expect(names(me)).toHaveLength(3);
    server.interceptor = null;
    await settle(me.client.loadMorePresence("general"));
    expect(room(me)?.presenceError).toBeNull();
    expect(names(me)).toHaveLength(5);
  });

  it("reload replaces a stale sample with a fresh first page", async () => {
    const server = largeRoomServer();
    const others = await fill(server, 5);
    const me = createHarness({ server });
    await connectAndJoin(me, "zed", ["general"]);
    await settle(me.client.loadMorePresence("general"));
    expect(names(me)).toContain("p4");
    others[3]?.client.stop(); // p4 leaves: only the count says so.
    await until(() => room(me)?.presenceCount === 5, "count of 5");
    expect(names(me)).toContain("p4");
    await settle(me.client.reloadPresence("general"));
    expect(server.requestsOf("room:presence").at(-1)?.payload).toEqual({ room: "general" });
    expect(names(me)).toHaveLength(3);
    expect(names(me)).not.toContain("p4");
    expect(room(me)).toMatchObject({ presenceCount: 5, presencePartial: true, presenceHasMore: true });
  });
});
