import { PRESENCE_DELTA_PROTOCOL } from "@chat/protocol";
import { type RedisHandle, startRedis } from "@chat/testkit";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisPresenceStore } from "../src/stores/redis-presence-store.js";
import { chatSuite, data, suiteEnv } from "./support/chat-suite.js";
import { startNodes, stopNodes } from "./support/nodes.js";
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
