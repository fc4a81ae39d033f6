import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { unknownVariables } from "./config-guard.js";

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const ms = (def: number, min = 0) => int(min).default(def);
const list = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );

/**
 * Every environment variable the server reads, with its default. This schema is the only place
 * env is read; the k8s policy tests check that manifests set no variable missing from it.
 */
export const envSchema = z
  .object({
    PORT: int(0, 65535).default(8080),
    /**
     * Listen address of both ports. Unset: Node's default, `::` (every IPv6 and, dual-stack,
     * every IPv4 address) where the host has IPv6, else 0.0.0.0. The image and the manifests set
     * `::` so probes and the preStop hook work on IPv4, IPv6 and dual-stack clusters alike.
     */
    HOST: z.string().min(1).optional(),
    /** Metrics and the preStop drain hook; never exposed through a Service or Ingress. */
    ADMIN_PORT: int(0, 65535).default(9090),
    POD_NAME: z.string().min(1).default(hostname()),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /**
     * Where Redis is: exactly one of REDIS_URL (one instance), REDIS_CLUSTER_NODES (host:port seeds
     * of a Redis Cluster) or REDIS_SENTINELS (host:port of the Sentinels watching
     * REDIS_SENTINEL_MASTER). None of them, and no other REDIS_* variable: embedded mode,
     * in-memory stores, one pod.
     */
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    REDIS_CLUSTER_NODES: list,
    REDIS_SENTINELS: list,
    REDIS_SENTINEL_MASTER: z.string().min(1).default("mymaster"),
    REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
    /** Password of the Redis nodes (Sentinel or Cluster; a REDIS_URL carries its own). */
    REDIS_PASSWORD: z.string().min(1).optional(),
    /**
     * A send is acknowledged only once this many replicas hold it (WAIT), so a failover cannot
     * lose it. Default: 1 with Sentinel, 1 on a Cluster whose masters have replicas, 0 otherwise.
     */
    REDIS_MIN_REPLICAS_ACK: int(0, 16).optional(),
    /** How long a send waits for its replicas before the sender gets `unavailable` (and retries). */
    REDIS_REPLICA_ACK_TIMEOUT_MS: ms(1000, 10),
    /** HMAC key for session tokens; every pod of one deployment needs the same value. */
    SESSION_SECRET: z.string().min(16, "SESSION_SECRET must be at least 16 characters").optional(),
    SESSION_TTL_MS: ms(7 * 24 * 3600_000, 60_000),
    HISTORY_LIMIT: int(1, 1_000_000).default(1000),
    HISTORY_PAGE: int(1, 1000).default(50),
    /** How long a clientId is remembered for retries. */
    IDEMPOTENCY_TTL_MS: ms(24 * 3600_000, 1000),
    /**
     * A room with no new message for this long disappears with all its keys (seq, history,
     * idempotency keys); a name used again afterwards starts a new room at seq 1.
     */
    ROOM_IDLE_TTL_MS: ms(3 * 24 * 3600_000, 1000),
    PRESENCE_TTL_MS: ms(15_000, 1000),
    /**
     * A room with more users than this is large: protocol-3 clients get a page of its presence and
     * `presence:count` instead of every join and leave (whose bytes grow with the square of the room).
     */
    PRESENCE_LIST_MAX: int(2, 1000).default(100),
    MAX_CONNECTIONS: int(1).default(10_000),
    /** Readiness returns once connections fall to this mark (default 90% of MAX_CONNECTIONS). */
    MAX_CONNECTIONS_LOW_WATER: int(0).optional(),
    DRAIN_WINDOW_MS: ms(10_000),
    HANDOVER_TIMEOUT_MS: ms(5_000),
    SHUTDOWN_TIMEOUT_MS: ms(25_000, 1000),
    PING_INTERVAL_MS: ms(25_000, 1000),
    PING_TIMEOUT_MS: ms(20_000, 1000),
    MAX_TEXT_LENGTH: int(1, 4000).default(2000),
    MAX_PAYLOAD_BYTES: int(1024, 1_048_576).default(16_384),
    MAX_ROOMS_PER_SOCKET: int(1, 1000).default(50),
    /** Abuse limits, shared by all pods through Redis (per pod in embedded mode). */
    RATE_WINDOW_MS: ms(10_000, 1000),
    RATE_MESSAGES_PER_USER: int(1).default(30),
    RATE_MESSAGES_PER_IP: int(1).default(300),
    RATE_JOINS_PER_USER: int(1).default(100),
    RATE_CONNECTIONS_PER_IP: int(1).default(300),
    RATE_CONNECTIONS_WINDOW_MS: ms(60_000, 1000),
    /** Rate-limited sends in a row before the connection is closed. */
    ABUSE_STRIKES: int(1).default(20),
    /** Proxies in front of the pods (the ingress = 1); their X-Forwarded-For entries are trusted. */
    TRUST_PROXY_HOPS: int(0, 10).default(0),
    /** A client that stops reading is disconnected once this much is queued for it. */
    SLOW_CLIENT_MAX_BUFFER_BYTES: int(65_536).default(4 * 1024 * 1024),
    SLOW_CLIENT_MAX_PACKETS: int(10).default(2000),
    /** Origins allowed to open a socket; empty = same origin only; "*" = any. */
    ALLOWED_ORIGINS: list,
    /** Directory of the built client; the default is the workspace's client/dist. */
    CLIENT_DIR: z.string().default(fileURLToPath(new URL("../../client/dist", import.meta.url))),
  })
  .superRefine((env, ctx) => {
    if (env.DRAIN_WINDOW_MS + env.HANDOVER_TIMEOUT_MS >= env.SHUTDOWN_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["SHUTDOWN_TIMEOUT_MS"],
        message: "must exceed DRAIN_WINDOW_MS + HANDOVER_TIMEOUT_MS so every client gets its full handover",
      });
    }
    const lowWater = env.MAX_CONNECTIONS_LOW_WATER;
    if (lowWater !== undefined && lowWater >= env.MAX_CONNECTIONS) {
      ctx.addIssue({ code: "custom", path: ["MAX_CONNECTIONS_LOW_WATER"], message: "must be below MAX_CONNECTIONS" });
    }
    const kinds = [
      env.REDIS_URL !== undefined && "REDIS_URL",
      env.REDIS_CLUSTER_NODES.length > 0 && "REDIS_CLUSTER_NODES",
      env.REDIS_SENTINELS.length > 0 && "REDIS_SENTINELS",
    ].filter((k): k is string => k !== false);
    if (kinds.length > 1) {
      ctx.addIssue({
        code: "custom",
        path: [kinds.join(", ")],
        message: "set only one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS",
      });
    }
    for (const key of ["REDIS_CLUSTER_NODES", "REDIS_SENTINELS"] as const) {
      for (const value of env[key]) {
        if (!/^[^\s:]+:\d{1,5}$/.test(value))
          ctx.addIssue({ code: "custom", path: [key], message: `"${value}" is not host:port` });
      }
    }
    const shared = kinds.length > 0;
    if (shared && env.SESSION_SECRET === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["SESSION_SECRET"],
        message: "is required with Redis: every pod must verify the others' session tokens",
      });
    }
  });

export type Env = z.infer<typeof envSchema>;

/** The name of every variable the server reads: code that sets one by name breaks when it is renamed. */
export type ServerEnvName = keyof z.input<typeof envSchema>;
/** An environment for a server process, as strings, keyed by the schema's names. */
export type ServerEnv = Partial<Record<ServerEnvName, string>>;
/** How the pod keeps its shared state; /readyz and the start-up log say which. */
export type RedisMode = "embedded" | "standalone" | "cluster" | "sentinel";

export interface Config extends Omit<Env, "SESSION_SECRET" | "MAX_CONNECTIONS_LOW_WATER"> {
  SESSION_SECRET: string;
  MAX_CONNECTIONS_LOW_WATER: number;
  mode: RedisMode;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parse the environment; a bad value or an unknown owned variable throws one error listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const names = Object.keys(envSchema.shape);
  const problems = unknownVariables(env, names).map(
    ({ name, closest }) => `  ${name}: not a variable of this server (did you mean ${closest}?)`,
  );
  const known = Object.fromEntries(names.map((k) => [k, env[k]]));
  // An empty variable means "use the default", as in most deployment tools.
  for (const k of Object.keys(known)) if (known[k] === "" || known[k] === undefined) delete known[k];
  const parsed = envSchema.safeParse(known);
  if (parsed.success) problems.push(...redisProblems(parsed.data, Object.keys(known)));
  else problems.push(...parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`));
  if (!parsed.success || problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.join("\n")}`);
  const e = parsed.data;
  return {
    ...e,
    // Embedded mode has one pod, so a per-process secret is enough.
    SESSION_SECRET: e.SESSION_SECRET ?? randomBytes(32).toString("hex"),
    MAX_CONNECTIONS_LOW_WATER: e.MAX_CONNECTIONS_LOW_WATER ?? Math.floor(e.MAX_CONNECTIONS * 0.9),
    mode: modeOf(e),
  };
}

const modeOf = (e: Env): RedisMode =>
  e.REDIS_SENTINELS.length > 0
    ? "sentinel"
    : e.REDIS_CLUSTER_NODES.length > 0
      ? "cluster"
      : e.REDIS_URL
        ? "standalone"
        : "embedded";

/** Redis variables that make no sense together with the mode (`set` lists the non-empty ones). */
function redisProblems(e: Env, set: string[]): string[] {
  const mode = modeOf(e);
  // Embedded mode only when nothing at all points at Redis: a stray REDIS_PASSWORD means a
  // deployment that meant to share state and lost its address on the way.
  const strays = set.filter((k) => k.startsWith("REDIS_"));
  if (mode === "embedded" && strays.length > 0) {
    return [`  ${strays.join(", ")}: set, but none of REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS is`];
  }
  const sentinelOnly = set.filter((k) => k.startsWith("REDIS_SENTINEL_"));
  if (mode !== "sentinel" && sentinelOnly.length > 0)
    return [`  ${sentinelOnly.join(", ")}: only used with REDIS_SENTINELS`];
  return [];
}

/** Names of all variables the server reads (for the manifests' drift test). */
export const ENV_NAMES = Object.keys(envSchema.shape);
