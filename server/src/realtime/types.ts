import type { ClientToServerEvents, ServerToClientEvents, User } from "@chat/protocol";
import type { Server, Socket } from "socket.io";

export interface SocketData {
  user: User;
  /** Issued at the handshake, emptied once the `session` event has carried it. */
  token: string;
  /** The client's address (see clientIp), for per-address limits. */
  ip: string;
  /** The protocol the client declared in `auth.protocol` (1 when it declared none). */
  protocol: number;
}

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
