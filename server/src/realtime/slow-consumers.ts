import type { Config } from "../config.js";
import type { Metrics } from "../http/metrics.js";
import type { Logger } from "../logger.js";
import type { ChatServer } from "./types.js";

interface EngineConn {
  writeBuffer: unknown[];
  transport: { name: string; socket?: { bufferedAmount?: number } };
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
    for (const socket of io.of("/").sockets.values()) {
      const conn = socket.conn as unknown as EngineConn;
      const packets = conn.writeBuffer.length;
      const bytes = conn.transport.socket?.bufferedAmount ?? 0;
      if (packets <= config.SLOW_CLIENT_MAX_PACKETS && bytes <= config.SLOW_CLIENT_MAX_BUFFER_BYTES) continue;
      log.warn(
        { user: socket.data.user?.id, packets, bytes, transport: conn.transport.name },
        "disconnecting a slow consumer",
      );
      metrics.slowConsumers.inc();
      // Closing the transport drops the backlog at once; a polite disconnect packet would queue behind it.
      socket.conn.close();
    }
  }, CHECK_EVERY_MS);
  timer.unref();
  return timer;
}
