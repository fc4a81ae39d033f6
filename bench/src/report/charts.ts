import { lineChart } from "@chat/rig";
import type { FanoutResult } from "../scenarios/fanout.js";
import type { RolloutResult } from "../scenarios/rollout.js";

const COLORS: Record<string, string> = { ours: "#1f6feb", stock: "#d1242f", ceiling: "#2da44e" };

/** Deliveries/s against p99, one line per target, each point a rate step. */
export function fanoutChart(results: FanoutResult[], maxP99Ms: number): string {
  return lineChart({
    title: "Fan-out: deliveries/s vs p99 delivery delay (1,000 subscribers, 2 pods)",
    xLabel: "deliveries per second (all subscribers)",
    yLabel: "p99 delay, ms",
    logY: true,
    hlines: [{ y: maxP99Ms, label: `${maxP99Ms} ms` }],
    series: results
      .filter((r) => r.variant === "default")
      .map((r) => ({
        name: r.target,
        color: COLORS[r.target] ?? "#555",
        dots: true,
        points: r.steps.map((s) => ({ x: s.deliveriesPerS, y: Math.max(0.1, s.latency.p99) })),
      })),
  });
}

/** Delivery delay per second over the run, with the rollout's steps marked. */
export function rolloutChart(r: RolloutResult): string {
  const markers = r.events
    .filter((e) => !e.what.startsWith("chatting"))
    .map((e) => ({ x: e.t, label: e.what.replace(/^pod (\d)\/\d: /, "p$1 ").replace("old pod ", "old ") }));
  return lineChart({
    title: `Rollout (${r.target}): delivery delay per second, ${r.clients} clients, ${r.ratePerS} msg/s`,
    xLabel: "seconds since sending started",
    yLabel: "delay, ms",
    logY: true,
    markers,
    series: [
      { name: "p50", color: COLORS[r.target] ?? "#555", points: r.delayBySecond.map((p) => ({ x: p.t, y: p.p50 })) },
      {
        name: "p99",
        color: COLORS[r.target] ?? "#555",
        dashed: true,
        points: r.delayBySecond.map((p) => ({ x: p.t, y: p.p99 })),
      },
      { name: "max", color: "#999", points: r.delayBySecond.map((p) => ({ x: p.t, y: p.max })) },
    ],
  });
}
