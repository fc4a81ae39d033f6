import type { CapacityRow } from "../scenarios/capacity.js";
import type { FanoutResult } from "../scenarios/fanout.js";
import type { HeapRow } from "../scenarios/heap.js";
import type { JoinRow } from "../scenarios/join.js";
import type { RolloutResult } from "../scenarios/rollout.js";
import { table } from "./tables.js";

export interface Verdict {
  goal: string;
  /** One value per repetition (a ratio to stock measured in the same repetition, or a figure of ours). */
  values: number[];
  unit: "x" | "ms" | "";
  verdict: "hit" | "miss" | "n/a";
  note?: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** ours[i] / stock[i], pairing the i-th repetition of each. */
function ratios<T>(rows: T[] | undefined, pick: (r: T) => number, is: (r: T, kind: string) => boolean) {
  const ours = (rows ?? []).filter((r) => is(r, "ours"));
  const stock = (rows ?? []).filter((r) => is(r, "stock"));
  const out: number[] = [];
  for (let i = 0; i < Math.min(ours.length, stock.length); i++) {
    const s = pick(stock[i] as T);
    if (s > 0) out.push(pick(ours[i] as T) / s);
  }
  return out;
}

function check(goal: string, values: number[], unit: Verdict["unit"], ok: (median: number) => boolean, note?: string) {
  const v: Verdict = { goal, values, unit, verdict: values.length === 0 ? "n/a" : ok(median(values)) ? "hit" : "miss" };
  if (note) v.note = note;
  return v;
}

/** The performance targets, from every repetition of this run; each verdict uses the median. */
export function verdicts(r: {
  capacity?: CapacityRow[];
  fanout?: FanoutResult[];
  rollout?: RolloutResult[];
  join?: JoinRow[];
  joinSize: number;
}): Verdict[] {
  const out: Verdict[] = [];
  if (r.join) {
    const at = (j: JoinRow, k: string) => j.target === k && j.members === r.joinSize;
    out.push(
      check(
        `join ${r.joinSize} sockets into one room: server CPU ≤ 3x stock`,
        ratios(r.join, (j) => j.serverCpuS, at),
        "x",
        (m) => m <= 3,
      ),
    );
  }
  if (r.capacity) {
    const is = (c: CapacityRow, k: string) => c.target === k && c.variant === "default";
    out.push(
      check(
        "connect: server CPU per connection ≤ 1.2x stock",
        ratios(r.capacity, (c) => c.serverCpuMsPerConn, is),
        "x",
        (m) => m <= 1.2,
      ),
    );
    const perPod = r.capacity[0]?.perPod ?? 0;
    for (const goalPerPod of [2000, 10_000]) {
      const values = perPod === goalPerPod ? ratios(r.capacity, (c) => c.rssKiBPerConn, is) : [];
      out.push(
        check(
          `idle RSS per connection ≤ 1.0x stock at ${goalPerPod}/pod`,
          values,
          "x",
          (m) => m <= 1,
          values.length
            ? undefined
            : `this run measured ${perPod}/pod (${goalPerPod === 10_000 ? "--profile full" : "--profile quick"})`,
        ),
      );
    }
  }
  const ours = (r.rollout ?? []).filter((x) => x.target === "ours");
  if (ours.length > 0) {
    out.push(
      check(
        "rollout: delivery p99 during ≤ 10x steady state",
        ours
          .map((x) => (x.delayBefore.p99 > 0 ? x.delayDuring.p99 / x.delayBefore.p99 : Number.NaN))
          .filter((x) => !Number.isNaN(x)),
        "x",
        (m) => m <= 10,
        ours.map((x) => `${x.delayDuring.p99} ÷ ${x.delayBefore.p99} ms`).join(", "),
      ),
    );
    out.push(
      check(
        "rollout: 0 lost",
        ours.map((x) => x.lost),
        "",
        (m) => m === 0 && ours.every((x) => x.lost === 0),
      ),
    );
    out.push(
      check(
        "rollout: 0 duplicated",
        ours.map((x) => x.duplicated),
        "",
        () => ours.every((x) => x.duplicated === 0),
      ),
    );
    out.push(
      check(
        "rollout: p99 without a usable connection ≤ 50 ms",
        ours.map((x) => x.downtime.p99),
        "ms",
        (m) => m <= 50,
      ),
    );
  }
  if (r.fanout) {
    const is = (f: FanoutResult, k: string) => f.target === k && f.variant === "default" && f.reference !== undefined;
    out.push(
      check(
        "fan-out deliveries per server CPU-s ≥ 1.0x stock (20 msg/s)",
        ratios(r.fanout, (f) => f.reference?.deliveriesPerServerCpuS ?? 0, is),
        "x",
        (m) => m >= 1,
      ),
    );
  }
  return out;
}

const fmt = (x: number, unit: Verdict["unit"]) =>
  unit === "x" ? `${x.toFixed(2)}x` : unit === "ms" ? `${Math.round(x)} ms` : String(x);

export const verdictTable = (vs: Verdict[]) =>
  table(
    ["target", "runs", "min / median / max", "verdict (median)", "note"],
    vs.map((v) => [
      v.goal,
      v.values.length,
      v.values.length
        ? `${fmt(Math.min(...v.values), v.unit)} / ${fmt(median(v.values), v.unit)} / ${fmt(Math.max(...v.values), v.unit)}`
        : "–",
      v.verdict.toUpperCase(),
      v.note ?? "",
    ]),
  );

export const joinTable = (rows: JoinRow[]) =>
  table(
    [
      "target",
      "members",
      "pods",
      "joined",
      "failed",
      "join phase ms",
      "server CPU-s",
      "redis CPU-s",
      "presence events",
      "presence KiB",
      "join ack KiB",
      "machine busy",
    ],
    rows.map((j) => [
      j.target,
      j.members,
      j.pods,
      j.joined,
      j.failed,
      j.ms,
      j.serverCpuS,
      j.redisCpuS,
      j.presenceEvents,
      Math.round(j.presenceBytes / 1024),
      Math.round(j.ackBytes / 1024),
      `${Math.round(j.machineBusy * 100)}%`,
    ]),
  );

export const heapTable = (h: HeapRow) =>
  table(
    ["object (V8 type:constructor)", "bytes / conn", "count / conn"],
    h.top.map((t) => [t.what, t.bytesPerConn, t.countPerConn]),
  );
