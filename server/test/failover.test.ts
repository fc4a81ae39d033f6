import {
  getJson,
  type PodHandle,
  type RedisSentinelHandle,
  startPod,
  startRedisCluster,
  startRedisSentinel,
  waitFor,
} from "@chat/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisMessageStore } from "../src/stores/redis-message-store.js";
import { RedisPresenceStore } from "../src/stores/redis-presence-store.js";
import { RedisRoomDirectory, withRoomDirectory } from "../src/stores/room-directory.js";
import { runFailover } from "./failover/run.js";
import { data } from "./support/chat-suite.js";
import { RawClient } from "./support/raw-client.js";
import { storeSuite, suiteLimits } from "./support/store-suite.js";

/**
 * Redis high availability on real processes. The full runs (several kills, both topologies,
 * REDIS_MIN_REPLICAS_ACK=0 for comparison) are `pnpm --filter @chat/server failover`.
 */
const SECRET = "failover-test-secret-0123456789";

describe("a Sentinel failover under chat traffic", () => {
  it("keeps every acknowledged message exactly once, and the pods recover by themselves", async () => {
    const report = await runFailover({ topology: "sentinel", chatMs: 1500, bots: 4 });
    console.log(`sentinel failover: ${JSON.stringify(report)}`);
    expect(report).toMatchObject({ mode: "sentinel", podReplicasAck: 1 });
    expect(report.acknowledged).toBeGreaterThan(50);
    expect(report).toMatchObject({ lost: 0, duplicated: 0, reusedSeqs: 0, clientsMissing: 0 });
    // Fan-out across the two pods works again: sent on one, received live on the other.
    expect(report.crossPodAfter.aToB).toBeGreaterThan(0);
    expect(report.crossPodAfter.bToA).toBeGreaterThan(0);
    // No master reachable = not ready; and back to ready without a restart.
    expect(report.unreadyMs).toBeGreaterThan(0);
  }, 90_000);
});

describe("replica acknowledgement", () => {
  let rig: RedisSentinelHandle;
  let pod: PodHandle;
  let direct: Redis;
  beforeAll(async () => {
    rig = await startRedisSentinel();
    direct = new Redis(await rig.master(), "127.0.0.1");
    pod = await startPod({
      env: { REDIS_SENTINELS: rig.sentinels, SESSION_SECRET: SECRET, REDIS_REPLICA_ACK_TIMEOUT_MS: "200" },
    });
  }, 60_000);
  afterAll(async () => {
    direct?.disconnect();
    await pod?.stop("SIGTERM", 5000);
    await rig?.destroy();
  });

  // Every store behaviour (idempotency, races, trimming) holds with each write waiting for replicas.
  let prefix = 0;
  storeSuite(
    "redis master with WAIT for 2 replicas",
    async (limits = suiteLimits) => {
      const p = `w${++prefix}-`;
      return {
        stores: withRoomDirectory(
          new RedisMessageStore(direct, limits, { replicas: () => 2, timeoutMs: 1000 }),
          new RedisPresenceStore(direct, limits),
          new RedisRoomDirectory(direct),
          (err) => {
            throw err;
          },
        ),
        room: (name) => `${p}${name}`,
        now: Date.now,
      };
    },
    (ms) => new Promise((r) => setTimeout(r, ms)),
  );

  it("says in /readyz how it keeps its state and how many replicas confirm a send", async () => {
    const { status, body } = await getJson(`${pod.url}/readyz`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ ready: true, mode: "sentinel", replicasAck: 1, redis: "up" });
  });

  it("answers unavailable when no replica confirms in time; the retry with the same clientId is stored once", async () => {
    const client = await RawClient.connect(pod.url, { name: "acker" });
    try {
      data(await client.join("acks"));
      const first = data(await client.send("acks", "before", "ack-one-1"));
      const master = await rig.master();
      const replicas = [...rig.nodes.values()].filter((n) => n.port !== master);
      for (const r of replicas) r.signal("SIGSTOP");
      let refused: Awaited<ReturnType<RawClient["send"]>>;
      try {
        refused = await client.send("acks", "while the replicas are frozen", "ack-two-2");
      } finally {
        for (const r of replicas) r.signal("SIGCONT");
      }
      expect(refused).toMatchObject({ ok: false, error: { code: "unavailable" } });
      // The master did store it; the outbox's retry finds the idempotency record.
      const retried = data(await client.send("acks", "while the replicas are frozen", "ack-two-2"));
      expect(retried.seq).toBe(first.seq + 1);
      const history = data(await client.join("acks", 0)).messages;
      expect(history.map((m) => m.clientId)).toEqual(["ack-one-1", "ack-two-2"]);
    } finally {
      client.close();
    }
  });
});

/**
 * The master acknowledges a message that no replica can get, then dies: the case asynchronous
 * replication loses and WAIT exists for. Deterministic, unlike a kill at a random moment.
 */
describe("a master that dies with a write its replicas never saw", () => {
  const send = async (client: RawClient, text: string, clientId: string) =>
    waitFor(
      `${clientId} acknowledged`,
      async () => {
        const res = await client.send("cut", text, clientId);
        return res.ok ? res.data : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );

  it.each([
    ["0", "is acknowledged, then lost, and its seq goes to another message"],
    ["1", "is refused (unavailable); its retry after the failover is stored once"],
  ])(
    "with REDIS_MIN_REPLICAS_ACK=%s it %s",
    async (acks) => {
      const rig = await startRedisSentinel();
      const pod = await startPod({
        env: {
          REDIS_SENTINELS: rig.sentinels,
          SESSION_SECRET: SECRET,
          REDIS_MIN_REPLICAS_ACK: acks,
          REDIS_REPLICA_ACK_TIMEOUT_MS: "300",
        },
      });
      const client = await RawClient.connect(pod.url, { name: "cut" });
      try {
        data(await client.join("cut"));
        data(await client.send("cut", "kept", "cut-kept-1"));
        const master = await rig.master();
        const replicas = [...rig.nodes.values()].filter((n) => n.port !== master);
        // Both replicas have everything so far…
        const offset = async (port: number, field: string) => {
          const node = new Redis(port, "127.0.0.1");
          const info = await node.info("replication").finally(() => node.disconnect());
          const value = Number(new RegExp(`${field}:(\\d+)`).exec(info)?.[1]);
          if (!Number.isFinite(value)) throw new Error(`no ${field} in INFO of ${port}`);
          return value;
        };
        await waitFor("replicas in step", async () => {
          const target = await offset(master, "master_repl_offset");
          for (const r of replicas) if ((await offset(r.port, "slave_repl_offset")) < target) return false;
          return true;
        });
        // …then they are cut off: the master takes a password they do not know and drops their
        // links (connections already open stay authenticated; a frozen replica would still find
        // the stream in its socket buffer). One more send, and the master dies.
        const direct = new Redis(master, "127.0.0.1");
        await direct.config("SET", "requirepass", "the-replicas-do-not-know-it");
        await direct.client("KILL", "TYPE", "replica");
        direct.disconnect();
        const cut = await client.send("cut", "cut off", "cut-off-1");
        rig.nodes.get(master)?.signal("SIGKILL");
        await rig.waitForFailover(master, { replicas: 1 });
        if (acks === "0") {
          const acked = data(cut);
          const after = await send(client, "after", "cut-after-1");
          const history = data(await client.join("cut", 0)).messages;
          expect(history.map((m) => m.clientId)).toEqual(["cut-kept-1", "cut-after-1"]);
          expect(after.seq).toBe(acked.seq);
        } else {
          expect(cut).toMatchObject({ ok: false, error: { code: "unavailable" } });
          // The outbox's retry: stored on the new master (which never had it), exactly once.
          await send(client, "cut off", "cut-off-1");
          await send(client, "after", "cut-after-1");
          const history = data(await client.join("cut", 0)).messages;
          expect(history.map((m) => m.clientId)).toEqual(["cut-kept-1", "cut-off-1", "cut-after-1"]);
        }
      } finally {
        client.close();
        await pod.stop("SIGTERM", 5000);
        await rig.destroy();
      }
    },
    60_000,
  );
});

describe("replica acknowledgement on a Redis Cluster", () => {
  it("defaults to one replica when every master has one, and to none without", async () => {
    for (const [replicas, expected] of [
      [1, 1],
      [0, 0],
    ] as const) {
      const cluster = await startRedisCluster(3, { replicas });
      const pod = await startPod({ env: { REDIS_CLUSTER_NODES: cluster.seeds, SESSION_SECRET: SECRET } });
      try {
        const { body } = await getJson(`${pod.url}/readyz`);
        expect(body).toMatchObject({ ready: true, mode: "cluster", replicasAck: expected });
      } finally {
        await pod.stop("SIGTERM", 5000);
        await cluster.destroy();
      }
    }
  }, 60_000);
});

describe("configuration mistakes stop the pod (exit 78)", () => {
  const exitOf = async (env: Record<string, string>) => {
    const pod = await startPod({ env, waitReady: false });
    return { code: await pod.exited, output: pod.proc.output() };
  };

  it("a misspelt REDIS_URL, naming the variable it should be", async () => {
    const { code, output } = await exitOf({ REDIS_ULR: "redis://127.0.0.1:6379", SESSION_SECRET: SECRET });
    expect(code).toBe(78);
    expect(output).toMatch(/REDIS_ULR: not a variable of this server \(did you mean REDIS_URL\?\)/);
  });

  it("two ways to reach Redis at once", async () => {
    const { code, output } = await exitOf({
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_SENTINELS: "127.0.0.1:26379",
      SESSION_SECRET: SECRET,
    });
    expect(code).toBe(78);
    expect(output).toMatch(/REDIS_URL, REDIS_SENTINELS: set only one of/);
  });
});
