import { PRESENCE_DELTA_PROTOCOL, PRESENCE_PAGED_PROTOCOL } from "@chat/protocol";
import { type RedisHandle, startRedis } from "@chat/testkit";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisPresenceStore } from "../src/stores/redis-presence-store.js";
import { chatSuite, data, suiteEnv } from "./support/chat-suite.js";
import { type Node, startNodes, stopNodes } from "./support/nodes.js";
import { RawClient, until } from "./support/raw-client.js";
import { storedStrings } from "./support/store-suite.js";

chatSuite("embedded pod (in-memory)", async () => {
  const nodes = await startNodes(1, suiteEnv);
  return { nodes, teardown: () => stopNodes(nodes) };
});

let redis: RedisHandle;
chatSuite("three pods sharing Redis", async () => {
  redis = await startRedis();
  const nodes = await startNodes(3, { ...suiteEnv, REDIS_URL: redis.url });
  const reader = new Redis(redis.url);
  return {
    nodes,
    teardown: async () => {
      reader.disconnect();
      await stopNodes(nodes);
      await redis.destroy();
    },
    stored: (room) => storedStrings(reader, room),
  };
});

describe("presence deltas (protocol 2) across two pods", () => {
  let r2: RedisHandle;
  let nodes: Awaited<ReturnType<typeof startNodes>>;
  let store: RedisPresenceStore;
  let client: Redis;
  const clients: RawClient[] = [];
  const connect = async (i: number, auth: { name?: string; token?: string; protocol?: number }) => {
    const c = await RawClient.connect((nodes[i % nodes.length] as { url: string }).url, auth);
    clients.push(c);
    return c;
  };
  const v2 = PRESENCE_DELTA_PROTOCOL;
  const names = (c: RawClient, room: string) =>
    [...(c.views.get(room)?.users.values() ?? [])].map((u) => u.name).sort();
  const versions = (c: RawClient) => c.deltas.flatMap((d) => [...d.joined, ...d.left].map((x) => x.version));

  beforeAll(async () => {
    r2 = await startRedis();
    nodes = await startNodes(2, { ...suiteEnv, REDIS_URL: r2.url });
    client = new Redis(r2.url);
    store = new RedisPresenceStore(client, { presenceTtlMs: 15_000 });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await stopNodes(nodes);
    client.disconnect();
    await r2.destroy();
  });

  it("announces each join and leave once, with contiguous versions over both pods; protocol 1 keeps full lists", async () => {
    const room = "deltas";
    const watcher = await connect(0, { name: "watcher", protocol: v2 });
    const old = await connect(1, { name: "old" });
    const joined = data(await watcher.join(room));
    expect(joined).toMatchObject({ presenceVersion: 1, presence: [{ name: "watcher" }] });
    data(await old.join(room));
    const others = await Promise.all(
      ["p0", "p1", "p2", "p3", "p4"].map((n, i) => connect(i, { name: n, protocol: v2 })),
    );
    for (const o of others) data(await o.join(room));
    await until(watcher, "everyone", () => watcher.views.get(room)?.version === 7);
    (others[2] as RawClient).close();
    await until(watcher, "p2 left", () => watcher.views.get(room)?.version === 8);
    expect(names(watcher, room)).toEqual(["old", "p0", "p1", "p3", "p4", "watcher"]);
    // Every change exactly once (its own join too), none skipped, none but the ones that happened.
    expect(versions(watcher).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(watcher.fetches).toBe(0);
    expect(watcher.presence).toEqual([]);
    // The protocol-1 socket got full lists and no deltas, and its last list is the room's.
    await until(old, "old sees p2 leave", () => old.presence.at(-1)?.users.length === 6);
    expect(old.deltas).toEqual([]);
    expect(
      old.presence
        .at(-1)
        ?.users.map((u) => u.name)
        .sort(),
    ).toEqual(names(watcher, room));
    const snapshot = data(await watcher.presenceOf(room));
    expect(snapshot).toMatchObject({ room, version: 8 });
    expect(snapshot.users.map((u) => u.name).sort()).toEqual(names(watcher, room));
  });

  it("fetches the full list once when a version never arrives (its pod died before announcing)", async () => {
    const room = "gap";
    const watcher = await connect(0, { name: "watcher", protocol: v2 });
    data(await watcher.join(room));
    // A change nobody announces, as when a pod dies between its write and its announcement.
    expect(await store.add({ room, connId: "lost", user: { id: "u_ghost", name: "ghost" } })).toMatchObject({
      joined: { version: 2 },
    });
    const fetched = watcher.nextFetch();
    const late = await connect(1, { name: "late", protocol: v2 });
    data(await late.join(room));
    await until(watcher, "late's join", () => versions(watcher).includes(3));
    expect(watcher.views.get(room)?.gap()).toBe(true);
    await fetched;
    expect(watcher.views.get(room)?.gap()).toBe(false);
    expect(names(watcher, room)).toEqual(["ghost", "late", "watcher"]);
    expect(watcher.views.get(room)?.version).toBe(3);
    expect(watcher.fetches).toBe(1);
  });

  it("a handover (new connection, same user, then the old one closes) announces nothing", async () => {
    const room = "handover";
    const watcher = await connect(0, { name: "watcher", protocol: v2 });
    const mover = await connect(0, { name: "mover", protocol: v2 });
    data(await watcher.join(room));
    data(await mover.join(room));
    await until(watcher, "mover in", () => watcher.views.get(room)?.version === 2);
    const moved = await connect(1, { token: mover.session.token, protocol: v2 });
    expect(data(await moved.join(room, 0))).toMatchObject({ presenceVersion: 2, messages: [], cursor: 0 });
    mover.close();
    // Something after the handover that is announced, to know the announcements have caught up.
    const marker = await connect(1, { name: "marker", protocol: v2 });
    data(await marker.join(room));
    await until(watcher, "marker in", () => watcher.views.get(room)?.version === 3);
    expect(versions(watcher)).toEqual([1, 2, 3]);
    expect(names(watcher, room)).toEqual(["marker", "mover", "watcher"]);
  });

  it("a connection closing says 'stopped typing' only if it was typing (a rollout closes them all)", async () => {
    const room = "typing-leave";
    const watcher = await connect(0, { name: "watcher", protocol: v2 });
    const typist = await connect(1, { name: "typist", protocol: v2 });
    const quiet = await connect(0, { name: "quiet", protocol: v2 });
    const stopped = await connect(1, { name: "stopped", protocol: v2 });
    for (const c of [watcher, typist, quiet, stopped]) data(await c.join(room));
    await until(watcher, "everyone in", () => names(watcher, room).length === 4);
    typist.socket.emit("typing", { room, typing: true });
    stopped.socket.emit("typing", { room, typing: true });
    stopped.socket.emit("typing", { room, typing: false });
    await until(watcher, "typing seen", () => watcher.typing.length === 3);
    for (const c of [typist, quiet, stopped]) c.close();
    // Each leave is announced after that connection's disconnect handler ran, on the same path.
    await until(watcher, "the three gone", () => names(watcher, room).length === 1);
    // Sockets' events race each other; what counts is who said what.
    expect(watcher.typing.map((t) => `${t.user.name}:${t.typing}`).sort()).toEqual([
      "stopped:false",
      "stopped:true",
      "typist:false",
      "typist:true",
    ]);
  });

  it("refuses room:presence for a room the socket has not joined", async () => {
    const c = await connect(0, { name: "nosy", protocol: v2 });
    expect(await c.presenceOf("elsewhere")).toMatchObject({ ok: false, error: { code: "not_in_room" } });
    expect(await c.emitRaw("room:presence", { room: "Bad Room" })).toMatchObject({
      ok: false,
      error: { code: "invalid_payload" },
    });
  });
});

/**
 * Protocol 3 with PRESENCE_LIST_MAX=3: a room of 6 is large. Its protocol-3 members get counts,
 * pages and a cursor; protocol-2 and -1 members in the same room keep deltas and full lists.
 */
function pagedSuite(name: string, start: () => Promise<{ nodes: Node[]; teardown: () => Promise<void> }>) {
  describe(`paged presence (protocol 3): ${name}`, () => {
    let nodes: Node[];
    let teardown: () => Promise<void>;
    const clients: RawClient[] = [];
    const connect = async (i: number, auth: { name?: string; protocol?: number }) => {
      const c = await RawClient.connect((nodes[i % nodes.length] as Node).url, auth);
      clients.push(c);
      return c;
    };
    const v3 = PRESENCE_PAGED_PROTOCOL;
    const names = (c: RawClient, room: string) =>
      [...(c.views.get(room)?.users.values() ?? [])].map((u) => u.name).sort();
    const deltaVersions = (c: RawClient) => c.deltas.flatMap((d) => [...d.joined, ...d.left].map((x) => x.version));

    beforeAll(async () => {
      ({ nodes, teardown } = await start());
    });
    afterEach(() => {
      for (const c of clients.splice(0)) c.close();
    });
    afterAll(async () => {
      await teardown();
    });

    it("counts instead of deltas and pages while the room is large, deltas and full lists again once it is not", async () => {
      const room = "big";
      const watcher = await connect(0, { name: "watcher", protocol: v3 });
      expect(watcher.session.limits?.presenceListMax).toBe(3);
      const first = data(await watcher.join(room));
      expect(first).toMatchObject({
        presenceVersion: 1,
        presenceCount: 1,
        presenceNext: null,
        presence: [{ name: "watcher" }],
      });
      const v2 = await connect(1, { name: "v2", protocol: PRESENCE_DELTA_PROTOCOL });
      const v2Ack = data(await v2.join(room));
      expect(v2Ack.presenceCount).toBeUndefined();
      expect(v2Ack.presenceNext).toBeUndefined();
      const old = await connect(0, { name: "old" });
      data(await old.join(room));
      const joiners = await Promise.all(["j0", "j1", "j2"].map((n, i) => connect(i + 1, { name: n, protocol: v3 })));
      for (const j of joiners.slice(0, 2)) data(await j.join(room));
      const last = joiners[2] as RawClient;
      const ack = data(await last.join(room));
      // The joiner of a large room gets its size, a first page and where to go on.
      expect(ack).toMatchObject({ presenceVersion: 6, presenceCount: 6 });
      expect(ack.presenceNext).toEqual(expect.any(String));
      expect(ack.presence.length).toBeGreaterThan(0);
      expect(ack.presence.length).toBeLessThanOrEqual(3);
      const everyone = ["j0", "j1", "j2", "old", "v2", "watcher"];
      const walked = await last.walk(room, ack.presenceNext ?? null);
      expect([...new Set([...ack.presence.map((u) => u.name), ...walked.names])].sort()).toEqual(everyone);
      expect(walked.pages).toBeGreaterThan(0);
      // Without a cursor a large room answers a first page too; a walk from it covers the room.
      const fresh = data(await last.presenceOf(room));
      expect(fresh).toMatchObject({ room, version: 6, count: 6 });
      expect(fresh.next).toEqual(expect.any(String));
      expect(fresh.users.length).toBeLessThanOrEqual(3);
      expect(
        [...new Set([...fresh.users.map((u) => u.name), ...(await last.walk(room, fresh.next ?? null)).names])].sort(),
      ).toEqual(everyone);
      for (const cursor of ["99999999999999999999999", "abc", ""]) {
        expect(await last.emitRaw("room:presence", { room, cursor })).toMatchObject({
          ok: false,
          error: { code: "invalid_payload" },
        });
      }

      // Protocol 3 hears the size, not the joins that made the room large (versions 4 to 6).
      await until(watcher, "count of 6", () => watcher.latestCount(room)?.count === 6);
      expect(watcher.latestCount(room)).toEqual({ room, version: 6, count: 6 });
      expect(deltaVersions(watcher).filter((v) => v >= 4)).toEqual([]);
      // Protocol 2 still hears every change, and gets the full list whatever it sends.
      await until(v2, "v2 sees everyone", () => v2.views.get(room)?.version === 6);
      expect(names(v2, room)).toEqual(everyone);
      expect(v2.counts).toEqual([]);
      const full = data(await v2.presenceOf(room, ack.presenceNext ?? "0"));
      expect(full.users.map((u) => u.name).sort()).toEqual(everyone);
      expect(full.next).toBeUndefined();
      // Protocol 1: full sorted lists, as ever.
      await until(old, "old sees everyone", () => old.presence.at(-1)?.users.length === 6);
      expect(old.presence.at(-1)?.users.map((u) => u.name)).toEqual(everyone);
      expect(old.deltas).toEqual([]);
      expect(old.counts).toEqual([]);

      // Back to 3 users: the pod that made the last leave (version 9) sends it as a delta.
      for (const j of joiners) j.close();
      await until(watcher, "a delta again", () => deltaVersions(watcher).includes(9));
      const small = data(await watcher.presenceOf(room));
      expect(small).toMatchObject({ room, version: 9, count: 3, next: null });
      expect(small.users.map((u) => u.name).sort()).toEqual(["old", "v2", "watcher"]);
      await until(v2, "v2 sees the leaves", () => v2.views.get(room)?.version === 9);
      expect(names(v2, room)).toEqual(["old", "v2", "watcher"]);
      await until(old, "old sees the leaves", () => old.presence.at(-1)?.users.length === 3);
      // One more join makes the room large again: the joiner gets a page and a cursor.
      const again = await connect(1, { name: "again", protocol: v3 });
      const againAck = data(await again.join(room));
      expect(againAck).toMatchObject({ presenceCount: 4, presenceVersion: 10 });
      expect(againAck.presenceNext).toEqual(expect.any(String));
    });

    it("tells a large room its size at most once a second over all pods, and always its final size", async () => {
      const room = "waves";
      const watcher = await connect(0, { name: "watcher", protocol: v3 });
      data(await watcher.join(room));
      const heardAt: number[] = [];
      watcher.socket.on("presence:count", (c: { room: string }) => {
        if (c.room === room) heardAt.push(performance.now());
      });
      // Four waves of joins 400 ms apart, each spread over every pod: the room is large (> 3) from the first.
      let n = 0;
      for (let wave = 0; wave < 4; wave++) {
        if (wave > 0) await new Promise((r) => setTimeout(r, 400));
        const joiners = await Promise.all(
          Array.from({ length: 4 }, () => connect(++n, { name: `w${n}`, protocol: v3 })),
        );
        await Promise.all(joiners.map(async (j) => data(await j.join(room))));
      }
      await until(watcher, "the final size", () => watcher.latestCount(room)?.count === 17, 10_000);
      expect(watcher.latestCount(room)).toEqual({ room, version: 17, count: 17 });
      // The waves took over a second, so the room heard its size more than once, never twice within one.
      expect(heardAt.length).toBeGreaterThanOrEqual(2);
      const gaps = heardAt.slice(1).map((t, i) => t - (heardAt[i] as number));
      expect(Math.min(...gaps)).toBeGreaterThan(900);
    });
  });
}

pagedSuite("two pods sharing Redis", async () => {
  const r = await startRedis();
  const nodes = await startNodes(2, { ...suiteEnv, REDIS_URL: r.url, PRESENCE_LIST_MAX: "3" });
  return {
    nodes,
    teardown: async () => {
      await stopNodes(nodes);
      await r.destroy();
    },
  };
});

pagedSuite("embedded pod", async () => {
  const nodes = await startNodes(1, { ...suiteEnv, PRESENCE_LIST_MAX: "3" });
  return { nodes, teardown: () => stopNodes(nodes) };
});
