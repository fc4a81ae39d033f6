import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../logger.js";
import { MemoryPresenceStore } from "../stores/memory-presence-store.js";
import { FIRST_PAGE_USERS, PresenceTracker } from "./presence.js";
import type { ChatServer } from "./types.js";

// The tracker only broadcasts through io.to(...).except(...).emit(...); these tests read its answers.
const sink = { emit: () => true, except: () => sink };
const io = { to: () => sink } as unknown as ChatServer;

const silent = createLogger({ LOG_LEVEL: "silent", POD_NAME: "test" });
const tracker = (listMax: number) =>
  new PresenceTracker(io, new MemoryPresenceStore({ presenceTtlMs: 60_000 }), silent, 60_000, listMax);

async function fill(t: PresenceTracker, room: string, n: number) {
  for (let i = 0; i < n; i++) await t.join({ room, connId: `c${i}`, user: { id: `u${i}`, name: `user ${i}` } });
}

describe("presence pages", () => {
  it("gives the joiner of a large room a short first page, then pages of PRESENCE_LIST_MAX", async () => {
    const t = tracker(100);
    await fill(t, "big", 150);
    const ack = await t.join({ room: "big", connId: "me", user: { id: "me", name: "me" } }, true);
    expect(ack).toMatchObject({ count: 151, next: expect.any(String) });
    expect(ack?.users).toHaveLength(FIRST_PAGE_USERS);
    const second = await t.list("big", true, ack?.next ?? undefined);
    expect(second.users).toHaveLength(100);
    const third = await t.list("big", true, second.next ?? undefined);
    expect(third).toMatchObject({ count: 151, next: null });
    const ids = new Set([...(ack?.users ?? []), ...second.users, ...third.users].map((u) => u.id));
    expect(ids.size).toBe(151);
    // Asking again without a cursor (a reload) starts with a short first page too.
    expect((await t.list("big", true)).users).toHaveLength(FIRST_PAGE_USERS);
    t.stop();
  });

  it("gives the whole list while the room is not large, and never more than PRESENCE_LIST_MAX in a first page", async () => {
    const t = tracker(100);
    await fill(t, "mid", 60);
    const ack = await t.join({ room: "mid", connId: "me", user: { id: "me", name: "me" } }, true);
    expect(ack).toMatchObject({ count: 61, next: null });
    expect(ack?.users).toHaveLength(61);
    const small = tracker(3);
    await fill(small, "r", 6);
    expect((await small.list("r", true)).users).toHaveLength(3);
    t.stop();
    small.stop();
  });
});

describe("a large room's size announcements", () => {
  type Sent = { to: string; event: string; payload: { count?: number; version?: number } };
  const recorder = () => {
    const sent: Sent[] = [];
    const to = (room: string) => {
      const target = { emit: (event: string, payload: Sent["payload"]) => sent.push({ to: room, event, payload }) };
      return { ...target, except: () => target };
    };
    return { io: { to } as unknown as ChatServer, sent };
  };
  const counts = (sent: Sent[]) => sent.filter((s) => s.event === "presence:count").map((s) => s.payload);
  const user = (i: number) => ({ room: "r", connId: `c${i}`, user: { id: `u${i}`, name: `user ${i}` } });
  /** A tracker (PRESENCE_LIST_MAX 3) over `store`, and a room of five that its first announcement made large. */
  const largeRoom = async (store = new MemoryPresenceStore({ presenceTtlMs: 60_000 })) => {
    const { io, sent } = recorder();
    const t = new PresenceTracker(io, store, silent, 60_000, 3);
    for (let i = 0; i < 5; i++) await t.join(user(i), true);
    await vi.advanceTimersByTimeAsync(300);
    return { t, sent };
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("never tells a room that is no longer large its size", async () => {
    const { t, sent } = await largeRoom();
    expect(counts(sent)).toEqual([{ room: "r", version: 5, count: 5 }]);
    // A sixth joins: its count is due a second after the first one...
    await t.join(user(5), true);
    await vi.advanceTimersByTimeAsync(300);
    // ...but before then three leave: the room is small again and hears deltas.
    for (const i of [3, 4, 5]) await t.leave(user(i));
    await vi.advanceTimersByTimeAsync(2000);
    expect(counts(sent)).toEqual([{ room: "r", version: 5, count: 5 }]);
    // (after each announcement protocol-1 sockets get the full list, "presence")
    expect(sent.filter((e) => e.event !== "presence").at(-1)?.event).toBe("presence:delta");
    t.stop();
  });

  it("tries a failed claim again, so the room still hears its final size", async () => {
    const store = new MemoryPresenceStore({ presenceTtlMs: 60_000 });
    const claim = store.claimCount.bind(store);
    let failures = 1;
    store.claimCount = (...args) =>
      failures-- > 0 ? Promise.reject(new Error("Connection is closed.")) : claim(...args);
    const { t, sent } = await largeRoom(store);
    expect(counts(sent)).toEqual([]);
    await vi.advanceTimersByTimeAsync(1100);
    expect(counts(sent)).toEqual([{ room: "r", version: 5, count: 5 }]);
    t.stop();
  });

  it("announces a size still owed when the pod stops, instead of taking it along", async () => {
    const { t, sent } = await largeRoom();
    await t.join(user(5), true);
    await vi.advanceTimersByTimeAsync(300); // its claim came too early: due in ~700 ms
    expect(counts(sent)).toHaveLength(1);
    t.stop();
    await vi.advanceTimersByTimeAsync(0);
    expect(counts(sent)).toEqual([
      { room: "r", version: 5, count: 5 },
      { room: "r", version: 6, count: 6 },
    ]);
  });
});
