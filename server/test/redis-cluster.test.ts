import { type RedisClusterHandle, startRedisCluster, waitFor } from "@chat/testkit";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roomKeys } from "../src/stores/keys.js";
import { RedisMessageStore } from "../src/stores/redis-message-store.js";
import { RedisPresenceStore } from "../src/stores/redis-presence-store.js";
import { RedisRoomDirectory, withRoomDirectory } from "../src/stores/room-directory.js";
import { chatSuite, data, suiteEnv } from "./support/chat-suite.js";
import { startNodes, stopNodes } from "./support/nodes.js";
import { RawClient, until } from "./support/raw-client.js";
import { storedStrings, storeSuite, suiteLimits } from "./support/store-suite.js";
import { windowLimitSuite } from "./support/window-limit-suite.js";

/** The same stores, handlers and pods on a real 3-master Redis Cluster (REDIS_CLUSTER_NODES). */
let cluster: RedisClusterHandle;
let client: Cluster;
const seeds = () => cluster.seeds.split(",").map((s) => ({ host: "127.0.0.1", port: Number(s.split(":")[1]) }));
beforeAll(async () => {
  cluster = await startRedisCluster(3);
  client = new Cluster(seeds());
}, 60_000);
afterAll(async () => {
  client?.disconnect();
  await cluster?.destroy();
});

let prefix = 0;
storeSuite(
  "redis cluster",
  async (limits = suiteLimits) => {
    const p = `c${++prefix}-`;
    return {
      stores: withRoomDirectory(
        new RedisMessageStore(client, limits),
        new RedisPresenceStore(client, limits),
        new RedisRoomDirectory(client),
        (err) => {
          throw err;
        },
      ),
      room: (name) => `${p}${name}`,
      now: Date.now,
      stored: (room) => storedStrings(client, room),
    };
  },
  (ms) => new Promise((r) => setTimeout(r, ms)),
);

// Each pod its own Cluster client; there every address' count travels in a pipeline of its own.
windowLimitSuite("a Redis Cluster", async () => {
  const pod = new Cluster(seeds(), { enableOfflineQueue: false });
  await new Promise((resolve) => pod.once("ready", resolve));
  return pod;
});

chatSuite("three pods on a Redis Cluster", async () => {
  const nodes = await startNodes(3, { ...suiteEnv, REDIS_CLUSTER_NODES: cluster.seeds });
  return { nodes, teardown: () => stopNodes(nodes), stored: (room) => storedStrings(client, room) };
});

/** Which master (by port) owns a room's keys. */
async function ownerOf(room: string): Promise<number> {
  const slot = await client.cluster("KEYSLOT", roomKeys(room).seq);
  const slots = (await client.cluster("SLOTS")) as unknown as [number, number, [string, number]][];
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  if (!range) throw new Error(`no owner for slot ${slot}`);
  return range[2][1];
}

describe("rooms across shards", () => {
  it("spreads rooms, their keys and their pub/sub channels over different masters", async () => {
    const nodes = await startNodes(2, { REDIS_CLUSTER_NODES: cluster.seeds });
    try {
      const rooms = Array.from({ length: 12 }, (_, i) => `spread-${i}`);
      const owners = new Map<string, number>();
      for (const r of rooms) owners.set(r, await ownerOf(r));
      expect(new Set(owners.values()).size).toBe(3);

      const a = await RawClient.connect((nodes[0] ?? { url: "" }).url);
      const b = await RawClient.connect((nodes[1] ?? { url: "" }).url);
      for (const r of rooms) {
        data(await a.join(r));
        data(await b.join(r));
        data(await a.send(r, `hello ${r}`));
      }
      await until(b, "every room's message", () => rooms.every((r) => b.seqs(r).includes(1)));
      for (const port of cluster.ports) {
        const node = new Redis(port, "127.0.0.1");
        const mine = rooms.filter((r) => owners.get(r) === port);
        // Each room lives on its owner only: its history and its adapter channel (same hash tag).
        const logs = await node.keys("chat:{room:spread-*}:log");
        expect(logs.sort()).toEqual(mine.map((r) => roomKeys(r).log).sort());
        const channels = (await node.call("PUBSUB", "SHARDCHANNELS")) as string[];
        for (const r of mine) expect(channels.some((c) => c.includes(r))).toBe(true);
        node.disconnect();
      }
      a.close();
      b.close();
    } finally {
      await stopNodes(nodes);
    }
  });

  it("keeps the other shards serving while one master restarts, and resumes after", async () => {
    const nodes = await startNodes(2, { REDIS_CLUSTER_NODES: cluster.seeds });
    const clients: RawClient[] = [];
    try {
      const victimPort = cluster.ports[0] as number;
      const candidates = Array.from({ length: 30 }, (_, i) => `failover-${i}`);
      const onVictim: string[] = [];
      const elsewhere: string[] = [];
      for (const r of candidates) ((await ownerOf(r)) === victimPort ? onVictim : elsewhere).push(r);
      const hit = onVictim[0] as string;
      const safe = elsewhere.slice(0, 2);
      const a = await RawClient.connect((nodes[0] ?? { url: "" }).url, { name: "a" });
      const b = await RawClient.connect((nodes[1] ?? { url: "" }).url, { name: "b" });
      clients.push(a, b);
      for (const r of [hit, ...safe]) {
        data(await a.join(r));
        data(await b.join(r));
      }
      const acked = [
        data(await a.send(hit, "before")),
        ...(await Promise.all(safe.map(async (r) => data(await a.send(r, "before"))))),
      ];

      await cluster.stopNode(0);
      // The other shards keep storing and broadcasting.
      for (const r of safe) acked.push(data(await b.send(r, "during")));
      await until(a, "during on the safe rooms", () => safe.every((r) => a.seqs(r).includes(2)));
      const down = await a.send(hit, "lost shard", "failover-retry-1");
      expect(down).toMatchObject({ ok: false, error: { code: "unavailable" } });

      await cluster.startNode(0);
      const retried = await waitFor(
        "the restarted shard takes writes",
        async () => {
          const res = await a.send(hit, "lost shard", "failover-retry-1");
          return res.ok ? res.data : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      acked.push(retried);
      await until(b, "the retried message", () => b.seqs(hit).includes(retried.seq), 10_000);
      for (const m of acked) {
        const h = data(await b.join(m.room, 0));
        expect(h.messages.filter((x) => x.id === m.id)).toHaveLength(1);
      }
    } finally {
      for (const c of clients) c.close();
      await stopNodes(nodes);
    }
  });
});
