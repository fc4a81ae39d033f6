import type { ChatMessage } from "@chat/protocol";
import { type ClusterEvent, FAST, loadDeployment, mergeOverrides, type Rig, startRig } from "@chat/rig";
import { type AuditedClient, auditDelivery } from "@chat/testkit";
import { meterFor, progress, round, share, sleep } from "../common.js";
import { decodeHistogram, type LatencySummary, newHistogram, summarize } from "../gen/hist.js";
import type { ChatClientReport, ChatReport, ChatSettled, Kind } from "../gen/messages.js";
import { CHAT_WORKER, GenPool } from "../gen/pool.js";
import { CpuMeter, cpuSeconds, cores as machineCores, machineTicks } from "../procstat.js";
import type { Profile } from "../profiles.js";
import { writeProfileWindow } from "../report/cpu-profile.js";
import { cpuProfileDirFor, OUR_BENCH_ENV, type Pod, startCluster } from "../targets.js";

/**
 * How the pods are replaced. `rig`: the local cluster rig (`@chat/rig`): clients connect through
 * its HAProxy ingress (cookie affinity) and `rig.rollout()` runs the Kubernetes RollingUpdate from
 * the manifests (maxSurge/maxUnavailable, readiness-gated, preStop `/drain?delay_ms`, SIGTERM,
 * SIGKILL at the grace period). `direct`: the bench's own minimal sequence on testkit pods, clients
 * talking to the pods directly (the like-for-like path for ours vs stock; the rig runs the
 * manifests' server only).
 */
export type RolloutVia = "direct" | "rig";

/** The default: the rig for ours, direct for stock. */
export const defaultVia = (kind: Kind): RolloutVia => (kind === "ours" ? "rig" : "direct");

export interface RolloutEvent {
  /** Seconds since the clients started sending. */
  t: number;
  what: string;
}

/** Delivery delay over one wall-clock second of the run. */
export interface DelaySecond {
  t: number;
  count: number;
  p50: number;
  p99: number;
  max: number;
  /**
   * Ours: p50 / p99 of the two legs of the delay, split at the store's timestamp: sending
   * (outbox, pod, store) and delivering (pub/sub, fan-out, the generator receiving).
   */
  send?: { p50: number; p99: number };
  deliver?: { p50: number; p99: number };
  /** The generators' event-loop lag that second (p99 and max over both), ms. */
  lag?: { p99: number; max: number };
  /**
   * Cores used that second (from /proc, sampled every 200 ms): server pods, generators, Redis,
   * and the whole machine (every process on it, the bench's and anyone else's).
   */
  cores?: { server: number; generators: number; redis: number; machine: number };
}

export interface RolloutResult {
  target: Kind;
  clients: number;
  rooms: number;
  pods: number;
  ratePerS: number;
  /** How the pods were replaced: the rig, or the bench's own minimal sequence. */
  via: RolloutVia;
  method: string;
  /** Rig only: where its pod, HAProxy and Redis logs and its cluster log went. */
  rigLogDir?: string;
  /** Messages stored (ours: acknowledged; stock: emitted, as a stock app has no outbox). */
  sent: number;
  /** (message, member) pairs the member never saw by the end of the run. */
  lost: number;
  /** Messages no member of the room saw at all. */
  lostForEveryone: number;
  /**
   * Messages a user sees twice: ours, a clientId stored under two seqs (a retry stored again);
   * stock, which does not dedupe, (message, member) broadcasts received more than once.
   */
  duplicated: number;
  /** Ours: broadcasts received twice and dropped by the client core's dedupe (e.g. during a handover). */
  rawRedeliveries: number;
  unacked: number;
  missedPerClient: { mean: number; max: number; clientsAffected: number };
  /** Per client, total time without a usable connection, ms (clients that never lost one count 0). */
  downtime: { p50: number; p95: number; p99: number; max: number; clientsAffected: number };
  delayBefore: LatencySummary;
  delayDuring: LatencySummary;
  delayAfter: LatencySummary;
  handovers: number;
  reconnects: number;
  events: RolloutEvent[];
  /** Delivery delay per second, from the start of sending. */
  delayBySecond: DelaySecond[];
  serverCpuS: number;
  /** Per generator process: cores used over the run and event-loop delay p99 (does it keep up?). */
  generators: { cores: number; loopDelayP99Ms: number; loopDelayMaxMs: number }[];
  machineBusy: number;
  errorsSample: string[];
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
};

/**
 * Lost and duplicated, counted by testkit's delivery audit (the one module for it). Our clients
 * report what the client core holds; a stock client has no seqs, so its room's emitted messages
 * are numbered here (any fixed order: the audit asks "does every member hold every message")
 * and every emit counts as stored, since a stock app shows a sent message as sent.
 */
export function auditRollout(kind: Kind, clients: ChatClientReport[]) {
  const audited: AuditedClient[] =
    kind === "stock"
      ? stockAsAudited(clients)
      : clients.map((c) => ({
          rooms: [c.room],
          known: new Map([[c.room, new Map(c.known.map((m) => [m.seq, m]))]]),
          acked: c.acked,
          deliveries: new Map(c.deliveries),
          session: { user: { name: c.name } },
        }));
  const audit = auditDelivery(audited);
  // "<name> lacks <room>:<seq>": per member, and the messages no member of the room holds.
  const missing = new Map<string, number>();
  const lackingMembers = new Map<string, number>();
  for (const line of audit.lost) {
    const [who, , what] = line.split(" ");
    missing.set(who ?? "", (missing.get(who ?? "") ?? 0) + 1);
    if (what) lackingMembers.set(what, (lackingMembers.get(what) ?? 0) + 1);
  }
  const members = new Map<string, number>();
  for (const c of clients) members.set(c.room, (members.get(c.room) ?? 0) + 1);
  const lostForEveryone = [...lackingMembers].filter(
    ([what, n]) => n === members.get(what.slice(0, what.lastIndexOf(":"))),
  ).length;
  return {
    sent: audit.acked,
    lost: audit.lost.length,
    lostForEveryone,
    duplicated: kind === "stock" ? audit.duplicateDeliveries : audit.storedTwice.length,
    rawRedeliveries: kind === "stock" ? 0 : audit.duplicateDeliveries,
    missed: clients.map((c) => missing.get(c.name) ?? 0),
    sample: [...audit.storedTwice, ...audit.lost].slice(0, 5),
  };
}

function stockAsAudited(clients: ChatClientReport[]): AuditedClient[] {
  const seqOf = new Map<string, number>();
  const emitted = new Map<string, ChatMessage>();
  const perRoom = new Map<string, number>();
  for (const c of clients) {
    for (const clientId of c.sent) {
      const seq = (perRoom.get(c.room) ?? 0) + 1;
      perRoom.set(c.room, seq);
      seqOf.set(`${c.room}:${clientId}`, seq);
      emitted.set(`${c.room}:${clientId}`, { id: `${c.room}:${clientId}`, seq, room: c.room, clientId } as ChatMessage);
    }
  }
  return clients.map((c) => {
    const known = new Map<number, ChatMessage>();
    for (const m of c.known) {
      const seq = seqOf.get(`${m.room}:${m.clientId}`);
      if (seq !== undefined) known.set(seq, { ...m, seq });
    }
    return {
      rooms: [c.room],
      known: new Map([[c.room, known]]),
      acked: c.sent.map((id) => emitted.get(`${c.room}:${id}`) as ChatMessage),
      deliveries: new Map(c.deliveries),
      session: { user: { name: c.name } },
    };
  });
}

/** What the shared body needs from a way of running pods and replacing them. */
interface Setup {
  via: RolloutVia;
  method: string;
  /** URLs the clients connect to (pods, or the ingress). */
  urls: string[];
  meter(gens: GenPool): CpuMeter;
  /** Replace every pod; `mark` records a step, `setEndpoints` re-points the clients (direct only). */
  replace(mark: (what: string, at?: number) => void, setEndpoints: (urls: string[]) => Promise<unknown>): Promise<void>;
  rigLogDir?: string;
  stop(): Promise<void>;
}

export async function rollout(kind: Kind, profile: Profile, opts: { via?: RolloutVia } = {}): Promise<RolloutResult> {
  const via = opts.via ?? defaultVia(kind);
  if (via === "rig" && kind !== "ours") throw new Error(`rollout via the rig runs our server only; got ${kind}`);
  const label = `rollout ${kind}${via === "rig" ? " via rig" : ""}`;
  const setup = via === "rig" ? await rigSetup(profile, label) : await directSetup(kind, profile, label);
  try {
    return await run(kind, profile, label, setup);
  } finally {
    progress(`${label}: stopping`);
    await setup.stop();
  }
}

async function directSetup(kind: Kind, profile: Profile, label: string): Promise<Setup> {
  const r = profile.rollout;
  progress(`${label}: starting redis + ${r.pods} pods`);
  const env: Record<string, string> =
    kind === "ours"
      ? {
          DRAIN_WINDOW_MS: String(r.drainWindowMs),
          HANDOVER_TIMEOUT_MS: String(r.handoverTimeoutMs),
          SHUTDOWN_TIMEOUT_MS: String(r.drainWindowMs + r.handoverTimeoutMs + 5000),
        }
      : {};
  const cluster = await startCluster(kind, { pods: r.pods, env });
  let endpoints = cluster.pods.map((p) => p.url);
  return {
    via: "direct",
    method: "bench minimal sequence (testkit pods; surge 1: start new, wait ready, then /drain or SIGTERM the old)",
    urls: endpoints,
    meter: (gens) => meterFor(cluster, gens),
    stop: () => cluster.stop(),
    replace: async (mark, setEndpointsOnClients) => {
      const setEndpoints = (urls: string[]) => {
        endpoints = urls;
        return setEndpointsOnClients(urls);
      };
      // The Kubernetes sequence of a RollingUpdate with maxSurge 1, maxUnavailable 0: a new pod
      // becomes ready and joins the endpoints; the old one leaves the endpoints, gets its preStop
      // (ours: /drain; stock: none, straight to SIGTERM) and exits.
      for (const [i, old] of [...cluster.pods].entries()) {
        const fresh: Pod = await cluster.addPod();
        await setEndpoints([...endpoints, fresh.url]);
        mark(`pod ${i + 1}/${r.pods}: new pod ready`);
        await setEndpoints(endpoints.filter((u) => u !== old.url));
        await old.leave();
        mark(`pod ${i + 1}/${r.pods}: old pod ${kind === "ours" ? "draining" : "got SIGTERM"}`);
        const exited = await Promise.race([old.exited.then(() => true), sleep(60_000).then(() => false)]);
        if (!exited) await old.kill();
        mark(`pod ${i + 1}/${r.pods}: old pod exited${exited ? "" : " (killed after 60 s)"}`);
      }
    },
  };
}

/** Rig events drawn on the chart, as `<event> <pod's last 5 chars>`. */
const RIG_MARKERS = new Set<ClusterEvent["type"]>(["pod-ready", "prestop", "sigterm", "killed", "pod-exited"]);

async function rigSetup(profile: Profile, label: string): Promise<Setup> {
  const r = profile.rollout;
  progress(`${label}: starting the rig (redis, ${r.pods} pods, HAProxy)`);
  // FAST's clock (probes x0.1, minReadySeconds 1, preStop /drain?delay_ms=500), with the profile's
  // drain window and handover timeout (the same as the direct sequence's), a grace period that
  // covers preStop + SHUTDOWN_TIMEOUT_MS (the rig checks it), and the bench's raised abuse limits:
  // every client comes from 127.0.0.1. All of it is listed in the rig's cluster log as overrides.
  const shutdownMs = r.drainWindowMs + r.handoverTimeoutMs + 5000;
  const preStopMs = FAST.preStopDelayMs ?? 500;
  // minReadySeconds keeps the manifests' ratio to the drain window (10 s to 10 s: one old pod's
  // sockets have moved before the next old pod starts draining). FAST's 1 s against the
  // profile's 3 s window made the two drains overlap and put the second new pod's cold start
  // inside the first drain: a sequence the manifests never run, twice the handover rate at once.
  const manifest = await loadDeployment();
  const manifestWindowMs = Number(manifest.env.DRAIN_WINDOW_MS ?? 10_000);
  const minReadySeconds = Math.max(
    FAST.minReadySeconds ?? 1,
    Math.ceil((manifest.minReadyMs / manifestWindowMs) * (r.drainWindowMs / 1000)),
  );
  const profileDir = cpuProfileDirFor("ours-rig");
  const rig: Rig = await startRig({
    ...(profileDir ? { cpuProfileDir: profileDir } : {}),
    overrides: mergeOverrides(FAST, {
      replicas: r.pods,
      minReadySeconds,
      terminationGracePeriodSeconds: Math.ceil((preStopMs + shutdownMs) / 1000) + 2,
      env: {
        ...OUR_BENCH_ENV,
        DRAIN_WINDOW_MS: String(r.drainWindowMs),
        HANDOVER_TIMEOUT_MS: String(r.handoverTimeoutMs),
        SHUTDOWN_TIMEOUT_MS: String(shutdownMs),
      },
    }),
  });
  const m = rig.model;
  return {
    via: "rig",
    method:
      `rig: HAProxy ingress (cookie affinity) + rig.rollout() from the manifests (maxSurge ${m.maxSurge}, ` +
      `maxUnavailable ${m.maxUnavailable}, minReadySeconds ${m.minReadyMs / 1000}, preStop ${m.preStop?.path ?? "none"}, ` +
      `grace ${m.graceMs / 1000} s)`,
    urls: [rig.url],
    rigLogDir: rig.logDir,
    // The pods that run now (an exited pod keeps what it used in the meter's earlier samples).
    meter: (gens) =>
      new CpuMeter(() => {
        const redisPid = rig.redisPid();
        return {
          server: rig.pods().flatMap((p) => (p.pid === undefined ? [] : [p.pid])),
          redis: redisPid === undefined ? [] : [redisPid],
          generators: gens.pids,
        };
      }),
    stop: () => rig.stop(),
    replace: async (mark) => {
      const short = (pod: string | undefined) => (pod ?? "?").slice(-5);
      const off = rig.log.on((e) => {
        if (RIG_MARKERS.has(e.type)) mark(`${e.type} ${short(e.pod)}`, e.t);
      });
      try {
        await rig.rollout();
      } finally {
        off();
      }
    },
  };
}

async function run(kind: Kind, profile: Profile, label: string, setup: Setup): Promise<RolloutResult> {
  const r = profile.rollout;
  // The clients are the shipped client core (and socket.io-client), spread over the generators.
  const genProfileDir = cpuProfileDirFor(`generators-${kind}`);
  const gens = await GenPool.start(
    profile.generators,
    genProfileDir
      ? { ...CHAT_WORKER, execArgv: [...CHAT_WORKER.execArgv, "--cpu-prof", `--cpu-prof-dir=${genProfileDir}`] }
      : CHAT_WORKER,
  );
  try {
    const meter = setup.meter(gens);
    progress(`${label}: ${r.clients} clients joining ${r.rooms} rooms`);
    const started = await gens.all<{ started: number; errors: string[] }>(
      (i) => ({
        cmd: "chat",
        kind,
        urls: setup.urls,
        clients: share(r.clients, gens.size, i),
        firstIndex: Array.from({ length: i }, (_, k) => share(r.clients, gens.size, k)).reduce((a, b) => a + b, 0),
        rooms: r.rooms,
        concurrency: 20,
      }),
      300_000,
    );
    const startErrors = started.flatMap((s) => s.errors);
    if (startErrors.length > 0) throw new Error(`${label}: clients failed to start: ${startErrors[0]}`);
    meter.reset();
    const genCpu0 = gens.pids.map((pid) => cpuSeconds(pid) ?? 0);
    // Pods come and go: sample their CPU often so an exited pod keeps what it used. The same
    // samples give the cores used per wall-clock second, beside the delays of that second.
    const cpuBySecond = new Map<number, NonNullable<DelaySecond["cores"]>>();
    const nCores = machineCores();
    let since = {
      second: Math.floor(Date.now() / 1000),
      at: performance.now(),
      used: meter.used(),
      ticks: machineTicks(),
    };
    const sampler = setInterval(() => {
      meter.sample();
      const second = Math.floor(Date.now() / 1000);
      if (second === since.second) return;
      const now = { second, at: performance.now(), used: meter.used(), ticks: machineTicks() };
      const wallS = Math.max(0.001, (now.at - since.at) / 1000);
      const cores = (g: string) => round(((now.used[g] ?? 0) - (since.used[g] ?? 0)) / wallS);
      const ticks = now.ticks.total - since.ticks.total;
      cpuBySecond.set(since.second, {
        server: cores("server"),
        generators: cores("generators"),
        redis: cores("redis"),
        machine: round(ticks > 0 ? ((now.ticks.busy - since.ticks.busy) / ticks) * nCores : 0),
      });
      since = now;
    }, 200);
    const t0 = Date.now();
    const events: RolloutEvent[] = [];
    const mark = (what: string, at = Date.now()) => {
      events.push({ t: round((at - t0) / 1000), what });
      progress(`${label}: ${what}`);
    };
    await gens.all((i) => ({ cmd: "chatSend", rate: share(r.rate, gens.size, i), pad: "y".repeat(r.pad) }));
    mark(`chatting: ${r.clients} clients, ${r.rate} msg/s`);
    await sleep(r.beforeMs);
    const rolloutStart = Date.now();
    const rolloutStartUs = process.hrtime.bigint() / 1000n;
    mark("rollout starts");
    await setup.replace(mark, (urls) => gens.all({ cmd: "endpoints", urls }));
    const rolloutEnd = Date.now();
    writeProfileWindow(cpuProfileDirFor(), { label, fromUs: rolloutStartUs, toUs: process.hrtime.bigint() / 1000n });
    await sleep(r.afterMs);
    mark("sending stops");
    const settled = await gens.all<ChatSettled>({ cmd: "chatSettle", timeoutMs: 15_000 }, 60_000);
    const top: Record<string, number> = {};
    for (const s of settled) for (const [room, seq] of Object.entries(s.top)) top[room] = Math.max(top[room] ?? 0, seq);
    await gens.all({ cmd: "chatCatchUp", top, timeoutMs: 15_000 }, 60_000);
    const cpu = meter.read();
    const genCores = gens.pids.map((pid, i) => ((cpuSeconds(pid) ?? 0) - (genCpu0[i] ?? 0)) / cpu.wallS);
    clearInterval(sampler);
    const reports = await gens.all<ChatReport>({ cmd: "chatReport" }, 60_000);
    const clients = reports.flatMap((rep) => rep.clients);
    const acc = auditRollout(kind, clients);

    // Delivery delay per wall-clock second, merged over generators.
    const mergeSeconds = (pick: (rep: ChatReport) => Record<string, string> | undefined) => {
      const merged = new Map<number, ReturnType<typeof newHistogram>>();
      for (const rep of reports) {
        for (const [second, enc] of Object.entries(pick(rep) ?? {})) {
          const h = merged.get(Number(second)) ?? newHistogram();
          h.add(decodeHistogram(enc));
          merged.set(Number(second), h);
        }
      }
      return merged;
    };
    const perSecond = mergeSeconds((rep) => rep.delayBySecond);
    const sendLeg = mergeSeconds((rep) => rep.sendLegBySecond);
    const deliverLeg = mergeSeconds((rep) => rep.deliverLegBySecond);
    const lag = mergeSeconds((rep) => rep.lagBySecond);
    const legOf = (m: typeof sendLeg, second: number) => {
      const h = m.get(second);
      if (!h) return undefined;
      const s = summarize(h);
      return { p50: s.p50, p99: s.p99 };
    };
    // Per-second buckets: "before" and "after" take only seconds wholly inside their window;
    // "during" takes every second that overlaps the rollout (a straddling second counts as during).
    const windowed = (from: number, to: number, overlap: boolean) => {
      const h = newHistogram();
      for (const [second, hs] of perSecond) {
        const start = second * 1000;
        const inside = overlap ? start + 1000 > from && start < to : start >= from && start + 1000 <= to;
        if (inside) h.add(hs);
      }
      return summarize(h);
    };
    const delayBySecond: DelaySecond[] = [...perSecond.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([second, h]) => {
        const s = summarize(h);
        const send = legOf(sendLeg, second);
        const deliver = legOf(deliverLeg, second);
        const lagged = lag.get(second);
        const l = lagged ? summarize(lagged) : undefined;
        return {
          t: round((second * 1000 - t0) / 1000),
          count: s.count,
          p50: s.p50,
          p99: s.p99,
          max: s.max,
          ...(send ? { send } : {}),
          ...(deliver ? { deliver } : {}),
          ...(l ? { lag: { p99: l.p99, max: l.max } } : {}),
          ...(cpuBySecond.has(second) ? { cores: cpuBySecond.get(second) } : {}),
        };
      });
    const totals = clients.map((c) => Math.round(c.disconnectedMs));
    return {
      target: kind,
      clients: clients.length,
      rooms: r.rooms,
      pods: r.pods,
      ratePerS: r.rate,
      via: setup.via,
      method: setup.method,
      ...(setup.rigLogDir ? { rigLogDir: setup.rigLogDir } : {}),
      sent: acc.sent,
      lost: acc.lost,
      lostForEveryone: acc.lostForEveryone,
      duplicated: acc.duplicated,
      rawRedeliveries: acc.rawRedeliveries,
      unacked: settled.reduce((n, s) => n + s.pending, 0),
      missedPerClient: {
        mean: round(acc.missed.reduce((a, b) => a + b, 0) / Math.max(1, acc.missed.length), 1),
        max: Math.max(0, ...acc.missed),
        clientsAffected: acc.missed.filter((m) => m > 0).length,
      },
      downtime: {
        p50: pct(totals, 50),
        p95: pct(totals, 95),
        p99: pct(totals, 99),
        max: Math.max(0, ...totals),
        clientsAffected: totals.filter((t) => t > 0).length,
      },
      // Skip the first second (connections warming up) for the steady state.
      delayBefore: windowed(t0 + 1000, rolloutStart, false),
      delayDuring: windowed(rolloutStart, rolloutEnd, true),
      delayAfter: windowed(rolloutEnd, rolloutEnd + r.afterMs + 1000, false),
      handovers: clients.reduce((n, c) => n + c.handovers, 0),
      reconnects: clients.reduce((n, c) => n + c.reconnects, 0),
      events,
      delayBySecond,
      serverCpuS: round(cpu.cpu.server ?? 0),
      generators: reports.map((rep, i) => ({
        cores: round(genCores[i] ?? 0),
        loopDelayP99Ms: round(rep.loopDelayP99Ms),
        loopDelayMaxMs: round(rep.loopDelayMaxMs),
      })),
      machineBusy: round(cpu.machineBusy),
      errorsSample: [...acc.sample, ...clients.flatMap((c) => c.errors)].slice(0, 12),
    };
  } finally {
    await gens.stop();
  }
}
