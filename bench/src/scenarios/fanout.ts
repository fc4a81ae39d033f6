import { meterFor, progress, round, share, sleep, withGenerators } from "../common.js";
import { type LatencySummary, mergeEncoded, summarize } from "../gen/hist.js";
import type { ConnectResult, JoinResult, Kind, WindowResult } from "../gen/messages.js";
import type { GenPool } from "../gen/pool.js";
import type { Profile } from "../profiles.js";
import { type ClusterOptions, markServerProfiles, startCluster } from "../targets.js";

export interface FanoutStep {
  /** msg/s into the room asked for, and sent. */
  rate: number;
  sentPerS: number;
  /** `message` events received by all connections, per second, and what a full fan-out would be. */
  deliveriesPerS: number;
  expectedPerS: number;
  /** CPU, in cores (CPU-seconds per second) over the measured window. */
  serverCores: number;
  redisCores: number;
  genCores: number;
  /** Busiest generator process, cores (1.0 = one core): above ~0.85 the generator may be the limit. */
  genMaxCores: number;
  genLoopDelayP99Ms: number;
  /** Every process on the machine (other users included), fraction of all cores. */
  machineBusy: number;
  /** Our processes only (servers, redis, generators, orchestrator), in cores. */
  benchCores: number;
  deliveriesPerServerCpuS: number;
  /** CPU per delivery, µs: the server's, and the generator's (receiving, parsing, timing) for comparison. */
  serverUsPerDelivery: number;
  genUsPerDelivery: number;
  latency: LatencySummary;
  ackFailed: number;
  /** Why this row may not measure the server: `machine` (CPU of the box saturated), `generator`, `saturated` (deliveries fell behind). */
  flags: string[];
}

export interface FanoutResult {
  target: Kind;
  variant: string;
  subscribers: number;
  members: number;
  pods: number;
  join: { ms: number; serverCpuS: number; otherEvents: number; failed: number; errors: string[] };
  steps: FanoutStep[];
  /** The reference point: the step at `referenceRate` msg/s. */
  reference: FanoutStep | undefined;
  /** Highest step with p99 under the limit and no saturation flag. */
  best: FanoutStep | undefined;
}

export const REFERENCE_RATE = 20;
const ROOM = "fanout";

async function quiet(gens: GenPool, field: "otherEvents" | "received", maxMs: number) {
  // Until a 500 ms window sees no such events (a backlog drained), bounded by maxMs.
  const deadline = Date.now() + maxMs;
  let total = 0;
  while (Date.now() < deadline) {
    await sleep(500);
    const n = (await gens.all<WindowResult>({ cmd: "window" })).reduce((a, w) => a + w[field], 0);
    total += n;
    if (n === 0) break;
  }
  return total;
}

export async function fanout(
  kind: Kind,
  profile: Profile,
  opts: { variant?: string; cluster?: Partial<ClusterOptions>; rates?: number[] } = {},
): Promise<FanoutResult> {
  const f = profile.fanout;
  const variant = opts.variant ?? "default";
  const label = `fan-out ${kind}/${variant}`;
  progress(`${label}: starting redis + ${f.pods} pods`);
  const cluster = await startCluster(kind, { pods: f.pods, ...opts.cluster });
  try {
    return await withGenerators(profile.generators, async (gens) => {
      const meter = meterFor(cluster, gens, false);
      const urls = cluster.pods.map((p) => p.url);
      progress(`${label}: connecting ${f.subscribers} subscribers + ${f.sendersPerGen * gens.size} senders`);
      const subs = await gens.all<ConnectResult>((i) => ({
        cmd: "connect",
        role: "sub",
        urls,
        count: share(f.subscribers, gens.size, i),
        concurrency: 25,
      }));
      const senders = await gens.all<ConnectResult>({
        cmd: "connect",
        role: "send",
        urls,
        count: f.sendersPerGen,
        concurrency: 2,
      });
      const connectFailed = [...subs, ...senders].reduce((n, r) => n + r.failed, 0);
      if (connectFailed > 0) throw new Error(`${label}: ${connectFailed} connections failed: ${subs[0]?.errors[0]}`);
      progress(`${label}: joining the room`);
      meter.reset();
      const joined = await gens.all<JoinResult>({ cmd: "join", role: "all", room: ROOM, concurrency: 10 }, 600_000);
      const joinEvents = await quiet(gens, "otherEvents", 120_000);
      const joinCpu = meter.read();
      const members = joined.reduce((n, r) => n + r.ok, 0);
      const join = {
        ms: round(joinCpu.wallS * 1000, 0),
        serverCpuS: round(joinCpu.cpu.server ?? 0, 2),
        otherEvents: joinEvents,
        failed: joined.reduce((n, r) => n + r.failed, 0),
        errors: joined.flatMap((r) => r.errors).slice(0, 3),
      };

      const steps: FanoutStep[] = [];
      for (const rate of opts.rates ?? f.rates) {
        progress(`${label}: ${rate} msg/s into a room of ${members} (${members * rate} deliveries/s expected)`);
        await gens.all((i) => ({ cmd: "load", rate: share(rate, gens.size, i), room: ROOM, pad: "x".repeat(f.pad) }));
        await sleep(f.warmupMs);
        await gens.all({ cmd: "window" });
        // --cpu-prof: the servers' profiles cover the reference step only.
        if (rate === REFERENCE_RATE) markServerProfiles(cluster.serverPids(), "open");
        meter.reset();
        const genStart = gens.pids.map((pid) => pid);
        await sleep(f.stepMs);
        const windows = await gens.all<WindowResult>({ cmd: "window" });
        const cpu = meter.read();
        if (rate === REFERENCE_RATE) markServerProfiles(cluster.serverPids(), "close");
        await gens.all({ cmd: "stopLoad" });
        const perGen = genStart.length;
        const wallS = cpu.wallS;
        const sent = windows.reduce((n, w) => n + w.sent, 0);
        const received = windows.reduce((n, w) => n + w.received, 0);
        const latency = summarize(mergeEncoded(windows.map((w) => w.latency)));
        const serverCpu = cpu.cpu.server ?? 0;
        const genCores = (cpu.cpu.generators ?? 0) / wallS;
        const step: FanoutStep = {
          rate,
          sentPerS: round(sent / wallS, 1),
          deliveriesPerS: round(received / wallS, 0),
          expectedPerS: round((sent / wallS) * members, 0),
          serverCores: round(serverCpu / wallS),
          redisCores: round((cpu.cpu.redis ?? 0) / wallS),
          genCores: round(genCores),
          genMaxCores: 0,
          genLoopDelayP99Ms: round(Math.max(...windows.map((w) => w.loopDelayP99Ms))),
          machineBusy: round(cpu.machineBusy),
          benchCores: round(cpu.benchCores),
          deliveriesPerServerCpuS: serverCpu > 0 ? round(received / serverCpu, 0) : 0,
          serverUsPerDelivery: received > 0 ? round((serverCpu * 1e6) / received) : 0,
          genUsPerDelivery: received > 0 ? round(((cpu.cpu.generators ?? 0) * 1e6) / received) : 0,
          latency,
          ackFailed: windows.reduce((n, w) => n + w.ackFailed, 0),
          flags: [],
        };
        step.genMaxCores = round(genCores / perGen); // even split: the orchestrator assigns equal shares
        if (step.machineBusy > 0.9) step.flags.push("machine");
        if (step.genMaxCores > 0.85 || step.genLoopDelayP99Ms > 50) step.flags.push("generator");
        if (step.deliveriesPerS < 0.95 * step.expectedPerS || step.sentPerS < 0.95 * rate) step.flags.push("saturated");
        steps.push(step);
        progress(
          `${label}: ${rate} msg/s → ${step.deliveriesPerS}/s, p99 ${latency.p99} ms, server ${step.serverCores} cores`,
        );
        // Let the backlog drain before the next step (bounded).
        await quiet(gens, "received", 10_000);
        if (latency.p99 > f.maxP99Ms || step.flags.includes("saturated")) break;
      }
      const ok = steps.filter((s) => s.latency.p99 <= f.maxP99Ms && !s.flags.includes("saturated"));
      return {
        target: kind,
        variant,
        subscribers: f.subscribers,
        members,
        pods: f.pods,
        join,
        steps,
        reference: steps.find((s) => s.rate === REFERENCE_RATE),
        best: ok.sort((a, b) => b.deliveriesPerS - a.deliveriesPerS)[0],
      };
    });
  } finally {
    progress(`${label}: stopping`);
    await cluster.stop();
  }
}
