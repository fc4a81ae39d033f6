import type { User } from "@chat/protocol";
import { describe, expect, it } from "vitest";
import { roomKeys } from "../../src/stores/keys.js";
import { sortUsers } from "../../src/stores/presence-order.js";
import type { RedisClient } from "../../src/stores/redis-script.js";
import { roomLister } from "../../src/stores/room-directory.js";
import { PresenceCursorError, type PresenceList, type StoreLimits, type Stores } from "../../src/stores/types.js";

export const suiteLimits: StoreLimits = {
  historyLimit: 5,
  historyPage: 3,
  idempotencyTtlMs: 60_000,
  roomIdleTtlMs: 3_600_000,
  presenceTtlMs: 1000,
};

/**
 * Each call gets fresh stores over an empty backend (a unique room prefix is enough), with
 * `suiteLimits` unless the test asks for others. `now` is the stores' clock; `stored` returns
 * every string the backend holds for a room (to prove that a deleted text is gone), where the
 * backend can be read directly.
 */
export type StoresFactory = (limits?: StoreLimits) => Promise<{
  stores: Stores;
  room: (name: string) => string;
  now: () => number;
  stored?: (room: string) => Promise<string>;
}>;

const alice: User = { id: "u_alice", name: "alice" };
const bob: User = { id: "u_bob", name: "bob" };
let n = 0;
const cid = () => `client-${++n}-${Math.random().toString(36).slice(2)}`;

/** One behaviour, every implementation: the in-memory twin and Redis must agree. */
export function storeSuite(name: string, create: StoresFactory, wait: (ms: number) => Promise<void>) {
  describe(`${name} message store`, () => {
    it("assigns gapless seqs and returns the stored message", async () => {
      const { stores, room } = await create();
      const r = room("general");
      const a = await stores.messages.append({ room: r, author: alice, text: "hello", clientId: cid() });
      const b = await stores.messages.append({ room: r, author: bob, text: "hi", clientId: cid() });
      expect(a.duplicate).toBe(false);
      expect(a.message).toMatchObject({ seq: 1, room: r, author: alice, text: "hello", id: `${r}:1` });
      expect(b.message.seq).toBe(2);
      expect(b.message.ts).toBeGreaterThanOrEqual(a.message.ts);
    });

    it("stores a clientId once and returns the original on a retry", async () => {
      const { stores, room } = await create();
      const r = room("retry");
      const id = cid();
      const first = await stores.messages.append({ room: r, author: alice, text: "once", clientId: id });
      const again = await stores.messages.append({ room: r, author: alice, text: "changed", clientId: id });
      expect(again).toEqual({ message: first.message, duplicate: true });
      // The same clientId from another user is another message.
      const other = await stores.messages.append({ room: r, author: bob, text: "mine", clientId: id });
      expect(other.duplicate).toBe(false);
      expect((await stores.messages.history(r)).cursor).toBe(2);
    });

    it("answers a retry whose message was trimmed from history since with the same seq and ts", async () => {
      const { stores, room } = await create();
      const r = room("old-retry");
      const id = cid();
      const first = await stores.messages.append({ room: r, author: alice, text: "early", clientId: id });
      // historyLimit 5: six more messages push the first one out of history.
      for (let i = 0; i < 6; i++)
        await stores.messages.append({ room: r, author: bob, text: `m${i}`, clientId: cid() });
      expect((await stores.messages.history(r, 0)).trimmed).toBe(true);
      const retry = await stores.messages.append({ room: r, author: alice, text: "early", clientId: id });
      expect(retry).toEqual({ message: first.message, duplicate: true });
      expect((await stores.messages.history(r)).cursor).toBe(7);
    });

    it("raced retries of one clientId store exactly one message", async () => {
      const { stores, room } = await create();
      const r = room("race");
      const id = cid();
      const results = await Promise.all(
        Array.from({ length: 10 }, () => stores.messages.append({ room: r, author: alice, text: "x", clientId: id })),
      );
      expect(results.filter((x) => !x.duplicate)).toHaveLength(1);
      expect(new Set(results.map((x) => x.message.seq))).toEqual(new Set([1]));
    });

    it("keeps seqs gapless under concurrent appends", async () => {
      const { stores, room } = await create();
      const r = room("busy");
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          stores.messages.append({ room: r, author: alice, text: `m${i}`, clientId: cid() }),
        ),
      );
      const h = await stores.messages.history(r, 35);
      expect(h.cursor).toBe(40);
      expect(h.messages.map((m) => m.seq)).toEqual([36, 37, 38, 39, 40]);
    });

    it("returns the latest page without since, everything after since with it", async () => {
      const { stores, room } = await create();
      const r = room("pages");
      expect(await stores.messages.history(r)).toEqual({ messages: [], cursor: 0, trimmed: false });
      for (let i = 1; i <= 4; i++)
        await stores.messages.append({ room: r, author: alice, text: `m${i}`, clientId: cid() });
      const page = await stores.messages.history(r);
      expect(page.messages.map((m) => m.text)).toEqual(["m2", "m3", "m4"]);
      expect(page.cursor).toBe(4);
      expect((await stores.messages.history(r, 1)).messages.map((m) => m.seq)).toEqual([2, 3, 4]);
      expect((await stores.messages.history(r, 0)).messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
      expect(await stores.messages.history(r, 4)).toEqual({ messages: [], cursor: 4, trimmed: false });
    });

    it("says when history was trimmed past since, or since is from the future", async () => {
      const { stores, room } = await create();
      const r = room("trim");
      for (let i = 1; i <= 8; i++)
        await stores.messages.append({ room: r, author: alice, text: `m${i}`, clientId: cid() });
      // historyLimit 5: seqs 4..8 are kept.
      const kept = await stores.messages.history(r, 3);
      expect(kept.trimmed).toBe(false);
      expect(kept.messages.map((m) => m.seq)).toEqual([4, 5, 6, 7, 8]);
      const lost = await stores.messages.history(r, 2);
      expect(lost.trimmed).toBe(true);
      expect(lost.messages.map((m) => m.seq)).toEqual([6, 7, 8]);
      const future = await stores.messages.history(r, 50);
      expect(future).toMatchObject({ trimmed: true, cursor: 8 });
    });

    it("forgets a room idle for roomIdleTtlMs as a whole; each new message keeps it alive", async () => {
      // The shortest TTL the server accepts (ROOM_IDLE_TTL_MS >= 1000), for a real Redis clock.
      const ttl = 2000;
      const { stores, room } = await create({ ...suiteLimits, roomIdleTtlMs: ttl });
      const r = room("idle");
      const first = cid();
      const last = cid();
      await stores.messages.append({ room: r, author: alice, text: "one", clientId: first });
      await wait(ttl / 2);
      // The second message moves the expiry of the whole room, first message included.
      await stores.messages.append({ room: r, author: bob, text: "two", clientId: last });
      // Past the first message's own expiry: only the refresh keeps it.
      await wait(ttl / 2 + 50);
      const alive = await stores.messages.history(r, 0);
      expect(alive.cursor).toBe(2);
      expect(alive.messages.map((m) => m.text)).toEqual(["one", "two"]);
      expect((await stores.messages.append({ room: r, author: bob, text: "two", clientId: last })).duplicate).toBe(
        true,
      );

      await wait(ttl / 2);
      // Idle for longer than the TTL: history, seq and idempotency keys are gone together.
      expect(await stores.messages.history(r)).toEqual({ messages: [], cursor: 0, trimmed: false });
      // A client still holding cursor 2 is told to reset (a cursor from the future).
      expect(await stores.messages.history(r, 2)).toEqual({ messages: [], cursor: 0, trimmed: true });
      const reborn = await stores.messages.append({ room: r, author: bob, text: "two", clientId: last });
      expect(reborn.duplicate).toBe(false);
      expect(reborn.message.seq).toBe(1);
    });

    it("keeps rooms apart and text intact", async () => {
      const { stores, room } = await create();
      const text = 'quotes " \\ / <b>html</b> ünïcödé 🎉 \n newline';
      await stores.messages.append({ room: room("a"), author: alice, text, clientId: cid() });
      const b = await stores.messages.append({ room: room("b"), author: alice, text: "b", clientId: cid() });
      expect(b.message.seq).toBe(1);
      expect((await stores.messages.history(room("a"))).messages[0]?.text).toBe(text);
    });
  });

  describe(`${name} scrollback, edits and deletions`, () => {
    const fill = async (stores: Stores, r: string, n: number, author = alice) => {
      for (let i = 1; i <= n; i++) await stores.messages.append({ room: r, author, text: `m${i}`, clientId: cid() });
    };

    it("pages back to message 1 and then says there is no more", async () => {
      const { stores, room } = await create();
      const r = room("scroll");
      await fill(stores, r, 4);
      const newest = await stores.messages.page(r, 5, 2);
      expect(newest).toEqual({ messages: expect.any(Array), hasMore: true });
      expect(newest.messages.map((m) => m.seq)).toEqual([3, 4]);
      const first = await stores.messages.page(r, 3, 2);
      expect(first.messages.map((m) => m.text)).toEqual(["m1", "m2"]);
      expect(first.hasMore).toBe(false);
      expect(await stores.messages.page(r, 1, 2)).toEqual({ messages: [], hasMore: false });
      expect(await stores.messages.page(room("nothing-here"), 10, 2)).toEqual({ messages: [], hasMore: false });
    });

    it("stops paging at the oldest kept message once history is trimmed", async () => {
      const { stores, room } = await create();
      const r = room("scroll-trim");
      await fill(stores, r, 8); // historyLimit 5: 4..8 kept
      const page = await stores.messages.page(r, 6, 3);
      expect(page.messages.map((m) => m.seq)).toEqual([4, 5]);
      expect(page.hasMore).toBe(false);
    });

    it("edits take the next seq, show everywhere in their current state and are idempotent", async () => {
      const { stores, room } = await create();
      const r = room("edit");
      await fill(stores, r, 2);
      const edited = await stores.messages.revise({ room: r, seq: 1, userId: alice.id, text: "m1, fixed" });
      expect(edited).toMatchObject({ ok: true, changed: true, message: { seq: 1, text: "m1, fixed", rev: 3 } });
      const at = edited.ok ? edited.message.editedAt : 0;
      expect(at).toBeGreaterThan(0);
      const again = await stores.messages.revise({ room: r, seq: 1, userId: alice.id, text: "m1, fixed" });
      expect(again).toEqual({ ok: true, changed: false, message: edited.ok && edited.message });
      // Newcomers see the current text; a client resuming after the edit gets the edited message.
      const latest = await stores.messages.history(r);
      expect(latest.cursor).toBe(3);
      expect(latest.messages.map((m) => m.text)).toEqual(["m1, fixed", "m2"]);
      expect((await stores.messages.history(r, 2)).messages).toEqual([edited.ok && edited.message]);
      expect(await stores.messages.history(r, 3)).toEqual({ messages: [], cursor: 3, trimmed: false });
      expect((await stores.messages.page(r, 3, 5)).messages.map((m) => m.text)).toEqual(["m1, fixed", "m2"]);
      // Text and author survive the script's decode and re-encode unchanged.
      const text = 'quotes " \\ / <b>html</b> ünïcödé 🎉 \n newline';
      const odd = { id: "u_odd", name: 'Zoë 🎉 "q"' };
      const mine = await stores.messages.append({ room: r, author: odd, text: "x", clientId: cid() });
      const revised = await stores.messages.revise({ room: r, seq: mine.message.seq, userId: odd.id, text });
      expect(revised).toMatchObject({ ok: true, message: { text, author: odd, ts: mine.message.ts } });
      expect((await stores.messages.history(r)).messages.at(-1)).toEqual(revised.ok && revised.message);
    });

    it("lets only the author revise, and only messages still in history", async () => {
      const { stores, room } = await create();
      const r = room("forbidden");
      await fill(stores, r, 1);
      expect(await stores.messages.revise({ room: r, seq: 1, userId: bob.id, text: "mine now" })).toEqual({
        ok: false,
        reason: "forbidden",
      });
      expect(await stores.messages.revise({ room: r, seq: 1, userId: bob.id, text: null })).toMatchObject({
        reason: "forbidden",
      });
      expect(await stores.messages.revise({ room: r, seq: 9, userId: alice.id, text: "x" })).toEqual({
        ok: false,
        reason: "not_found",
      });
      expect((await stores.messages.history(r)).cursor).toBe(1);
    });

    it("deletes a message's text for good and brings the deletion to resuming clients", async () => {
      const { stores, room, stored } = await create();
      const r = room("delete");
      const secret = "my password is hunter2";
      const id = cid();
      await stores.messages.append({ room: r, author: alice, text: secret, clientId: id });
      await stores.messages.append({ room: r, author: bob, text: "oops", clientId: cid() });
      await stores.messages.revise({ room: r, seq: 1, userId: alice.id, text: `${secret}!` });
      const gone = await stores.messages.revise({ room: r, seq: 1, userId: alice.id, text: null });
      expect(gone).toMatchObject({ ok: true, changed: true, message: { seq: 1, text: "", deleted: true, rev: 4 } });
      const tombstone = gone.ok ? gone.message : null;
      expect(tombstone).not.toHaveProperty("editedAt");
      if (stored) expect(await stored(r)).not.toContain("hunter2");
      // Deleting again is a retry; editing a deleted message is refused; re-sending its clientId gives the tombstone.
      expect(await stores.messages.revise({ room: r, seq: 1, userId: alice.id, text: null })).toEqual({
        ok: true,
        changed: false,
        message: tombstone,
      });
      expect(await stores.messages.revise({ room: r, seq: 1, userId: alice.id, text: "back" })).toEqual({
        ok: false,
        reason: "deleted",
      });
      expect(await stores.messages.append({ room: r, author: alice, text: secret, clientId: id })).toEqual({
        message: tombstone,
        duplicate: true,
      });
      // Newcomers do not see it; someone who had it learns of the deletion.
      expect((await stores.messages.history(r)).messages.map((m) => m.seq)).toEqual([2]);
      expect(await stores.messages.history(r, 2)).toEqual({ messages: [tombstone], cursor: 4, trimmed: false });
      const all = await stores.messages.history(r, 0);
      expect(all).toMatchObject({ cursor: 4, trimmed: false });
      expect(all.messages.map((m) => [m.seq, m.text])).toEqual([
        [1, ""],
        [2, "oops"],
      ]);
      expect((await stores.messages.page(r, 5, 5)).messages.map((m) => m.seq)).toEqual([2]);
      if (stored) expect(await stored(r)).not.toContain("hunter2");
    });

    it("fills pages with messages, not revisions, and trims revisions like messages", async () => {
      const { stores, room } = await create();
      const r = room("busy-edits");
      await fill(stores, r, 3);
      for (const text of ["a", "b"]) await stores.messages.revise({ room: r, seq: 3, userId: alice.id, text });
      // Entries 1..5 (3 messages, 2 revisions); page 3 still holds 3 messages.
      expect((await stores.messages.history(r)).messages.map((m) => m.text)).toEqual(["m1", "m2", "b"]);
      await fill(stores, r, 2); // seqs 6, 7 push out 1 and 2
      const page = await stores.messages.page(r, 8, 10);
      expect(page).toMatchObject({ hasMore: false });
      expect(page.messages.map((m) => m.seq)).toEqual([3, 6, 7]);
      expect(await stores.messages.history(r, 0)).toMatchObject({ trimmed: true, cursor: 7 });
      expect(await stores.messages.revise({ room: r, seq: 1, userId: alice.id, text: "late" })).toEqual({
        ok: false,
        reason: "not_found",
      });
    });
  });

  describe(`${name} room directory`, () => {
    it("lists rooms with present members first, then by latest message, and not idle ones", async () => {
      const { stores, room, now } = await create();
      const [quiet, chatty, crowded] = [room("dir-quiet"), room("dir-chatty"), room("dir-crowded")];
      await stores.messages.append({ room: chatty, author: alice, text: "hi", clientId: cid() });
      await stores.presence.add({ room: crowded, connId: "c1", user: bob });
      await stores.presence.add({ room: quiet, connId: "c2", user: alice });
      await stores.presence.remove({ room: quiet, connId: "c2", user: alice });
      const list = roomLister(stores.rooms, stores.presence, suiteLimits.presenceTtlMs, now);
      // Touches are fire-and-forget: look until they have landed (bounded).
      let mine: Awaited<ReturnType<typeof list>> = [];
      for (let i = 0; i < 40; i++) {
        const listed = await roomLister(stores.rooms, stores.presence, suiteLimits.presenceTtlMs, now)();
        mine = listed.filter((x) => [quiet, chatty, crowded].includes(x.room));
        if (mine.length >= 2) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(mine.map((x) => x.room)).toEqual([crowded, chatty]);
      expect(mine[0]).toEqual({ room: crowded, members: 1 });
      expect(mine[1]).toMatchObject({ room: chatty, members: 0, lastTs: expect.any(Number) });
      expect((await list()).length).toBeLessThanOrEqual(100);
    });
  });

  describe(`${name} presence store`, () => {
    it("lists each user once, sorted, and forgets removed connections", async () => {
      const { stores, room } = await create();
      const r = room("lobby");
      await stores.presence.add({ room: r, connId: "c1", user: bob });
      await stores.presence.add({ room: r, connId: "c2", user: alice });
      await stores.presence.add({ room: r, connId: "c3", user: alice });
      expect(sortUsers((await stores.presence.list(r)).users)).toEqual([alice, bob]);
      await stores.presence.remove({ room: r, connId: "c2", user: alice });
      expect(sortUsers((await stores.presence.list(r)).users)).toEqual([alice, bob]);
      await stores.presence.remove({ room: r, connId: "c3", user: alice });
      expect(sortUsers((await stores.presence.list(r)).users)).toEqual([bob]);
    });

    it("keeps names unique per room while their owner is present", async () => {
      const { stores, room } = await create();
      const r = room("names");
      expect((await stores.presence.add({ room: r, connId: "c1", user: alice })).added).toBe(true);
      // The same user on another tab is welcome; someone else calling themselves "ALICE" is not.
      expect((await stores.presence.add({ room: r, connId: "c2", user: alice })).added).toBe(true);
      expect((await stores.presence.add({ room: r, connId: "c3", user: { id: "u_eve", name: "ALICE" } })).added).toBe(
        false,
      );
      expect(
        (await stores.presence.add({ room: room("elsewhere"), connId: "c4", user: { id: "u_eve", name: "alice" } }))
          .added,
      ).toBe(true);
      expect(sortUsers((await stores.presence.list(r)).users)).toEqual([alice]);
      await stores.presence.remove({ room: r, connId: "c1", user: alice });
      await stores.presence.remove({ room: r, connId: "c2", user: alice });
      expect((await stores.presence.add({ room: r, connId: "c3", user: { id: "u_eve", name: "ALICE" } })).added).toBe(
        true,
      );
    });

    it("expires entries that are not refreshed (a pod that died)", async () => {
      const { stores, room } = await create();
      const r = room("ghosts");
      const live = { room: r, connId: "live", user: alice };
      await stores.presence.add(live);
      await stores.presence.add({ room: r, connId: "dead", user: bob });
      // Delays only lengthen these waits: "dead" is always past its TTL, and "live" keeps a wide margin.
      await wait(700);
      await stores.presence.refresh([live]);
      await wait(450);
      expect(sortUsers((await stores.presence.list(r)).users)).toEqual([alice]);
      // Refresh never resurrects a removed entry.
      await stores.presence.remove(live);
      await stores.presence.refresh([live]);
      expect(sortUsers((await stores.presence.list(r)).users)).toEqual([]);
    });

    it("versions every change of the set of users by one, and not a second tab", async () => {
      const { stores, room } = await create();
      const r = room("versions");
      const a1 = await stores.presence.add({ room: r, connId: "a1", user: alice });
      expect(a1).toMatchObject({ added: true, version: 1, joined: { version: 1, user: alice }, users: [alice] });
      const a2 = await stores.presence.add({ room: r, connId: "a2", user: alice });
      expect(a2).toMatchObject({ added: true, version: 1, joined: null });
      const b1 = await stores.presence.add({ room: r, connId: "b1", user: bob });
      expect(b1).toMatchObject({ version: 2, joined: { version: 2, user: bob } });
      expect(sortUsers(b1.users)).toEqual([alice, bob]);
      // A handover: the new connection arrives before the old one goes; nobody left or joined.
      expect(await stores.presence.remove({ room: r, connId: "a1", user: alice })).toEqual([]);
      expect(await stores.presence.remove({ room: r, connId: "a2", user: alice })).toEqual([
        { room: r, version: 3, user: alice, count: 1 },
      ]);
      expect(await stores.presence.remove({ room: r, connId: "a2", user: alice })).toEqual([]);
      expect(await stores.presence.list(r)).toMatchObject({ version: 3, users: [bob], left: [] });
    });

    it("frees an expired user's name and reports their leave once, to the first caller after the TTL", async () => {
      const { stores, room } = await create();
      const r = room("expiry");
      const live = { room: r, connId: "live", user: alice };
      await stores.presence.add(live);
      await stores.presence.add({ room: r, connId: "dead", user: bob });
      await wait(700);
      expect(await stores.presence.refresh([live])).toEqual([]);
      await wait(450);
      // The dead pod's user is swept by whoever comes first, here a refresh; then never again.
      expect(await stores.presence.refresh([live])).toEqual([{ room: r, version: 3, user: bob, count: 1 }]);
      expect(await stores.presence.list(r)).toMatchObject({ version: 3, users: [alice], left: [] });
      const eve = { id: "u_eve", name: "BOB" };
      expect(await stores.presence.add({ room: r, connId: "e1", user: eve })).toMatchObject({
        added: true,
        joined: { version: 4, user: eve },
        left: [],
      });
      // Alice keeps her name, and the index still knows it after the sweep.
      expect((await stores.presence.add({ room: r, connId: "x", user: { id: "u_x", name: "Alice" } })).added).toBe(
        false,
      );
    });

    it("returns names exactly as given: quotes, slashes, backslashes, accents and emoji", async () => {
      const { stores, room } = await create();
      const r = room("names");
      const odd = { id: "u_odd", name: 'Zoë "the" /slash\\ 🚀' };
      await stores.presence.add({ room: r, connId: "a", user: alice });
      const added = await stores.presence.add({ room: r, connId: "b", user: odd }, { limit: 5 });
      expect(sortUsers(added.users)).toEqual(sortUsers([alice, odd]));
      expect(sortUsers((await stores.presence.list(r)).users)).toEqual(sortUsers([alice, odd]));
    });

    it("gives a room of at most the page limit in full, with its count and no cursor", async () => {
      const { stores, room } = await create();
      const r = room("small");
      const carol = { id: "u_carol", name: "carol" };
      await stores.presence.add({ room: r, connId: "a", user: alice }, { limit: 3 });
      await stores.presence.add({ room: r, connId: "b", user: bob }, { limit: 3 });
      const added = await stores.presence.add({ room: r, connId: "c", user: carol }, { limit: 3 });
      expect(added).toMatchObject({ added: true, count: 3, next: null, joined: { version: 3, user: carol, count: 3 } });
      expect(sortUsers(added.users)).toEqual([alice, bob, carol]);
      const listed = await stores.presence.list(r, { limit: 3 });
      expect(listed).toMatchObject({ version: 3, count: 3, next: null });
      expect(sortUsers(listed.users)).toEqual([alice, bob, carol]);
      expect(await stores.presence.remove({ room: r, connId: "c", user: carol })).toEqual([
        { room: r, version: 4, user: carol, count: 2 },
      ]);
      // Without a page, every caller (protocol 1 and 2) still gets the full list.
      expect(await stores.presence.list(r)).toMatchObject({ count: 2, next: null });
    });

    // 12 stays in a small Redis hash (listpack, paged by position), 300 does not (HSCAN cursors).
    for (const size of [12, 300]) {
      it(`pages a large room of ${size}: the walk covers every user, the count is exact`, async () => {
        const { stores, room } = await create();
        const r = room(`large-${size}`);
        const users = Array.from({ length: size }, (_, i) => ({ id: `u_${i}`, name: `user-${i}` }));
        for (let i = 0; i < size - 1; i += 50) {
          await Promise.all(
            users
              .slice(i, Math.min(i + 50, size - 1))
              .map((user) => stores.presence.add({ room: r, connId: user.id, user })),
          );
        }
        const last = users[size - 1] as User;
        // A first page may be smaller than the limit (size); the walk goes on in pages of the limit.
        const first = await stores.presence.add({ room: r, connId: last.id, user: last }, { limit: 5, size: 2 });
        expect(first).toMatchObject({ added: true, count: size });
        expect(first.next).toEqual(expect.any(String));
        expect(first.users.length).toBeGreaterThan(0);
        expect(first.users.length).toBeLessThanOrEqual(size === 12 ? 2 : 12);
        const seen = new Set(first.users.map((u) => u.id));
        let page: PresenceList = first;
        let pages = 1;
        while (page.next !== null && pages < 2 * size) {
          page = await stores.presence.list(r, { limit: 5, cursor: page.next });
          expect(page.count).toBe(size);
          expect(page.users.length).toBeLessThan(size);
          for (const u of page.users) seen.add(u.id);
          pages++;
        }
        expect(page.next).toBeNull();
        expect(pages).toBeGreaterThan(2);
        expect([...seen].sort()).toEqual(users.map((u) => u.id).sort());
        // Without a cursor a large room answers a first page, not the full list.
        const again = await stores.presence.list(r, { limit: 5 });
        expect(again).toMatchObject({ count: size });
        expect(again.next).toEqual(expect.any(String));
        expect((await stores.presence.list(r)).users).toHaveLength(size);
      });
    }

    it("lets one caller announce a room's size per interval, and never leaves the latest change unannounced", async () => {
      const { stores, room } = await create();
      const r = room("claims");
      const p = stores.presence;
      expect(await p.claimCount(r, 1, 10_000)).toBeNull(); // no such room
      const carol = { id: "u_carol", name: "carol" };
      await p.add({ room: r, connId: "a", user: alice });
      await p.add({ room: r, connId: "b", user: bob });
      // Two pods that made changes 1 and 2: the first claim covers both, the second has nothing to do.
      expect(await p.claimCount(r, 1, 10_000)).toEqual({ version: 2, count: 2 });
      expect(await p.claimCount(r, 2, 10_000)).toBeNull();
      // A change after that announcement waits for the interval: the claim says how long.
      await p.add({ room: r, connId: "c", user: carol });
      const early = await p.claimCount(r, 3, 10_000);
      expect(early).toEqual({ retryInMs: expect.any(Number) });
      const retryInMs = (early as { retryInMs: number }).retryInMs;
      expect(retryInMs).toBeGreaterThan(9_000);
      expect(retryInMs).toBeLessThanOrEqual(10_000);
      // Once the interval is over, it is announced at the room's latest version.
      await p.remove({ room: r, connId: "a", user: alice });
      await wait(60);
      expect(await p.claimCount(r, 3, 50)).toEqual({ version: 4, count: 2 });
      expect(await p.claimCount(r, 4, 50)).toBeNull();
    });

    it("refuses a cursor it cannot read, before any change, and survives a made-up one", async () => {
      const { stores, room } = await create();
      const r = room("cursors");
      for (let i = 0; i < 8; i++) {
        await stores.presence.add({ room: r, connId: `c${i}`, user: { id: `u_${i}`, name: `n${i}` } });
      }
      await expect(stores.presence.list(r, { limit: 3, cursor: "99999999999999999999999" })).rejects.toBeInstanceOf(
        PresenceCursorError,
      );
      for (const cursor of ["12345", "0", "0999", "7"]) {
        const page = await stores.presence.list(r, { limit: 3, cursor });
        expect(page.count).toBe(8);
        expect(page.users.length).toBeLessThanOrEqual(8);
        expect(page.next === null || typeof page.next === "string").toBe(true);
      }
    });
  });
}

/** Everything Redis holds under a room's keys, as one string (stream entries, revision states). */
export async function storedStrings(redis: RedisClient, room: string): Promise<string> {
  const k = roomKeys(room);
  const [log, revised] = await Promise.all([redis.xrange(k.log, "-", "+"), redis.hgetall(k.revised)]);
  return JSON.stringify({ log, revised });
}
