import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Config } from "../config.js";
import type { RedisClient } from "../stores/redis-script.js";
import { WindowLimit } from "./window-limit.js";

export type Verdict = { ok: true } | { ok: false; retryAfterMs: number };

type LimitConfig = Pick<
  Config,
  | "RATE_WINDOW_MS"
  | "RATE_MESSAGES_PER_USER"
  | "RATE_MESSAGES_PER_IP"
  | "RATE_JOINS_PER_USER"
  | "RATE_CONNECTIONS_PER_IP"
  | "RATE_CONNECTIONS_WINDOW_MS"
>;

/**
 * Abuse limits as fixed-window counters in Redis, so a flooder is limited across every pod it
 * reaches. Once over, a key is blocked in process memory for the rest of the window, so a flood
 * costs no Redis round trips. If Redis is unreachable the limits fail open: sends fail with
 * `unavailable` anyway, and reconnecting users must not be locked out by an outage. The handshake
 * and join limits are counted in process and settled with Redis in batches (WindowLimit), within
 * a bound; the message limits stay one Redis check per message (their chunk would be 1 anyway).
 */
export class RateLimits {
  private readonly userMessages;
  private readonly ipMessages;
  private readonly userJoins;
  private readonly ipConnections;

  constructor(config: LimitConfig, redis?: RedisClient) {
    const make = (keyPrefix: string, points: number, durationMs: number) => {
      const duration = Math.max(1, Math.round(durationMs / 1000));
      return redis
        ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration, inMemoryBlockOnConsumed: points })
        : new RateLimiterMemory({ keyPrefix, points, duration });
    };
    this.userMessages = make("chat:rl:msg:user", config.RATE_MESSAGES_PER_USER, config.RATE_WINDOW_MS);
    this.ipMessages = make("chat:rl:msg:ip", config.RATE_MESSAGES_PER_IP, config.RATE_WINDOW_MS);
    // Not through rate-limiter-flexible: one Redis command per handshake was most of what a
    // connection cost above stock Socket.IO, and one per join a tenth of a join storm (WindowLimit).
    this.userJoins = new WindowLimit({
      limit: config.RATE_JOINS_PER_USER,
      windowMs: config.RATE_WINDOW_MS,
      redis,
      keyPrefix: "chat:rl:join:user",
    });
    this.ipConnections = new WindowLimit({
      limit: config.RATE_CONNECTIONS_PER_IP,
      windowMs: config.RATE_CONNECTIONS_WINDOW_MS,
      redis,
    });
  }

  /** One message by this user from this address. Both counters are checked in parallel. */
  message(userId: string, ip: string): Promise<Verdict> {
    return all([consume(this.userMessages, userId), consume(this.ipMessages, ip)]);
  }

  /** A join by this user; synchronous unless the user must wait for Redis. */
  join(userId: string): Verdict | Promise<Verdict> {
    return this.userJoins.check(userId);
  }

  /** A handshake from this address; synchronous unless the address must wait for Redis. */
  connection(ip: string): Verdict | Promise<Verdict> {
    return this.ipConnections.check(ip);
  }

  close(): void {
    this.userJoins.close();
    this.ipConnections.close();
  }
}

async function consume(limiter: RateLimiterMemory | RateLimiterRedis, key: string): Promise<Verdict> {
  try {
    await limiter.consume(key);
    return { ok: true };
  } catch (res) {
    if (res instanceof RateLimiterRes) return { ok: false, retryAfterMs: Math.max(1, res.msBeforeNext) };
    return { ok: true }; // Redis error: fail open (see the class comment).
  }
}

async function all(checks: Promise<Verdict>[]): Promise<Verdict> {
  const verdicts = await Promise.all(checks);
  const refused = verdicts.filter((v): v is { ok: false; retryAfterMs: number } => !v.ok);
  return refused.length === 0
    ? { ok: true }
    : { ok: false, retryAfterMs: Math.max(...refused.map((v) => v.retryAfterMs)) };
}

/**
 * The client's address. Behind `hops` trusted proxies, each appending to X-Forwarded-For, the
 * client is the entry `hops` from the end; anything before it may be forged by the client.
 */
export function clientIp(req: IncomingMessage, hops: number): string {
  return forwardedClient(req.headers, req.socket.remoteAddress, hops);
}

/** clientIp from a request's headers and peer address (a socket's `handshake` keeps both). */
export function forwardedClient(headers: IncomingHttpHeaders, remote: string | undefined, hops: number): string {
  const peer = remote ?? "unknown";
  if (hops === 0) return peer;
  const header = headers["x-forwarded-for"];
  const chain = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return chain[chain.length - hops] ?? peer;
}
