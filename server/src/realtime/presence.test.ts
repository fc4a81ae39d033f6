import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { MemoryPresenceStore } from "../stores/memory-presence-store.js";
import { FIRST_PAGE_USERS, PresenceTracker } from "./presence.js";
import type { ChatServer } from "./types.js";

// The tracker only broadcasts through io.to(...).except(...).emit(...); these tests read its answers.
const sink = { emit: () => true, except: () => sink };
const io = { to: () => sink } as unknown as ChatServer;

const tracker = (listMax: number) =>
  new PresenceTracker(
    io,
    new MemoryPresenceStore({ presenceTtlMs: 60_000 }),
    createLogger({ LOG_LEVEL: "silent", POD_NAME: "test" }),
    60_000,
    listMax,
  );

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
