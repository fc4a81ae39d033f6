import { describe, expect, it } from "vitest";
import { MemoryMessageStore } from "./memory-message-store.js";
import { MemoryPresenceStore } from "./memory-presence-store.js";
import { MemoryRoomDirectory, ROOM_ACTIVE_MS, roomLister, TOUCH_EVERY_MS, trackActivity } from "./room-directory.js";
import type { RoomDirectory } from "./types.js";

const limits = {
  historyLimit: 10,
  historyPage: 5,
  idempotencyTtlMs: 60_000,
  roomIdleTtlMs: 3_600_000,
  presenceTtlMs: 1000,
};
const alice = { id: "u_a", name: "alice" };

function setup() {
  let now = 10_000_000;
  const clock = () => now;
  const directory = new MemoryRoomDirectory();
  const touches: string[] = [];
  const counting: RoomDirectory = {
    touch: (room, kind, ts) => {
      touches.push(`${kind}:${room}`);
      return directory.touch(room, kind, ts);
    },
    recent: (p, m) => directory.recent(p, m),
  };
  const stores = trackActivity(
    new MemoryMessageStore(limits, clock),
    new MemoryPresenceStore(limits, clock),
    counting,
    (err) => {
      throw err;
    },
    clock,
  );
  return { stores, directory, touches, advance: (ms: number) => (now += ms), clock };
}

describe("room directory", () => {
  it("records a room's activity at most once per TOUCH_EVERY_MS per kind", async () => {
    const { stores, touches, advance } = setup();
    for (let i = 0; i < 5; i++)
      await stores.messages.append({ room: "r", author: alice, text: `m${i}`, clientId: `cid-${i}-xxxx` });
    await stores.presence.add({ room: "r", connId: "c1", user: alice });
    await stores.presence.refresh([{ room: "r", connId: "c1", user: alice }]);
    expect(touches).toEqual(["message:r", "presence:r"]);
    advance(TOUCH_EVERY_MS);
    await stores.messages.append({ room: "r", author: alice, text: "later", clientId: "cid-later-x" });
    expect(touches).toEqual(["message:r", "presence:r", "message:r"]);
  });

  it("lists present rooms first, then by latest message, forgets idle ones, and reuses a listing briefly", async () => {
    const { stores, directory, advance, clock } = setup();
    await stores.messages.append({ room: "old", author: alice, text: "x", clientId: "cid-old-xxx" });
    advance(ROOM_ACTIVE_MS + 1);
    await stores.messages.append({ room: "recent", author: alice, text: "x", clientId: "cid-recent-x" });
    await stores.presence.add({ room: "busy", connId: "c1", user: alice });
    const list = roomLister(directory, stores.presence, limits.presenceTtlMs, clock);
    const first = await list();
    expect(first).toEqual([
      { room: "busy", members: 1 },
      { room: "recent", members: 0, lastTs: clock() },
    ]);
    await stores.presence.remove({ room: "busy", connId: "c1", user: alice });
    expect(await list()).toBe(first);
    advance(2000);
    expect((await list()).map((r) => r.room)).toEqual(["recent"]);
  });
});
