import { meterFor, progress, round, share, sleep, withGenerators } from "../common.js";
import type { ConnectResult, Kind } from "../gen/messages.js";
import { rssBytes } from "../procstat.js";
import type { Profile } from "../profiles.js";
import { type ClusterOptions, type PodMemory, startCluster } from "../targets.js";

export interface CapacityRow {
  target: Kind;
  variant: string;
  pods: number;
  perPod: number;
  connected: number;
  failed: number;
  errors: string[];
  /** Connections per second during the ramp (all generators together). */
  connectRate: number;
  connectP50Ms: number;
  connectP99Ms: number;
  /** Server CPU per accepted connection during the ramp, ms. */
  serverCpuMsPerConn: number;
  /** Per pod, before the ramp (baseline) and after the settle, averaged over pods. */
  baseRssMiB: number;
  rssMiB: number;
  heapMiB: number;
  rssKiBPerConn: number;
  heapKiBPerConn: number;
  /**
   * Where the RSS goes, per connection (after minus before, averaged over pods): V8 heap
   * committed in all, per space (new, old, code, large_object, ...), and external (Buffers).
   * What RSS grows beyond these is native: sockets, malloc.
   */
  heapTotalKiBPerConn: number;
  spacesKiBPerConn: Record<string, number>;
  externalKiBPerConn: number;
  /** Client side (generator processes), for scale: KiB per lean connection. */
  genRssKiBPerConn: number;
  machineBusy: number;
}

export async function capacity(
  kind: Kind,
  profile: Profile,
  opts: { variant?: string; cluster?: Partial<ClusterOptions> } = {},
): Promise<CapacityRow> {
  const p = profile.capacity;
  const variant = opts.variant ?? "default";
  progress(`capacity ${kind}/${variant}: starting redis + ${p.pods} pods`);
  const cluster = await startCluster(kind, { pods: p.pods, ...opts.cluster });
  try {
    return await withGenerators(profile.generators, async (gens) => {
      const meter = meterFor(cluster, gens);
      await sleep(1000);
      const base = await Promise.all(cluster.pods.map((pod) => pod.memory()));
      const genBase = gens.pids.map((pid) => rssBytes(pid) ?? 0);
      const total = p.perPod * p.pods;
      progress(`capacity ${kind}/${variant}: ramping to ${total} idle connections (${p.perPod}/pod)`);
      meter.reset();
      const urls = cluster.pods.map((pod) => pod.url);
      const results = await gens.all<ConnectResult>(
        (i) => ({
          cmd: "connect",
          role: "sub",
          urls,
          count: share(total, gens.size, i),
          concurrency: Math.ceil(p.concurrency / gens.size),
        }),
        600_000,
      );
      const cpu = meter.read();
      const connected = results.reduce((n, r) => n + r.ok, 0);
      const failed = results.reduce((n, r) => n + r.failed, 0);
      const rampMs = Math.max(...results.map((r) => r.ms));
      progress(`capacity ${kind}/${variant}: ${connected} connected, settling`);
      await sleep(p.settleMs);
      // Three samples, the median: a GC in between moves heap and RSS.
      const samples: PodMemory[][] = [];
      for (let i = 0; i < 3; i++) {
        samples.push(await Promise.all(cluster.pods.map((pod) => pod.memory())));
        await sleep(300);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
      const after = cluster.pods.map((_, i) => {
        const rss = median(samples.map((s) => s[i]?.rss ?? 0));
        // The rest of the sample the median RSS came from, so that the parts add up.
        const at = samples.find((s) => s[i]?.rss === rss)?.[i] as PodMemory;
        return { ...at, rss, heapUsed: median(samples.map((s) => s[i]?.heapUsed ?? 0)) };
      });
      const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      const perPodConns = connected / p.pods;
      const perConnKiB = (part: (m: PodMemory) => number) =>
        round(avg(after.map((a, i) => part(a) - (base[i] ? part(base[i]) : 0))) / 1024 / perPodConns, 2);
      const spacesKiBPerConn: Record<string, number> = {};
      for (const space of Object.keys(after[0]?.spaces ?? {})) {
        spacesKiBPerConn[space] = perConnKiB((m) => m.spaces[space] ?? 0);
      }
      const genAfter = gens.pids.map((pid) => rssBytes(pid) ?? 0);
      const row: CapacityRow = {
        target: kind,
        variant,
        pods: p.pods,
        perPod: p.perPod,
        connected,
        failed,
        errors: results.flatMap((r) => r.errors).slice(0, 5),
        connectRate: round(connected / (rampMs / 1000), 0),
        connectP50Ms: round(Math.max(...results.map((r) => r.connectP50))),
        connectP99Ms: round(Math.max(...results.map((r) => r.connectP99))),
        serverCpuMsPerConn: round(((cpu.cpu.server ?? 0) * 1000) / Math.max(1, connected), 3),
        baseRssMiB: round(avg(base.map((b) => b.rss)) / 2 ** 20, 1),
        rssMiB: round(avg(after.map((a) => a.rss)) / 2 ** 20, 1),
        heapMiB: round(avg(after.map((a) => a.heapUsed)) / 2 ** 20, 1),
        rssKiBPerConn: round(avg(after.map((a, i) => a.rss - (base[i]?.rss ?? 0))) / 1024 / perPodConns, 2),
        heapKiBPerConn: round(avg(after.map((a, i) => a.heapUsed - (base[i]?.heapUsed ?? 0))) / 1024 / perPodConns, 2),
        heapTotalKiBPerConn: perConnKiB((m) => m.heapTotal),
        spacesKiBPerConn,
        externalKiBPerConn: perConnKiB((m) => m.external),
        genRssKiBPerConn: round(
          (genAfter.reduce((a, b) => a + b, 0) - genBase.reduce((a, b) => a + b, 0)) / 1024 / Math.max(1, connected),
          2,
        ),
        machineBusy: round(cpu.machineBusy, 2),
      };
      return row;
    });
  } finally {
    progress(`capacity ${kind}/${variant}: stopping`);

    await cluster.stop();
  }
}
