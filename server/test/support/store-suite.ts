import type { User } from "@chat/protocol";
import { describe, expect, it } from "vitest";
import { sortUsers } from "../../src/stores/presence-order.js";
import type { StoreLimits, Stores } from "../../src/stores/types.js";

export const suiteLimits: StoreLimits = {
  historyLimit: 5,
  historyPage: 3,
  idempotencyTtlMs: 60_000,
  presenceTtlMs: 1000,
};

/** Each call gets fresh stores over an empty backend (a unique room prefix is enough). */
export type StoresFactory = () => Promise<{ stores: Stores; room: (name: string) => string }>;

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

    it("keeps rooms apart and text intact", async () => {
      const { stores, room } = await create();
      const text = 'quotes " \\ / <b>html</b> ünïcödé 🎉 \n newline';
      await stores.messages.append({ room: room("a"), author: alice, text, clientId: cid() });
      const b = await stores.messages.append({ room: room("b"), author: alice, text: "b", clientId: cid() });
      expect(b.message.seq).toBe(1);
      expect((await stores.messages.history(room("a"))).messages[0]?.text).toBe(text);
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
        { room: r, version: 3, user: alice },
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
      expect(await stores.presence.refresh([live])).toEqual([{ room: r, version: 3, user: bob }]);
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
  });
}
