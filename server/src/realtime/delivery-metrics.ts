import type { ChatMessage } from "@chat/protocol";
import type { Metrics } from "../http/metrics.js";
import type { Logger } from "../logger.js";
import { roomTag } from "../stores/keys.js";
import type { ChatServer } from "./types.js";

interface AdapterInternals {
  rooms: Map<string, Set<string>>;
  _encode(packet: { data?: unknown[] }, opts: unknown): unknown;
}

/**
 * Count deliveries where Socket.IO encodes a broadcast: the in-memory adapter calls `_encode` once
 * per broadcast per pod, on the local path and on the path relayed through Redis alike. So the
 * cost is one room-size lookup per message per pod, not a listener call per delivery (a per-socket
 * `onAnyOutgoing` listener copies its listener array on every write). `_encode` is internal to
 * socket.io-adapter (pinned by the lockfile); the metrics test fails if it ever stops being called.
 */
export function instrumentDeliveries(io: ChatServer, metrics: Metrics, log: Logger) {
  const adapter = io.of("/").adapter as unknown as AdapterInternals;
  if (typeof adapter._encode !== "function") {
    log.warn("socket.io-adapter has no _encode: chat_messages_delivered_total stays at 0");
    return;
  }
  const encode = adapter._encode.bind(adapter);
  adapter._encode = (packet, opts) => {
    const [event, payload] = packet.data ?? [];
    if (event === "message") {
      const message = payload as ChatMessage;
      metrics.countDeliveries(adapter.rooms.get(roomTag(message.room))?.size ?? 0);
      metrics.deliveryLatency.observe(Math.max(0, Date.now() - message.ts) / 1000);
    }
    return encode(packet, opts);
  };
}
