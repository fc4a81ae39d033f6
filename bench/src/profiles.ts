import type { Kind } from "./gen/messages.js";

export interface Profile {
  name: string;
  targets: Kind[];
  generators: number;
  capacity: {
    /** Idle connections per pod. */
    perPod: number;
    pods: number;
    concurrency: number;
    settleMs: number;
  };
  fanout: {
    subscribers: number;
    pods: number;
    /** Senders per generator process (they join the room too). */
    sendersPerGen: number;
    /** msg/s into the room, stepped up until p99 passes maxP99Ms (or the list ends). */
    rates: number[];
    warmupMs: number;
    stepMs: number;
    maxP99Ms: number;
    pad: number;
  };
  /** Join storms: sockets over `pods` pods joining one room; the first size is the target's. */
  join: { sizes: number[]; pods: number; concurrency: number };
  rollout: {
    clients: number;
    rooms: number;
    pods: number;
    /** msg/s into all rooms together. */
    rate: number;
    beforeMs: number;
    afterMs: number;
    drainWindowMs: number;
    handoverTimeoutMs: number;
    pad: number;
  };
}

export const PROFILES: Record<string, Profile> = {
  quick: {
    name: "quick",
    targets: ["ours", "stock", "ceiling"],
    generators: 2,
    capacity: { perPod: 2000, pods: 2, concurrency: 50, settleMs: 3000 },
    fanout: {
      subscribers: 1000,
      pods: 2,
      sendersPerGen: 2,
      rates: [20, 40, 80, 120, 160, 240, 320],
      warmupMs: 1000,
      stepMs: 4000,
      maxP99Ms: 200,
      pad: 64,
    },
    join: { sizes: [1000], pods: 2, concurrency: 10 },
    rollout: {
      clients: 1000,
      rooms: 20,
      pods: 2,
      rate: 50,
      beforeMs: 8000,
      afterMs: 5000,
      drainWindowMs: 3000,
      handoverTimeoutMs: 5000,
      pad: 48,
    },
  },
  full: {
    name: "full",
    targets: ["ours", "stock", "ceiling"],
    generators: 2,
    capacity: { perPod: 10_000, pods: 2, concurrency: 100, settleMs: 5000 },
    fanout: {
      subscribers: 1000,
      pods: 2,
      sendersPerGen: 2,
      rates: [20, 40, 60, 80, 100, 120, 160, 200, 240, 320, 400, 480],
      warmupMs: 2000,
      stepMs: 10_000,
      maxP99Ms: 200,
      pad: 64,
    },
    // 5,000: the large room.
    join: { sizes: [1000, 5000], pods: 2, concurrency: 10 },
    rollout: {
      clients: 1000,
      rooms: 20,
      pods: 2,
      rate: 50,
      beforeMs: 20_000,
      afterMs: 10_000,
      drainWindowMs: 10_000,
      handoverTimeoutMs: 5000,
      pad: 48,
    },
  },
  /** Seconds per scenario: the test suite's smoke run. */
  smoke: {
    name: "smoke",
    targets: ["ours", "stock", "ceiling"],
    generators: 1,
    capacity: { perPod: 50, pods: 1, concurrency: 20, settleMs: 300 },
    fanout: {
      subscribers: 40,
      pods: 2,
      sendersPerGen: 2,
      rates: [20],
      warmupMs: 300,
      stepMs: 700,
      maxP99Ms: 200,
      pad: 16,
    },
    join: { sizes: [40], pods: 2, concurrency: 10 },
    rollout: {
      clients: 40,
      rooms: 4,
      pods: 1,
      rate: 20,
      beforeMs: 1000,
      afterMs: 500,
      drainWindowMs: 500,
      handoverTimeoutMs: 2000,
      pad: 16,
    },
  },
};
