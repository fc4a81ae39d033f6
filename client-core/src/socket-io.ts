import type { ClientToServerEvents, ServerToClientEvents } from "@chat/protocol";
import { io, type Socket } from "socket.io-client";
import type { SocketFactory, TransportSocket } from "./transport.js";

export interface SocketIoOptions {
  /**
   * Server origin; undefined = the page's own origin (production, and `pnpm dev` through Vite's
   * proxy). A function is asked once per new connection: a test's "load balancer" among pods.
   */
  url?: string | (() => string) | undefined;
  /** Default: WebSocket first, long-polling when WebSocket is blocked. */
  transports?: ("websocket" | "polling")[];
}

/** The production transport: one Socket.IO client per call, each on its own Manager. */
export function socketIoFactory({ url, transports = ["websocket", "polling"] }: SocketIoOptions = {}): SocketFactory {
  return (auth) => {
    const target = typeof url === "function" ? url() : url;
    const options = {
      // Evaluated on every handshake: a dropped token or a new name apply on the next reconnect.
      auth: (cb) => cb(auth()),
      // The ingress keeps a polling session on one pod with a cookie; cross-origin that cookie
      // is only sent with credentials.
      withCredentials: true,
      // WebSocket first (no polling round trips, no upgrade), long-polling when WebSocket is
      // blocked: without tryAllTransports a failed WebSocket would never fall back.
      transports,
      tryAllTransports: true,
      // Never share a Manager: a handover needs a second engine.io session.
      forceNew: true,
      autoConnect: false,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
    } satisfies Parameters<typeof io>[1];
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = target ? io(target, options) : io(options);
    return wrap(socket);
  };
}

function wrap(socket: Socket<ServerToClientEvents, ClientToServerEvents>): TransportSocket {
  return {
    get connected() {
      return socket.connected;
    },
    get active() {
      return socket.active;
    },
    on(event, listener) {
      // The event maps line up; Socket.IO's overloads cannot see that through a generic key.
      (socket.on as (e: string, l: (...args: never[]) => void) => void)(event, listener);
    },
    removeAllListeners() {
      socket.removeAllListeners();
    },
    emit(event, payload) {
      socket.emit(event, payload);
    },
    request(event, payload, timeoutMs) {
      const emitWithAck = socket.timeout(timeoutMs).emitWithAck as (e: string, p: unknown) => Promise<never>;
      return emitWithAck.call(socket, event, payload);
    },
    connect() {
      socket.connect();
    },
    disconnect() {
      socket.disconnect();
    },
  };
}
