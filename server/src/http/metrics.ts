import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Lifecycle } from "../lifecycle/lifecycle.js";

/**
 * How often the event-loop delay is sampled. Each sample is a timer waking the process: at
 * prom-client's default of 10 ms that was 5 ms of CPU a second, most of what an idle pod spent
 * above stock Socket.IO. At 50 ms a stall of 50 ms or more is always seen and a 15 s scrape still
 * has 300 samples for its p99.
 */
const LOOP_SAMPLE_MS = 50;

/**
 * Prometheus metrics. Deliveries are counted once per message per pod (see delivery-metrics.ts),
 * so metrics stay off the fan-out hot path.
 */
export function createMetrics(lifecycle: Lifecycle) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: LOOP_SAMPLE_MS });
  let delivered = 0;
  let accepted = 0;

  // One event-loop delay sampler, the default metrics', and our gauge reports its figures: the
  // registry collects in registration order, so by the time this gauge is collected the default
  // metrics have set them for this scrape.
  const loopGauge = (name: string) => async () =>
    ((await registry.getSingleMetric(name)?.get())?.values[0]?.value as number | undefined) ?? 0;
  const loopP50 = loopGauge("nodejs_eventloop_lag_p50_seconds");
  const loopP99 = loopGauge("nodejs_eventloop_lag_p99_seconds");
  const loopMax = loopGauge("nodejs_eventloop_lag_max_seconds");

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
    async collect() {
      const [p50, p99, max] = await Promise.all([loopP50(), loopP99(), loopMax()]);
      this.set({ quantile: "0.5" }, p50);
      this.set({ quantile: "0.99" }, p99);
      this.set({ quantile: "1" }, max);
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
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
