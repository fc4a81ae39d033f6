import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { ChatServer, ChatSocket } from "../realtime/types.js";
import type { Lifecycle } from "./lifecycle.js";
import type { Tasks } from "./tasks.js";

export type DrainConfig = Pick<Config, "DRAIN_WINDOW_MS" | "HANDOVER_TIMEOUT_MS" | "SHUTDOWN_TIMEOUT_MS">;

/** Smallest gap between two batches of drain notices. */
const BATCH_EVERY_MS = 50;
/** Time kept back at the end of SHUTDOWN_TIMEOUT_MS for closing connections and Redis. */
const CLOSE_RESERVE_MS = 1000;

/**
 * The graceful drain: refuse new handshakes (the lifecycle gate), tell sockets to move in
 * staggered batches over DRAIN_WINDOW_MS, give each HANDOVER_TIMEOUT_MS to open its new
 * connection, and finish when the last socket is gone, never later than SHUTDOWN_TIMEOUT_MS.
 */
export class Drainer {
  private finished: Promise<void> | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  startedAt = 0;

  constructor(
    private readonly io: ChatServer,
    private readonly lifecycle: Lifecycle,
    private readonly tasks: Tasks,
    private readonly config: DrainConfig,
    private readonly log: Logger,
  ) {}

  get draining() {
    return this.finished !== undefined;
  }

  /** Start (once) and resolve when every client has left and in-flight work has settled. */
  start(): Promise<void> {
    this.finished ??= this.run();
    return this.finished;
  }

  /** A socket whose handshake raced the drain start is told at once. */
  notifyLate(socket: ChatSocket) {
    this.notify(socket, Date.now());
  }

  private async run(): Promise<void> {
    this.lifecycle.beginDrain();
    this.startedAt = Date.now();
    const hardStop = this.startedAt + Math.max(0, this.config.SHUTDOWN_TIMEOUT_MS - CLOSE_RESERVE_MS);
    const sockets = shuffle([...this.io.of("/").sockets.values()]);
    this.log.info({ sockets: sockets.length, windowMs: this.config.DRAIN_WINDOW_MS }, "drain started");

    // Staggered: the other pods see a steady trickle of reconnects instead of a storm.
    const window = this.config.DRAIN_WINDOW_MS;
    const steps = Math.max(1, Math.min(sockets.length, Math.floor(window / BATCH_EVERY_MS)));
    const perStep = Math.ceil(sockets.length / steps);
    for (let step = 0; step < steps; step++) {
      const batch = sockets.slice(step * perStep, (step + 1) * perStep);
      const at = steps === 1 ? 0 : Math.round((step * window) / steps);
      this.later(at, () => {
        for (const s of batch) this.notify(s, Date.now());
      });
    }

    await new Promise<void>((resolve) => {
      const check = () => {
        if (this.io.of("/").sockets.size === 0) resolve();
      };
      this.io.of("/").on("connection", (s) => s.once("disconnect", check));
      for (const s of sockets) s.once("disconnect", check);
      this.later(hardStop - Date.now(), () => {
        const left = this.io.of("/").sockets.size;
        if (left > 0) this.log.warn({ sockets: left }, "shutdown timeout: closing the remaining sockets");
        // local: through the Redis adapter this would disconnect every pod's sockets.
        this.io.local.disconnectSockets(true);
        resolve();
      });
      check();
    });
    for (const t of this.timers) clearTimeout(t);
    // Sends already stored get their ack; presence cleanup reaches Redis.
    const settled = await this.tasks.settle(Math.max(100, hardStop + CLOSE_RESERVE_MS / 2 - Date.now()));
    this.log.info({ settled, ms: Date.now() - this.startedAt }, "drain finished");
  }

  private notify(socket: ChatSocket, now: number) {
    if (!socket.connected) return;
    const deadline = now + this.config.HANDOVER_TIMEOUT_MS;
    socket.emit("server:draining", { deadline });
    this.later(deadline - now, () => socket.disconnect(true));
  }

  private later(ms: number, fn: () => void) {
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        fn();
      },
      Math.max(0, ms),
    );
    this.timers.add(t);
  }
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}
