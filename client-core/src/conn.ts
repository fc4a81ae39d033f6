import type { Session } from "@chat/protocol";
import type { Timer } from "./timing.js";
import type { TransportSocket } from "./transport.js";

/** One socket and what has been established on it. */
export class Conn {
  session: Session | null = null;
  /** Bumped on every session and disconnect: answers to requests made before are stale. */
  epoch = 0;
  reconnectTimer: Timer | null = null;
  reconnectAttempt = 0;
  closed = false;

  constructor(readonly socket: TransportSocket) {}
}
