import type { Config } from "../config.js";
import type { Metrics } from "../http/metrics.js";
import type { Logger } from "../logger.js";
import type { ChatServer } from "./types.js";

interface EngineConn {
  writeBuffer: unknown[];
  transport: { name: string; socket?: { bufferedAmount?: number; terminate?: () => void } };
  close(discard?: boolean): void;
}

const CHECK_EVERY_MS = 1000;

/**
 * Socket.IO queues without limit for a client that stops reading (its TCP window closes, ws
 * buffers, then engine.io's writeBuffer grows). Once a second, cut off any socket whose backlog
 * passes the limits, so one stalled client cannot grow the pod's memory without bound.
 */
export function guardSlowConsumers(
  io: ChatServer,
  config: Pick<Config, "SLOW_CLIENT_MAX_BUFFER_BYTES" | "SLOW_CLIENT_MAX_PACKETS">,
  log: Logger,
  metrics: Metrics,
): NodeJS.Timeout {
  const timer = setInterval(() => {
    let backlog = 0;
    let maxBytes = 0;
    for (const socket of io.of("/").sockets.values()) {
      const conn = socket.conn as unknown as EngineConn;
      const packets = conn.writeBuffer.length;
      const bytes = conn.transport.socket?.bufferedAmount ?? 0;
      if (packets <= config.SLOW_CLIENT_MAX_PACKETS && bytes <= config.SLOW_CLIENT_MAX_BUFFER_BYTES) {
        backlog += packets;
        maxBytes = Math.max(maxBytes, bytes);
        continue;
      }
      log.warn(
        { user: socket.data.user?.id, packets, bytes, transport: conn.transport.name },
        "disconnecting a slow consumer",
      );
      metrics.slowConsumers.inc();
      // Drop the backlog at once: a polite close would wait for the backlog to drain (never, for a
      // client that does not read), and a WebSocket close handshake would wait for its answer.
      conn.transport.socket?.terminate?.();
      conn.close(true);
    }
    metrics.backlogPackets.set(backlog);
    metrics.backlogMaxBytes.set(maxBytes);
  }, CHECK_EVERY_MS);
  timer.unref();
  return timer;
}
