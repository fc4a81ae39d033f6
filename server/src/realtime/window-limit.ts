import { type RedisClient, script } from "../stores/redis-script.js";
import { WINDOW_COUNT } from "../stores/redis-scripts.js";
import type { Verdict } from "./rate-limits.js";

export interface WindowLimitOptions {
  /** Events allowed per key per window (e.g. RATE_CONNECTIONS_PER_IP). */
  limit: number;
  /** The window (e.g. RATE_CONNECTIONS_WINDOW_MS). */
  windowMs: number;
  /** Absent: this process is the only one counting (embedded mode), and the count is exact. */
  redis?: RedisClient;
  keyPrefix?: string;
  /** How long a count may wait in process before it is sent to Redis. */
  flushMs?: number;
  now?: () => number;
}

interface Entry {
  readonly ip: string;
  /** Index of the fixed window (epoch-aligned, so every pod agrees on it) this entry counts. */
  readonly window: number;
  /** The address' count across all pods, as Redis last answered it; includes our acknowledged part. */
  known: number;
  /** Admitted here, not yet sent. */
  unsent: number;
  /** Sent, not yet answered. */
  inFlight: number;
  /** Handshakes waiting because `unsent + inFlight` reached the chunk. */
  waiters: (() => void)[];
}

/**
 * A fixed-window limit per key (an address' handshakes, a user's joins), shared by every pod
 * without a Redis command per check. Below, "handshake" stands for any counted event and
 * "address" for its key.
 *
 * Each pod counts handshakes per address in process, in fixed windows aligned to the epoch (so all
 * pods agree on where a window starts), and settles with Redis in batches: one script per batch
 * (WINDOW_COUNT: an INCRBY + PEXPIREAT per address inside Redis, one command on the wire) every
 * `flushMs`, or at once when an address' unacknowledged count reaches
 * a chunk of max(1, ⌊limit / 20⌋). A handshake is admitted while `known + unacknowledged < limit`,
 * where `known` is the address' global count from the last reply; at a full chunk further
 * handshakes of that address wait for the reply instead of being decided blind.
 *
 * Bound: in one window an address gets at most `limit + (pods − 1) × chunk` handshakes across all
 * pods, so one pod (and embedded mode, which never leaves the process) is exact. Why: take the pod
 * p whose last admission was decided on the most recent reply (applied at Redis at time s). Its
 * rule gave `count(s) + p's unacknowledged ≤ limit`; every other pod q decided its own last
 * admission on a reply applied no later than s, so what q admitted that Redis had not counted by
 * s is at most q's unacknowledged handshakes then, which never exceed one chunk.
 *
 * Once an address is over, it is refused from memory until the window ends: a flood costs no Redis
 * round trips. If Redis fails, the unanswered counts are dropped and the limit fails open, as the
 * other limits do (reconnecting users must not be locked out by an outage).
 */
export class WindowLimit {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly chunk: number;
  private readonly redis: RedisClient | undefined;
  private readonly countScript: (keys: string[], args: number[]) => Promise<number[]>;
  private readonly keyPrefix: string;
  private readonly flushMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  private readonly dirty = new Set<Entry>();
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(opts: WindowLimitOptions) {
    this.limit = opts.limit;
    this.windowMs = opts.windowMs;
    this.chunk = Math.max(1, Math.floor(opts.limit / 20));
    this.redis = opts.redis;
    this.countScript = opts.redis ? script<number[]>(opts.redis, WINDOW_COUNT) : async () => [];
    this.keyPrefix = opts.keyPrefix ?? "chat:rl:conn:ip";
    this.flushMs = opts.flushMs ?? 200;
    this.now = opts.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), this.windowMs);
    this.sweeper.unref();
  }

  /** One handshake from `ip`: synchronous unless the address must wait for Redis' reply. */
  check(ip: string): Verdict | Promise<Verdict> {
    const now = this.now();
    const window = Math.floor(now / this.windowMs);
    let entry = this.entries.get(ip);
    if (entry?.window !== window) {
      entry = { ip, window, known: 0, unsent: 0, inFlight: 0, waiters: [] };
      this.entries.set(ip, entry);
    }
    const pending = entry.unsent + entry.inFlight;
    if (entry.known + pending >= this.limit) {
      return { ok: false, retryAfterMs: Math.max(1, (window + 1) * this.windowMs - now) };
    }
    if (this.redis && !this.closed) {
      if (pending >= this.chunk) {
        const waiting = entry;
        return new Promise<Verdict>((resolve) => waiting.waiters.push(() => resolve(this.check(ip))));
      }
      this.dirty.add(entry);
      if (pending + 1 >= this.chunk) this.immediate ??= setImmediate(() => this.flush());
      else if (!this.timer) {
        this.timer = setTimeout(() => this.flush(), this.flushMs);
        this.timer.unref();
      }
    }
    entry.unsent++;
    return { ok: true };
  }

  /** Stop the timers; waiting handshakes are admitted (the pod is going away). */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = this.immediate = undefined;
    for (const entry of this.entries.values()) {
      entry.inFlight = entry.unsent = 0;
      wake(entry);
    }
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = this.immediate = undefined;
    const redis = this.redis;
    if (!redis || this.closed || this.dirty.size === 0) return;
    const batch: { entry: Entry; sent: number }[] = [];
    for (const entry of this.dirty) {
      if (entry.unsent > 0) batch.push({ entry, sent: entry.unsent });
      entry.inFlight += entry.unsent;
      entry.unsent = 0;
    }
    this.dirty.clear();
    // A Cluster script must stay within one slot, so there each address travels alone; elsewhere
    // a flood of addresses goes in scripts of SCRIPT_KEYS, each short for Redis to run and within
    // what a call's arguments may hold.
    const groups = redis.isCluster ? batch.map((b) => [b]) : chunks(batch, SCRIPT_KEYS);
    for (const group of groups) {
      const keys: string[] = [];
      const args: number[] = [];
      for (const { entry, sent } of group) {
        keys.push(`${this.keyPrefix}:${entry.window}:${entry.ip}`);
        // Kept one window past its end, so a pod whose clock lags a little still finds it.
        args.push(sent, (entry.window + 2) * this.windowMs);
      }
      this.countScript(keys, args).then(
        (counts) => {
          group.forEach(({ entry, sent }, i) => {
            const count = counts[i];
            if (typeof count === "number") entry.known = Math.max(entry.known, count);
            this.settle(entry, sent);
          });
        },
        () => {
          for (const { entry, sent } of group) this.settle(entry, sent);
        },
      );
    }
  }

  private settle(entry: Entry, sent: number): void {
    entry.inFlight -= sent;
    wake(entry);
  }

  private sweep(): void {
    const window = Math.floor(this.now() / this.windowMs);
    for (const [ip, entry] of this.entries) {
      if (entry.window < window && entry.inFlight === 0 && entry.waiters.length === 0) this.entries.delete(ip);
    }
  }
}

const SCRIPT_KEYS = 500;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function wake(entry: Entry): void {
  const waiters = entry.waiters.splice(0);
  for (const w of waiters) w();
}
