import { monitorEventLoopDelay } from "node:perf_hooks";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Lifecycle } from "../lifecycle/lifecycle.js";

/**
 * Prometheus metrics. Deliveries are counted once per message per pod (see delivery-metrics.ts),
 * so metrics stay off the fan-out hot path.
 */
export function createMetrics(lifecycle: Lifecycle) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let delivered = 0;
  let accepted = 0;

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();

  new Gauge({
    name: "chat_connected_sockets",
    help: "Engine.IO connections open on this pod (the autoscaling input)",
    registers: [registry],
    collect() {
      this.set(lifecycle.connections);
    },
  });
  new Gauge({
    name: "chat_draining",
    help: "1 while this pod is leaving (preStop or drain), else 0",
    registers: [registry],
    collect() {
      this.set(lifecycle.leaving ? 1 : 0);
    },
  });
  new Gauge({
    name: "chat_ready",
    help: "1 when /readyz answers 200",
    registers: [registry],
    collect() {
      this.set(lifecycle.readiness().ready ? 1 : 0);
    },
  });
  new Gauge({
    name: "chat_redis_up",
    help: "1 when the Redis connection is ready; 0 when down; absent in-memory mode reports 1",
    registers: [registry],
    collect() {
      this.set(lifecycle.readiness().redis === "down" ? 0 : 1);
    },
  });
  new Gauge({
    name: "chat_event_loop_lag_seconds",
    help: "Event-loop delay over the last scrape interval",
    labelNames: ["quantile"],
    registers: [registry],
    collect() {
      this.set({ quantile: "0.5" }, loop.percentile(50) / 1e9);
      this.set({ quantile: "0.99" }, loop.percentile(99) / 1e9);
      this.set({ quantile: "1" }, loop.max / 1e9);
      loop.reset();
    },
  });
  const deliveredTotal = new Counter({
    name: "chat_messages_delivered_total",
    help: "Chat messages written to sockets on this pod",
    registers: [registry],
    collect() {
      if (delivered > 0) this.inc(delivered);
      delivered = 0;
    },
  });
  void deliveredTotal;

  return {
    registry,
    handshakes: new Counter({
      name: "chat_handshakes_total",
      help: "Connection attempts by result (accepted|refused) and reason",
      labelNames: ["result", "reason"] as const,
      registers: [registry],
      collect() {
        if (accepted > 0) this.inc({ result: "accepted", reason: "ok" }, accepted);
        accepted = 0;
      },
    }),
    received: new Counter({
      name: "chat_messages_received_total",
      help: "message:send events by outcome (stored|duplicate|rejected|failed)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    deliveryLatency: new Histogram({
      name: "chat_delivery_latency_seconds",
      help: "From storage (Redis clock) to the broadcast being written on this pod",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    storeLatency: new Histogram({
      name: "chat_store_latency_seconds",
      help: "Time to store a message and get its seq (the ack waits for it)",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    backlogPackets: new Gauge({
      name: "chat_outbound_backlog_packets",
      help: "Packets queued for clients that have not read them yet, all sockets (sampled each second)",
      registers: [registry],
    }),
    backlogMaxBytes: new Gauge({
      name: "chat_outbound_backlog_max_bytes",
      help: "Largest WebSocket send buffer of one socket (sampled each second)",
      registers: [registry],
    }),
    slowConsumers: new Counter({
      name: "chat_slow_consumers_disconnected_total",
      help: "Sockets cut off because their client stopped reading and the backlog passed the limit",
      registers: [registry],
    }),
    countDeliveries(n: number) {
      delivered += n;
    },
    /** An accepted handshake: added to chat_handshakes_total at the scrape, off the handshake path. */
    countAccepted() {
      accepted++;
    },
    stop() {
      loop.disable();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
