import type { ClientToServerEvents, ServerToClientEvents, User } from "@chat/protocol";
import type { Server, Socket } from "socket.io";

/**
 * What the pod keeps per socket beyond Socket.IO's own objects. The chat handlers are shared by
 * every socket of a pod (see createChatHandlers), so a socket's state lives here; an idle socket
 * holds its user, its protocol and a counter, nothing more.
 */
export interface SocketData {
  user: User;
  /** The protocol the client declared in `auth.protocol` (1 when it declared none). */
  protocol: number;
  /** Rate-limit refusals in a row; the next allowed action resets it (see ABUSE_STRIKES). */
  strikes: number;
  /** The chat rooms joined; made by the socket's first join. */
  rooms: Set<string> | undefined;
  /** room -> when this socket last said it is still typing there; made by its first typing event. */
  lastTyping: Map<string, number> | undefined;
}

/**
 * A socket's data with every field in place from the start: one object shape for all sockets,
 * its fields held in the object itself rather than in a separate backing store added later.
 */
export function socketData(user: User, protocol: number): SocketData {
  return { user, protocol, strikes: 0, rooms: undefined, lastTyping: undefined };
}

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
