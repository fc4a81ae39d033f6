import { type ChatMessage, PROTOCOL_VERSION, type Response } from "@chat/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Node } from "./nodes.js";
import { RawClient, randomId, until } from "./raw-client.js";

export const data = <T>(res: Response<T>): T => {
  if (!res.ok) throw new Error(`error ack: ${res.error.code} ${res.error.message}`);
  return res.data;
};

/**
 * The chat behaviour, run against one embedded pod (in-memory stores) and against three pods
 * sharing one Redis. `url(i)` is "pod i" (all the same pod in embedded mode).
 */
export function chatSuite(
  name: string,
  setup: () => Promise<{
    nodes: Node[];
    teardown: () => Promise<void>;
    /** Every string the backend holds for a room, where it can be read (Redis). */
    stored?: (room: string) => Promise<string>;
  }>,
) {
  describe(name, () => {
    let nodes: Node[];
    let teardown: () => Promise<void>;
    let stored: ((room: string) => Promise<string>) | undefined;
    const clients: RawClient[] = [];
    const url = (i: number) => (nodes[i % nodes.length] as Node).url;
    const connect = async (i: number, auth: { name?: string; token?: string; protocol?: number } = {}) => {
      const c = await RawClient.connect(url(i), auth);
      clients.push(c);
      return c;
    };
    let roomN = 0;
    const room = () => `room-${++roomN}-${Math.random().toString(36).slice(2, 6)}`;

    beforeAll(async () => {
      ({ nodes, teardown, stored } = await setup());
    });
    afterEach(() => {
      for (const c of clients.splice(0)) c.close();
    });
    afterAll(async () => {
      await teardown();
    });

    it("delivers a message sent on one pod to members on every pod exactly once", async () => {
      const r = room();
      const [a, b, c] = await Promise.all([
        connect(0, { name: "a" }),
        connect(1, { name: "b" }),
        connect(2, { name: "c" }),
      ]);
      for (const x of [a, b, c]) data(await x.join(r));
      const first = data(await a.send(r, "hello from a"));
      expect(first).toMatchObject({ seq: 1, room: r, text: "hello from a", author: a.session.user });
      // A second message from the same pod arrives after the first: once it is in, the first had its chance to be doubled.
      data(await a.send(r, "sentinel"));
      for (const x of [a, b, c]) {
        await until(x, "sentinel", () => x.seqs(r).includes(2));
        expect(x.seqs(r)).toEqual([1, 2]);
      }
    });

    it("gives a client that reconnects to another pod exactly the messages it missed", async () => {
      const r = room();
      const sender = await connect(0, { name: "sender" });
      data(await sender.join(r));
      const away = await connect(1, { name: "away" });
      data(await away.join(r));
      for (const text of ["one", "two"]) data(await sender.send(r, text));
      await until(away, "two messages", () => away.seqs(r).length === 2);
      const token = away.session.token;
      away.close();
      for (const text of ["three", "four", "five"]) data(await sender.send(r, text));
      const back = await connect(2, { token });
      expect(back.session.user).toEqual(away.session.user);
      const rejoined = data(await back.join(r, 2));
      expect(rejoined.messages.map((m) => m.text)).toEqual(["three", "four", "five"]);
      expect(rejoined).toMatchObject({ cursor: 5, trimmed: false });
    });

    it("assigns gapless seqs to concurrent sends from several pods", async () => {
      const r = room();
      const senders = await Promise.all([0, 1, 2].map((i) => connect(i, { name: `s${i}` })));
      const observer = await connect(1, { name: "observer" });
      for (const s of [...senders, observer]) data(await s.join(r));
      const acks = await Promise.all(
        senders.flatMap((s, i) => Array.from({ length: 20 }, (_, k) => s.send(r, `${i}-${k}`))),
      );
      const seqs = acks.map((a) => data(a).seq).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      await until(observer, "60 messages", () => observer.seqs(r).length >= 60);
      expect([...observer.seqs(r)].sort((x, y) => x - y)).toEqual(seqs);
    });

    it("stores and broadcasts a clientId raced on two pods once", async () => {
      const r = room();
      const first = await connect(0, { name: "twice" });
      const second = await connect(1, { token: first.session.token });
      const observer = await connect(2, { name: "observer" });
      for (const x of [first, second, observer]) data(await x.join(r));
      const clientId = randomId();
      const [x, y] = await Promise.all([first.send(r, "only once", clientId), second.send(r, "only once", clientId)]);
      expect(data(x)).toEqual(data(y));
      const retry = data(await first.send(r, "only once", clientId));
      expect(retry).toEqual(data(x));
      data(await first.send(r, "sentinel"));
      await until(observer, "sentinel", () => observer.seqs(r).includes(2));
      expect(observer.seqs(r)).toEqual([1, 2]);
    });

    it("answers bad payloads with invalid_payload and keeps serving", async () => {
      const r = room();
      const c = await connect(0);
      const bad: [string, unknown][] = [
        ["room:join", { room: "Not A Room!" }],
        ["room:join", { room: "ok", since: -1 }],
        ["room:join", "general"],
        ["room:join", null],
        ["message:send", { room: r, text: "", clientId: randomId() }],
        ["message:send", { room: r, text: "x", clientId: "short" }],
        ["message:send", { room: r, text: { $ne: 1 }, clientId: randomId() }],
        ["message:send", { room: r, text: "x".repeat(5000), clientId: randomId() }],
        ["room:leave", 42],
      ];
      for (const [event, payload] of bad) {
        const res = (await c.emitRaw(event, payload)) as Response<unknown>;
        expect(res, `${event} ${JSON.stringify(payload)?.slice(0, 40)}`).toMatchObject({
          ok: false,
          error: { code: "invalid_payload" },
        });
      }
      // No ack callback, unknown events, missing args: nothing to answer, nothing may crash.
      const raw = c.socket as unknown as { emit: (...args: unknown[]) => void };
      raw.emit("message:send");
      raw.emit("no-such-event", { x: 1 });
      expect(await c.send(r, "not joined")).toMatchObject({ ok: false, error: { code: "not_in_room" } });
      data(await c.join(r));
      expect(data(await c.send(r, "still serving")).seq).toBe(1);
    });

    it("keeps a user's identity across pods and refuses forged tokens", async () => {
      const a = await connect(0, { name: "ada" });
      const again = await connect(1, { token: a.session.token });
      expect(again.session.user).toEqual({ id: a.session.user.id, name: "ada" });
      const renamed = await connect(2, { token: a.session.token, name: "ada l." });
      expect(renamed.session.user).toEqual({ id: a.session.user.id, name: "ada l." });
      const [v, , sig] = a.session.token.split(".");
      const forged = `${v}.${Buffer.from(JSON.stringify({ sub: "u_x", name: "eve", iat: 0, exp: 9e15 })).toString("base64url")}.${sig}`;
      const refused = await RawClient.connect(url(1), { token: forged }).catch((e: Error & { data?: unknown }) => e);
      expect(refused).toMatchObject({ data: { code: "unauthorized", message: "session token signature is invalid" } });
    });

    it("refuses a name already present in the room, on any pod", async () => {
      const r = room();
      const first = await connect(0, { name: "Grace" });
      data(await first.join(r));
      const impostor = await connect(1, { name: "grace" });
      expect(await impostor.join(r)).toMatchObject({ ok: false, error: { code: "name_taken" } });
      expect(await impostor.send(r, "hi")).toMatchObject({ ok: false, error: { code: "not_in_room" } });
      // The owner's second tab (same token) is the same user.
      const tab = await connect(2, { token: first.session.token });
      expect(data(await tab.join(r)).presence.map((u) => u.name)).toEqual(["Grace"]);
    });

    it("shows presence across pods and removes a user who disconnects", async () => {
      const r = room();
      const a = await connect(0, { name: "anna" });
      const b = await connect(1, { name: "bert" });
      data(await a.join(r));
      const joined = data(await b.join(r));
      expect(joined.presence.map((u) => u.name)).toEqual(["anna", "bert"]);
      await until(a, "bert in presence", () => a.presence.at(-1)?.users.length === 2);
      b.close();
      await until(
        a,
        "bert gone",
        () =>
          a.presence
            .at(-1)
            ?.users.map((u) => u.name)
            .join() === "anna",
      );
    });

    it("returns the latest page on join and says when history was trimmed", async () => {
      const r = room();
      const c = await connect(0);
      data(await c.join(r));
      const sent: ChatMessage[] = [];
      for (let i = 1; i <= 8; i++) sent.push(data(await c.send(r, `m${i}`)));
      const fresh = await connect(1);
      const page = data(await fresh.join(r));
      expect(page.messages.map((m) => m.seq)).toEqual([4, 5, 6, 7, 8]);
      const trimmed = data(await fresh.join(r, 1));
      expect(trimmed).toMatchObject({ trimmed: true, cursor: 8 });
    });

    it("pages back through history to message 1, then into trimmed history", async () => {
      const r = room();
      const c = await connect(0, { protocol: 2 });
      data(await c.join(r));
      for (let i = 1; i <= 6; i++) data(await c.send(r, `m${i}`));
      const reader = await connect(1, { protocol: 2 });
      const joined = data(await reader.join(r));
      expect(joined.messages.map((m) => m.seq)).toEqual([2, 3, 4, 5, 6]);
      const older = data(await reader.history(r, 2));
      expect(older).toEqual({ room: r, messages: [expect.objectContaining({ seq: 1, text: "m1" })], hasMore: false });
      const middle = data(await reader.history(r, 5, 2));
      expect(middle.messages.map((m) => m.seq)).toEqual([3, 4]);
      expect(middle.hasMore).toBe(true);
      // HISTORY_LIMIT 6: two more messages trim 1 and 2; paging ends at the oldest kept one.
      for (const text of ["m7", "m8"]) data(await c.send(r, text));
      const trimmed = data(await reader.history(r, 5, 10));
      expect(trimmed.messages.map((m) => m.seq)).toEqual([3, 4]);
      expect(trimmed.hasMore).toBe(false);
      expect(await (await connect(2)).history(r, 5)).toMatchObject({ ok: false, error: { code: "not_in_room" } });
    });

    it("shows edits and deletions live on every pod and to a client that resumes with since", async () => {
      const r = room();
      const author = await connect(0, { name: "writer", protocol: 2 });
      const watcher = await connect(1, { name: "watcher", protocol: 2 });
      const away = await connect(2, { name: "away", protocol: 2 });
      const old = await connect(2, { name: "old-client" }); // protocol 1: says nothing in its handshake
      for (const x of [author, watcher, away, old]) data(await x.join(r));
      const first = data(await author.send(r, "frist"));
      const second = data(await author.send(r, "my secret: hunter2"));
      await until(away, "both messages", () => away.seqs(r).length === 2);
      const token = away.session.token;
      away.close();

      const edited = data(await author.edit(r, first.id, "first"));
      expect(edited).toMatchObject({ id: first.id, seq: 1, text: "first", rev: 3, editedAt: expect.any(Number) });
      const deleted = data(await author.delete(r, second.id));
      expect(deleted).toMatchObject({ id: second.id, seq: 2, text: "", deleted: true, rev: 4 });
      // Retries are harmless: same answer, no new revision.
      expect(data(await author.edit(r, first.id, "first"))).toEqual(edited);
      expect(data(await author.delete(r, second.id))).toEqual(deleted);
      expect(await watcher.edit(r, first.id, "mine")).toMatchObject({ ok: false, error: { code: "forbidden" } });
      expect(await watcher.delete(r, first.id)).toMatchObject({ ok: false, error: { code: "forbidden" } });
      expect(await author.edit(r, second.id, "undo")).toMatchObject({ ok: false, error: { code: "not_found" } });
      expect(await author.edit(r, `${r}:99`, "x")).toMatchObject({ ok: false, error: { code: "not_found" } });

      await until(watcher, "two revisions", () => watcher.revised.length >= 2);
      data(await author.send(r, "sentinel"));
      await until(watcher, "sentinel", () => watcher.seqs(r).includes(5));
      expect(watcher.revised).toEqual([edited, deleted]);

      const back = await connect(1, { token, protocol: 2 });
      const resumed = data(await back.join(r, 2));
      expect(resumed).toMatchObject({ cursor: 5, trimmed: false });
      expect(resumed.messages.map((m) => [m.seq, m.text, m.deleted ?? false])).toEqual([
        [1, "first", false],
        [2, "", true],
        [5, "sentinel", false],
      ]);
      // A newcomer sees the current text and no deleted message.
      const newcomer = await connect(0, { protocol: 2 });
      expect(data(await newcomer.join(r)).messages.map((m) => m.text)).toEqual(["first", "sentinel"]);
      // Protocol 1 is not shown tombstones; its cursor still covers the revisions.
      const oldJoin = data(await old.join(r, 2));
      expect(oldJoin.messages.map((m) => m.seq)).toEqual([1, 5]);
      expect(oldJoin.cursor).toBe(5);
      if (stored) {
        const raw = await stored(r);
        expect(raw).toContain("sentinel");
        expect(raw).not.toContain("hunter2");
      }
    });

    it("refuses bad scrollback, edit, delete and listing payloads with invalid_payload", async () => {
      const r = room();
      const c = await connect(0, { protocol: 2 });
      data(await c.join(r));
      const sent = data(await c.send(r, "hello"));
      const bad: [string, unknown][] = [
        ["room:history", { room: r, before: -1 }],
        ["room:history", { room: r, before: 10, limit: 0 }],
        ["room:history", { room: r }],
        ["room:history", null],
        ["message:edit", { room: r, id: "nope", text: "x" }],
        ["message:edit", { room: r, id: `other:${sent.seq}`, text: "x" }],
        ["message:edit", { room: r, id: sent.id, text: "  " }],
        ["message:edit", { room: r, id: sent.id, text: "x".repeat(2001) }],
        ["message:edit", { room: r, id: sent.id }],
        ["message:delete", { room: r }],
        ["message:delete", { room: r, id: 7 }],
        ["rooms:list", "all"],
      ];
      for (const [event, payload] of bad) {
        const res = (await c.emitRaw(event, payload)) as Response<unknown>;
        expect(res, `${event} ${JSON.stringify(payload)?.slice(0, 40)}`).toMatchObject({
          ok: false,
          error: { code: "invalid_payload" },
        });
      }
      expect(data(await c.edit(r, sent.id, "still serving")).text).toBe("still serving");
    });

    it("lists active rooms with their members, from any pod", async () => {
      const [busy, quiet] = [room(), room()];
      const a = await connect(0, { name: "lister-a", protocol: 2 });
      const b = await connect(1, { name: "lister-b", protocol: 2 });
      data(await a.join(busy));
      data(await b.join(busy));
      data(await a.join(quiet));
      data(await a.send(quiet, "anyone?"));
      data(await a.leave(quiet));
      const observer = await connect(2, { protocol: 2 });
      // Listings are cached per pod for a moment: ask until both rooms are in (bounded).
      let mine: { room: string; members: number; lastTs?: number }[] = [];
      for (let i = 0; i < 60 && mine.length < 2; i++) {
        mine = data(await observer.listRooms()).rooms.filter((x) => x.room === busy || x.room === quiet);
        if (mine.length < 2) await new Promise((res) => setTimeout(res, 100));
      }
      expect(mine).toEqual([
        { room: busy, members: 2 },
        { room: quiet, members: 0, lastTs: expect.any(Number) },
      ]);
    });

    it("tells each session the limits the server enforces", async () => {
      const c = await connect(0, { protocol: 2 });
      // `protocol` is what the server speaks, whatever the client declared.
      expect(c.session).toMatchObject({
        protocol: PROTOCOL_VERSION,
        limits: { maxTextLength: 2000, maxRoomsPerSocket: 50, presenceListMax: 100 },
      });
      expect(c.session.limits?.messagesPerWindow).toBeGreaterThan(0);
      expect(c.session.limits?.windowMs).toBeGreaterThan(0);
    });
  });
}

/** History settings the suite's trimming test expects. */
export const suiteEnv = { HISTORY_LIMIT: "6", HISTORY_PAGE: "5" };
