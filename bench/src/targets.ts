import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  getJson,
  loopbackLimits,
  type RedisHandle,
  SERVER_ENTRY,
  type ServerEnv,
  startPod,
  startRedis,
} from "@chat/testkit";
import type { Kind } from "./gen/messages.js";
import { findRedisPid, rssBytes } from "./procstat.js";

export const STOCK_ENTRY = fileURLToPath(new URL("../dist/servers/stock.js", import.meta.url));
export const CEILING_ENTRY = fileURLToPath(new URL("../dist/servers/ceiling.js", import.meta.url));
export const HEAP_SNAP_PRELOAD = new URL("../dist/servers/heap-snap.js", import.meta.url).href;
const CPU_PROF_PRELOAD = new URL("../dist/servers/cpu-prof.js", import.meta.url).href;
export const SESSION_SECRET = "bench-session-secret-0123456789";

/**
 * Our server's env for the bench: room for every connection, and the abuse limits (shared through
 * Redis) raised out of the way, since all bench traffic comes from 127.0.0.1 and a few users.
 */
export const OUR_BENCH_ENV: ServerEnv = {
  MAX_CONNECTIONS: "30000",
  LOG_LEVEL: "warn",
  ...loopbackLimits(),
};

export interface Pod {
  name: string;
  url: string;
  pid: number;
  exited: Promise<unknown>;
  /** RSS from /proc, heap from the pod's own endpoint (our /metrics, the references' /stats). */
  memory(): Promise<PodMemory>;
  /** The graceful way this kind of server leaves: ours POST /drain (the preStop hook), stock SIGTERM. */
  leave(): Promise<void>;
  kill(): Promise<void>;
  output(): string;
}

export interface PodMemory {
  rss: number;
  heapUsed: number;
  /** V8 heap committed (all spaces) and memory outside it that V8 knows of (Buffers, ws). */
  heapTotal: number;
  external: number;
  /** Committed bytes per V8 space: new, old, code, large_object, ... */
  spaces: Record<string, number>;
}

export interface Cluster {
  kind: Kind;
  redis: RedisHandle;
  redisPid: number | undefined;
  pods: Pod[];
  /** Start one more pod of this kind (rollouts); it is not added to `pods`. */
  addPod(): Promise<Pod>;
  serverPids(): number[];
  stop(): Promise<void>;
}

export interface ClusterOptions {
  pods: number;
  /** Extra env for every server process (drain timings; the reference servers' switches). */
  env?: Record<string, string>;
  /** Ours from another build of server/dist/main.js (`--ours-entry`, a before/after comparison). */
  entry?: string;
}

const metric = (text: string, name: string) => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
};

/** prom-client's nodejs_heap_space_size_total_bytes{space="..."}, per space. */
const spaceSizes = (text: string) => {
  const spaces: Record<string, number> = {};
  for (const m of text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="([^"]+)"\} ([0-9.e+-]+)$/gm)) {
    spaces[m[1] as string] = Number(m[2]);
  }
  return spaces;
};

async function ourPod(redisUrl: string, opts: ClusterOptions): Promise<Pod> {
  const env = {
    REDIS_URL: redisUrl,
    SESSION_SECRET,
    ...OUR_BENCH_ENV,
    ...opts.env,
  };
  const pod = await startPod(opts.entry ? { env, entry: opts.entry } : { env });
  const pid = pod.proc.child.pid as number;
  return {
    name: pod.name,
    url: pod.url,
    pid,
    exited: pod.exited,
    async memory() {
      const text = String((await getJson(`${pod.adminUrl}/metrics`)).body);
      return {
        rss: rssBytes(pid) ?? 0,
        heapUsed: metric(text, "nodejs_heap_size_used_bytes"),
        heapTotal: metric(text, "nodejs_heap_size_total_bytes"),
        external: metric(text, "nodejs_external_memory_bytes"),
        spaces: spaceSizes(text),
      };
    },
    async leave() {
      await fetch(`${pod.adminUrl}/drain?delay_ms=0`, { method: "POST", signal: AbortSignal.timeout(5000) });
    },
    async kill() {
      await pod.stop("SIGKILL", 1000);
    },
    output: () => pod.proc.output(),
  };
}

let counter = 0;

/** A reference server (stock, ceiling) started as a testkit pod: PORT + ADMIN_PORT, ready on /stats. */
async function referencePod(kind: Kind, entry: string, env: Record<string, string>): Promise<Pod> {
  const pod = await startPod({ name: `${kind}-${++counter}`, entry, env, readyPath: "/stats" });
  const pid = pod.proc.child.pid as number;
  return {
    name: pod.name,
    url: pod.url,
    pid,
    exited: pod.exited,
    async memory() {
      const body = (await getJson(`${pod.adminUrl}/stats`)).body as Omit<PodMemory, "rss">;
      return {
        rss: rssBytes(pid) ?? 0,
        heapUsed: body.heapUsed,
        heapTotal: body.heapTotal,
        external: body.external,
        spaces: body.spaces,
      };
    },
    async leave() {
      pod.signal("SIGTERM");
    },
    async kill() {
      await pod.stop("SIGKILL", 1000);
    },
    output: () => pod.proc.output(),
  };
}

let cpuProfileDir: string | undefined;
/** pid -> window marks sent (see markServerProfiles). */
const profiledPids = new Map<number, number>();
let oursEntry: string | undefined;

/** `--ours-entry`: run ours from another build of server/dist/main.js (a before/after comparison). */
export function runOursFrom(entry: string | undefined) {
  oursEntry = entry;
}

/**
 * `--cpu-prof`: every server process started from now on writes a V8 CPU profile into `dir`
 * (servers/cpu-prof.ts, preloaded), and clusters stop with SIGTERM instead of SIGKILL so that it gets written.
 */
export function profileServersInto(dir: string | undefined) {
  cpuProfileDir = dir;
}

/**
 * With `--cpu-prof`, the servers' measured window (servers/cpu-prof.ts): `open` starts each
 * process' profile afresh (once), `close` writes it (once, after an open). Both are SIGUSR2.
 */
export function markServerProfiles(pids: number[], mark: "open" | "close") {
  const before = mark === "open" ? 0 : 1;
  for (const pid of pids) {
    // Only a process started with the preload handles SIGUSR2; to any other it is fatal.
    if (profiledPids.get(pid) !== before) continue;
    profiledPids.set(pid, before + 1);
    try {
      process.kill(pid, "SIGUSR2");
    } catch {
      // Gone already: nothing to profile.
    }
  }
}

/**
 * With `--cpu-prof`: the directory for one group of profiles (a rig's pods, the generators), or
 * the profiles' root without a name; undefined when not profiling.
 */
export function cpuProfileDirFor(name?: string): string | undefined {
  if (!cpuProfileDir) return undefined;
  return name ? join(cpuProfileDir, name) : cpuProfileDir;
}

/** Redis and `pods` server processes of one kind, each target on its own fresh Redis. */
export async function startCluster(kind: Kind, opts: ClusterOptions): Promise<Cluster> {
  const redis = await startRedis();
  const redisPid = findRedisPid(redis.port);
  const profiling = kind !== "ceiling" ? cpuProfileDir : undefined;
  if (kind === "ours" && oursEntry && !opts.entry) opts = { ...opts, entry: oursEntry };
  if (profiling) {
    opts = {
      ...opts,
      env: { ...opts.env, NODE_OPTIONS: `--import=${CPU_PROF_PRELOAD}`, CPU_PROF_DIR: join(profiling, kind) },
    };
  }
  const env = { REDIS_URL: redis.url, ...opts.env };
  const addPod = () =>
    kind === "ours" ? ourPod(redis.url, opts) : referencePod(kind, kind === "stock" ? STOCK_ENTRY : CEILING_ENTRY, env);
  const pods: Pod[] = [];
  const live = new Set<Pod>();
  const track = async () => {
    const pod = await addPod();
    if (profiling) profiledPids.set(pod.pid, 0);
    live.add(pod);
    void pod.exited.then(() => live.delete(pod));
    return pod;
  };
  try {
    for (let i = 0; i < opts.pods; i++) pods.push(await track());
  } catch (err) {
    for (const p of live) await p.kill();
    await redis.destroy();
    throw err;
  }
  return {
    kind,
    redis,
    redisPid,
    pods,
    addPod: track,
    serverPids: () => [...live].map((p) => p.pid),
    async stop() {
      if (profiling) {
        // A profile is written at a normal exit only; the clients are gone, so the drain is short.
        await Promise.all(
          [...live].map(async (p) => {
            process.kill(p.pid, "SIGTERM");
            await Promise.race([p.exited, new Promise((r) => setTimeout(r, 20_000))]);
          }),
        );
      }
      // SIGKILL: a bench teardown needs no drain, and a drain of thousands of sockets takes long.
      await Promise.all([...live].map((p) => p.kill()));
      await redis.destroy();
    },
  };
}

/** Whether the `ws` a server process loads can find bufferutil (the native masking helper). */
export function bufferutilFor(kind: Kind): boolean {
  try {
    const from = kind === "ours" ? createRequire(SERVER_ENTRY) : createRequire(fileURLToPath(import.meta.url));
    const wsPath =
      kind === "ceiling"
        ? from.resolve("ws")
        : createRequire(createRequire(from.resolve("socket.io")).resolve("engine.io")).resolve("ws");
    createRequire(wsPath).resolve("bufferutil");
    return true;
  } catch {
    return false;
  }
}

export const describeEntry = (kind: Kind) =>
  kind === "ours" ? dirname(SERVER_ENTRY) : kind === "stock" ? STOCK_ENTRY : CEILING_ENTRY;
