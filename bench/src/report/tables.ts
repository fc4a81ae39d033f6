import type { CapacityRow } from "../scenarios/capacity.js";
import type { FanoutResult } from "../scenarios/fanout.js";
import type { RolloutResult } from "../scenarios/rollout.js";

export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(head), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...cells.slice(1).map(line)].join("\n");
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}x` : "–";

/** "12.3 (2.0/9.8/0.1), 0.4": rows from before these columns existed show "–". */
const committed = (r: CapacityRow) => {
  const sp = r.spacesKiBPerConn;
  if (!sp) return "–";
  const parts = ["new", "old", "code"].map((s) => sp[s] ?? 0).join("/");
  return `${r.heapTotalKiBPerConn} (${parts}), ${r.externalKiBPerConn}`;
};

export function capacityTable(rows: CapacityRow[]): string {
  const stock = rows.find((r) => r.target === "stock" && r.variant === "default");
  return table(
    [
      "target",
      "variant",
      "connections",
      "failed",
      "connect/s",
      "connect p99 ms",
      "server CPU ms/conn",
      "RSS MiB/pod",
      "RSS KiB/conn",
      "heap KiB/conn",
      "committed KiB/conn: heap (new/old/code), external",
      "RSS/conn vs stock",
      "machine busy",
    ],
    rows.map((r) => [
      r.target,
      r.variant,
      r.connected,
      r.failed,
      r.connectRate,
      r.connectP99Ms,
      r.serverCpuMsPerConn,
      r.rssMiB,
      r.rssKiBPerConn,
      r.heapKiBPerConn,
      committed(r),
      ratio(r.rssKiBPerConn, stock?.rssKiBPerConn),
      `${Math.round(r.machineBusy * 100)}%`,
    ]),
  );
}

export function fanoutSummaryTable(results: FanoutResult[]): string {
  const stock = results.find((r) => r.target === "stock" && r.variant === "default")?.reference;
  const ceiling = results.find((r) => r.target === "ceiling" && r.variant === "default")?.reference;
  return table(
    [
      "target",
      "variant",
      "msg/s",
      "deliveries/s",
      "server cores",
      "deliveries/server CPU-s",
      "vs stock",
      "vs ceiling",
      "p50 ms",
      "p99 ms",
      "max ms",
      "redis cores",
      "gen cores",
      "machine busy",
      "flags",
    ],
    results.map((r) => {
      const s = r.reference;
      if (!s) return [r.target, r.variant, "–", "no reference step"];
      return [
        r.target,
        r.variant,
        s.rate,
        s.deliveriesPerS,
        s.serverCores,
        s.deliveriesPerServerCpuS,
        ratio(s.deliveriesPerServerCpuS, stock?.deliveriesPerServerCpuS),
        ratio(s.deliveriesPerServerCpuS, ceiling?.deliveriesPerServerCpuS),
        s.latency.p50,
        s.latency.p99,
        s.latency.max,
        s.redisCores,
        s.genCores,
        `${Math.round(s.machineBusy * 100)}%`,
        s.flags.join(",") || "–",
      ];
    }),
  );
}

export function fanoutStepsTable(r: FanoutResult): string {
  return table(
    [
      "msg/s",
      "sent/s",
      "deliveries/s",
      "expected/s",
      "server cores",
      "deliveries/CPU-s",
      "p50",
      "p95",
      "p99",
      "max",
      "redis",
      "gen",
      "server µs/delivery",
      "gen µs/delivery",
      "gen loop p99",
      "machine",
      "flags",
    ],
    r.steps.map((s) => [
      s.rate,
      s.sentPerS,
      s.deliveriesPerS,
      s.expectedPerS,
      s.serverCores,
      s.deliveriesPerServerCpuS,
      s.latency.p50,
      s.latency.p95,
      s.latency.p99,
      s.latency.max,
      s.redisCores,
      s.genCores,
      s.serverUsPerDelivery,
      s.genUsPerDelivery,
      s.genLoopDelayP99Ms,
      `${Math.round(s.machineBusy * 100)}%`,
      s.flags.join(",") || "–",
    ]),
  );
}

export function fanoutBestTable(results: FanoutResult[]): string {
  return table(
    ["target", "variant", "room join (ms)", "join server CPU-s", "best msg/s (p99 ≤ limit)", "deliveries/s", "p99 ms"],
    results.map((r) => [
      r.target,
      r.variant,
      r.join.ms,
      r.join.serverCpuS,
      r.best?.rate ?? "–",
      r.best?.deliveriesPerS ?? "–",
      r.best?.latency.p99 ?? "–",
    ]),
  );
}

export function rolloutTable(results: RolloutResult[]): string {
  return table(
    [
      "target",
      "via",
      "sent",
      "lost (msg×member)",
      "lost for everyone",
      "duplicated",
      "missed/client mean (max)",
      "no usable conn p50 / p99 / max ms",
      "clients cut off",
      "delay p99 before → during ms",
      "during ÷ before",
      "handovers",
      "reconnects",
    ],
    results.map((r) => [
      r.target,
      r.via === "rig" ? "rig (HAProxy, k8s sequence)" : "direct (bench sequence)",
      r.sent,
      r.lost,
      r.lostForEveryone,
      r.duplicated,
      `${r.missedPerClient.mean} (${r.missedPerClient.max})`,
      `${r.downtime.p50} / ${r.downtime.p99} / ${r.downtime.max}`,
      `${r.downtime.clientsAffected}/${r.clients}`,
      `${r.delayBefore.p99} → ${r.delayDuring.p99}`,
      r.delayBefore.p99 > 0 ? `${(r.delayDuring.p99 / r.delayBefore.p99).toFixed(2)}x` : "–",
      r.handovers,
      r.reconnects,
    ]),
  );
}

export interface Goal {
  goal: string;
  measured: string;
  verdict: "hit" | "miss" | "n/a";
}

/** The issue's targets, checked against this run. */
export function goals(
  capacity: CapacityRow[] | undefined,
  fanout: FanoutResult[] | undefined,
  rollout: RolloutResult[] | undefined,
  perPodGoal: number,
): Goal[] {
  const out: Goal[] = [];
  const f = (k: string) => fanout?.find((r) => r.target === k && r.variant === "default")?.reference;
  const ours = f("ours");
  const stock = f("stock");
  const ceiling = f("ceiling");
  if (ours && stock) {
    const x = ours.deliveriesPerServerCpuS / stock.deliveriesPerServerCpuS;
    out.push({
      goal: "fan-out deliveries/CPU-s ≥ 1.0x stock",
      measured: `${x.toFixed(2)}x`,
      verdict: x >= 1 ? "hit" : "miss",
    });
  }
  if (ours && ceiling) {
    const x = ours.deliveriesPerServerCpuS / ceiling.deliveriesPerServerCpuS;
    out.push({
      goal: "fan-out deliveries/CPU-s ≥ 0.8x ceiling",
      measured: `${x.toFixed(2)}x`,
      verdict: x >= 0.8 ? "hit" : "miss",
    });
  }
  if (ours) {
    out.push({
      goal: "fan-out p99 ≤ 30 ms unsaturated (20 msg/s, 1,000 subscribers)",
      measured: `${ours.latency.p99} ms${ours.flags.length ? ` (flags: ${ours.flags.join(",")})` : ""}`,
      verdict: ours.latency.p99 <= 30 ? "hit" : "miss",
    });
  }
  const cap = capacity?.find((r) => r.target === "ours" && r.variant === "default");
  if (cap) {
    const at = cap.perPod >= perPodGoal ? "" : ` (at ${cap.perPod}/pod, not ${perPodGoal}: run --profile full)`;
    out.push({
      goal: `≤ 10 KiB RSS per idle connection at ${perPodGoal}/pod`,
      measured: `${cap.rssKiBPerConn} KiB${at}`,
      verdict: cap.perPod < perPodGoal ? "n/a" : cap.rssKiBPerConn <= 10 ? "hit" : "miss",
    });
  }
  const ro = rollout?.find((r) => r.target === "ours");
  if (ro) {
    out.push({ goal: "rollout: 0 lost", measured: String(ro.lost), verdict: ro.lost === 0 ? "hit" : "miss" });
    out.push({
      goal: "rollout: 0 duplicated",
      measured: String(ro.duplicated),
      verdict: ro.duplicated === 0 ? "hit" : "miss",
    });
    out.push({
      goal: "rollout: p99 time without a usable connection ≤ 50 ms",
      measured: `${ro.downtime.p99} ms`,
      verdict: ro.downtime.p99 <= 50 ? "hit" : "miss",
    });
    const x = ro.delayBefore.p99 > 0 ? ro.delayDuring.p99 / ro.delayBefore.p99 : Number.NaN;
    out.push({
      goal: "rollout: p99 delivery delay during ≤ 2x steady state",
      measured: `${ro.delayDuring.p99} vs ${ro.delayBefore.p99} ms (${x.toFixed(2)}x)`,
      verdict: Number.isNaN(x) ? "n/a" : x <= 2 ? "hit" : "miss",
    });
  }
  return out;
}

export const goalsTable = (gs: Goal[]) =>
  table(
    ["goal", "measured", "verdict"],
    gs.map((g) => [g.goal, g.measured, g.verdict.toUpperCase()]),
  );
