import type { ChatMessage } from "@chat/protocol";
import {
  ChatBot,
  delay,
  getJson,
  type PodHandle,
  type RedisClusterHandle,
  type RedisSentinelHandle,
  startPod,
  startRedisCluster,
  startRedisSentinel,
  waitFor,
} from "@chat/testkit";
import { Cluster } from "ioredis";
import { roomKeys } from "../../src/stores/keys.js";
import { RawClient } from "../support/raw-client.js";

/**
 * One failover under chat traffic: two pods on Sentinel (or on a Redis Cluster with a replica per
 * master), bots chatting on both, SIGKILL of the master holding the rooms, and then the books:
 * was every acknowledged message kept exactly once, does every client that resumes have them,
 * does fan-out across the pods work again, how long were sends refused.
 */
export type Topology = "sentinel" | "cluster";

export interface FailoverOptions {
  topology: Topology;
  /** REDIS_MIN_REPLICAS_ACK for the pods; undefined = the server's default for the topology. */
  replicasAck?: number;
  /** Chatting before the kill, and after the pods are back. */
  chatMs?: number;
  bots?: number;
  rooms?: string[];
  log?: (line: string) => void;
}

export interface FailoverReport {
  topology: Topology;
  replicasAck: string;
  /** What the pods' /readyz said they use (REDIS_MIN_REPLICAS_ACK as resolved) and their mode. */
  podReplicasAck: number;
  mode: string;
  acknowledged: number;
  lost: number;
  duplicated: number;
  /** Seqs acknowledged twice for different messages (a new master re-issued a lost seq). */
  reusedSeqs: number;
  /** Clients that, after resuming, miss an acknowledged message. */
  clientsMissing: number;
  /** Messages sent on one pod after the failover that bots on the other pod received live. */
  crossPodAfter: { aToB: number; bToA: number };
  /** Kill -> the store names a new master that takes writes. */
  failoverMs: number;
  /** Longest stretch without an acknowledged send in a room, from the kill on. */
  sendsRefusedMs: number;
  /** Longest /readyz 503 stretch of a pod, and whether it was seen at all. */
  unreadyMs: number;
  /** Median acknowledged-send latency before the kill (ms), as the bots saw it. */
  ackP50Ms: number;
}

interface Rig {
  env: Record<string, string>;
  /** Kill the master of `rooms`' data; resolves once a new one has taken over. */
  killMaster(): Promise<void>;
  failedOver(): Promise<void>;
  /** What the orchestrator would do next: restart the killed node, which rejoins as a replica. */
  restartKilled?(): Promise<void>;
  destroy(): Promise<void>;
}

async function sentinelRig(): Promise<Rig> {
  const s: RedisSentinelHandle = await startRedisSentinel();
  let old = 0;
  return {
    env: { REDIS_SENTINELS: s.sentinels, REDIS_SENTINEL_MASTER: s.masterName },
    async killMaster() {
      old = await s.killMaster();
    },
    async failedOver() {
      await s.waitForFailover(old);
    },
    destroy: () => s.destroy(),
  };
}

async function clusterRig(rooms: string[]): Promise<Rig> {
  const c: RedisClusterHandle = await startRedisCluster(3, { replicas: 1 });
  const client = new Cluster(c.ports.slice(0, 3).map((port) => ({ host: "127.0.0.1", port })));
  const ownerOf = async (room: string) => {
    const slot = await client.cluster("KEYSLOT", roomKeys(room).seq);
    const slots = (await client.cluster("SLOTS")) as unknown as [number, number, [string, number]][];
    return slots.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
  };
  let old: number | undefined;
  return {
    env: { REDIS_CLUSTER_NODES: c.seeds },
    async killMaster() {
      old = await ownerOf(rooms[0] as string);
      await c.stopNode(c.ports.indexOf(old as number), true);
    },
    async failedOver() {
      await waitFor(
        "a replica owns the rooms",
        async () => {
          const owner = await ownerOf(rooms[0] as string).catch(() => old);
          return owner !== undefined && owner !== old;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    },
    // With one replica per master the promoted one has none left: with REDIS_MIN_REPLICAS_ACK=1
    // its rooms refuse sends until the old master is back (as its replica), as a StatefulSet
    // would restart it.
    async restartKilled() {
      if (old !== undefined) await c.startNode(c.ports.indexOf(old));
    },
    async destroy() {
      client.disconnect();
      await c.destroy();
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function runFailover(opts: FailoverOptions): Promise<FailoverReport> {
  const rooms = opts.rooms ?? ["failover-a", "failover-b"];
  const chatMs = opts.chatMs ?? 2000;
  const log = opts.log ?? (() => {});
  const rig = opts.topology === "sentinel" ? await sentinelRig() : await clusterRig(rooms);
  const pods: PodHandle[] = [];
  const bots: ChatBot[] = [];
  try {
    const env = {
      ...rig.env,
      SESSION_SECRET: "failover-test-secret-0123456789",
      HISTORY_LIMIT: "100000",
      REDIS_REPLICA_ACK_TIMEOUT_MS: "500",
      ...(opts.replicasAck === undefined ? {} : { REDIS_MIN_REPLICAS_ACK: String(opts.replicasAck) }),
    };
    for (const name of ["pod-a", "pod-b"]) pods.push(await startPod({ name, env }));
    const [a, b] = pods as [PodHandle, PodHandle];
    const readyz = (await getJson(`${a.url}/readyz`)).body as { mode: string; replicasAck: number };
    const count = opts.bots ?? 4;
    for (let i = 0; i < count; i++) {
      const pod = i % 2 === 0 ? a : b;
      bots.push(new ChatBot({ url: () => pod.url, name: `bot-${i}`, rooms, ackTimeoutMs: 2000 }));
    }
    await Promise.all(bots.map((bot) => bot.start()));

    // Readiness as the kubelet would see it, polled all along.
    const unready = new Map<string, { since?: number; longest: number; seen: boolean }>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const pod of pods) {
          const s = unready.get(pod.name) ?? { longest: 0, seen: false };
          const status = (await getJson(`${pod.url}/readyz`).catch(() => ({ status: 0 }))).status;
          if (status !== 200) {
            s.since ??= Date.now();
            s.seen = true;
          } else if (s.since !== undefined) {
            s.longest = Math.max(s.longest, Date.now() - s.since);
            s.since = undefined;
          }
          unready.set(pod.name, s);
        }
        await delay(50);
      }
    })();

    // Every bot sends one message at a time, as a user would; send() retries until acknowledged.
    const acks: { at: number; message: ChatMessage; bot: number; latency: number }[] = [];
    let chatting = true;
    let n = 0;
    const loops = bots.map(async (bot, i) => {
      while (chatting) {
        const room = rooms[n % rooms.length] as string;
        const started = Date.now();
        const message = await bot.send(room, `m${++n} from bot-${i}`);
        acks.push({ at: Date.now(), message, bot: i, latency: Date.now() - started });
        await delay(10);
      }
    });

    await delay(chatMs);
    const before = acks.length;
    if (before === 0) throw new Error("no message was acknowledged before the kill");
    const ackP50Ms = median(acks.map((x) => x.latency));
    const killedAt = Date.now();
    await rig.killMaster();
    log(`killed the master after ${before} acknowledged messages`);
    await rig.failedOver();
    const failoverMs = Date.now() - killedAt;
    log(`failed over in ${failoverMs} ms`);
    if (rig.restartKilled) {
      await rig.restartKilled();
      log(`killed node restarted ${Date.now() - killedAt} ms after the kill`);
    }
    await waitFor("a send acknowledged after the failover", () => acks.some((x) => x.at > killedAt + failoverMs), {
      timeoutMs: 30_000,
    });
    const backAt = Date.now();
    await delay(chatMs);
    chatting = false;
    await Promise.race([Promise.all(loops), delay(20_000)]);
    if (bots.some((bot) => bot.pending > 0)) throw new Error("sends still pending 20 s after the chat stopped");

    // Let every bot catch up: a last message per bot reaches the others live, and any hole
    // before it is filled from history.
    for (const [i, bot] of bots.entries()) {
      for (const room of rooms) {
        const message = await bot.send(room, `last from bot-${i}`);
        acks.push({ at: Date.now(), message, bot: i, latency: 0 });
      }
    }
    const lastSeq = new Map(
      rooms.map((r) => [r, Math.max(...acks.filter((x) => x.message.room === r).map((x) => x.message.seq))]),
    );
    await waitFor(
      "every bot caught up",
      () => bots.every((bot) => rooms.every((r) => bot.cursor(r) >= (lastSeq.get(r) ?? 0))),
      {
        timeoutMs: 15_000,
      },
    ).catch(() => log("some bots did not catch up"));
    polling = false;
    await poller;

    // The books, against what a client resuming from scratch gets.
    // A raw join from seq 0 reads the whole stored history (a new ChatBot would get the latest page only).
    const resumer = await RawClient.connect(b.url, { name: "resumer" });
    const stored = new Map<string, ChatMessage[]>();
    try {
      for (const room of rooms) {
        const res = await resumer.join(room, 0);
        if (!res.ok) throw new Error(`resumer could not read ${room}: ${res.error.message}`);
        for (const m of res.data.messages) stored.set(m.clientId, [...(stored.get(m.clientId) ?? []), m]);
      }
    } finally {
      resumer.close();
    }
    const ackedIds = new Set(acks.map((x) => x.message.clientId));
    const lost = [...ackedIds].filter((id) => !stored.has(id)).length;
    const duplicated = [...stored.values()].filter((ms) => ms.length > 1).length;
    const bySeq = new Map<string, Set<string>>();
    for (const { message } of acks) {
      const key = `${message.room}:${message.seq}`;
      bySeq.set(key, (bySeq.get(key) ?? new Set()).add(message.clientId));
    }
    const reusedSeqs = [...bySeq.values()].filter((s) => s.size > 1).length;
    const clientsMissing = bots.filter((bot) =>
      acks.some(({ message }) => {
        const kept = stored.get(message.clientId)?.[0];
        return kept !== undefined && bot.known.get(message.room)?.get(kept.seq)?.clientId !== message.clientId;
      }),
    ).length;

    // Live fan-out after the failover: sent through one pod, broadcast to the bots on the other.
    const onA = (i: number) => i % 2 === 0;
    const after = acks.filter((x) => x.at > backAt);
    const received = (i: number, m: ChatMessage) => (bots[i]?.deliveries.get(m.id) ?? 0) > 0;
    const crossPodAfter = {
      aToB: after.filter((x) => onA(x.bot) && bots.some((_, j) => !onA(j) && j < count && received(j, x.message)))
        .length,
      bToA: after.filter((x) => !onA(x.bot) && bots.some((_, j) => onA(j) && j < count && received(j, x.message)))
        .length,
    };

    // Per room: on a Cluster the rooms of the other shards never stop.
    let sendsRefusedMs = 0;
    for (const room of rooms) {
      let prev = killedAt;
      for (const at of acks
        .filter((x) => x.message.room === room && x.at >= killedAt)
        .map((x) => x.at)
        .sort((p, q) => p - q)) {
        sendsRefusedMs = Math.max(sendsRefusedMs, at - prev);
        prev = at;
      }
    }
    const unreadyMs = Math.max(...[...unready.values()].map((s) => (s.seen ? Math.max(s.longest, 1) : 0)));
    return {
      topology: opts.topology,
      replicasAck: opts.replicasAck === undefined ? "default" : String(opts.replicasAck),
      podReplicasAck: readyz.replicasAck,
      mode: readyz.mode,
      acknowledged: ackedIds.size,
      lost,
      duplicated,
      reusedSeqs,
      clientsMissing,
      crossPodAfter,
      failoverMs,
      sendsRefusedMs,
      unreadyMs,
      ackP50Ms,
    };
  } finally {
    for (const bot of bots) bot.close();
    await Promise.all(pods.map((p) => p.stop("SIGTERM", 5000)));
    await rig.destroy();
  }
}
