import { startRedisSentinel } from "@chat/testkit";
import { Redis } from "ioredis";
import { RedisMessageStore } from "../../src/stores/redis-message-store.js";

export interface AckCost {
  replicas: number;
  /** One append at a time: what a single sender waits. */
  p50Ms: number;
  p99Ms: number;
  /** `concurrency` appends in flight on the store's one connection. */
  perSecond: number;
}

/**
 * What waiting for a replica costs a send, measured on the store itself (no sockets): appends
 * against a Sentinel-managed master with two replicas on loopback, without and with WAIT.
 */
export async function measureAckCost({
  sequential = 2000,
  concurrent = 10_000,
  concurrency = 64,
} = {}): Promise<AckCost[]> {
  const rig = await startRedisSentinel();
  const redis = new Redis(await rig.master(), "127.0.0.1");
  try {
    const limits = { historyLimit: 1000, historyPage: 50, idempotencyTtlMs: 60_000, roomIdleTtlMs: 3_600_000 };
    const out: AckCost[] = [];
    for (const replicas of [0, 1, 2]) {
      const store = new RedisMessageStore(redis, limits, { replicas: () => replicas, timeoutMs: 1000 });
      const author = { id: "u1", name: "bench" };
      let n = 0;
      const append = () =>
        store.append({
          room: `cost-${replicas}`,
          author,
          text: "x".repeat(100),
          clientId: `c-${replicas}-${++n}-xxxx`,
        });
      for (let i = 0; i < 200; i++) await append(); // warm-up
      const latencies: number[] = [];
      for (let i = 0; i < sequential; i++) {
        const t = performance.now();
        await append();
        latencies.push(performance.now() - t);
      }
      latencies.sort((a, b) => a - b);
      const started = performance.now();
      let left = concurrent;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (left-- > 0) await append();
        }),
      );
      out.push({
        replicas,
        p50Ms: Number((latencies[Math.floor(sequential / 2)] ?? 0).toFixed(3)),
        p99Ms: Number((latencies[Math.floor(sequential * 0.99)] ?? 0).toFixed(3)),
        perSecond: Math.round(concurrent / ((performance.now() - started) / 1000)),
      });
    }
    return out;
  } finally {
    redis.disconnect();
    await rig.destroy();
  }
}
