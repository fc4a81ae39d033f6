import type { ClientToServerEvents, HandshakeAuth, ServerToClientEvents, TypingRequest } from "@chat/protocol";

/**
 * The slice of a Socket.IO client socket that the chat client uses. Production code wraps
 * `socket.io-client` (see socket-io.ts); unit tests inject a fake. Keeping it this small is
 * what makes the connection logic testable without a network.
 */
export interface TransportSocket {
  /** True between `connect` and `disconnect`. */
  readonly connected: boolean;
  /** True while the socket reconnects by itself (Socket.IO's `socket.active`). */
  readonly active: boolean;
  on<E extends keyof SocketEvents>(event: E, listener: SocketEvents[E]): void;
  /** Remove every listener added with `on`. */
  removeAllListeners(): void;
  /** Fire and forget. */
  emit(event: "typing", payload: TypingRequest): void;
  /** Emit with an acknowledgement; rejects on timeout or when the connection drops first. */
  request<E extends RequestEvent>(event: E, payload: RequestPayload<E>, timeoutMs: number): Promise<RequestResult<E>>;
  connect(): void;
  disconnect(): void;
}

/** A refusal from the server's handshake middleware carries `data: { code, message }`. */
export type ConnectError = Error & { data?: unknown };

export type SocketEvents = ServerToClientEvents & {
  connect: () => void;
  /** `reason` as in Socket.IO: "io server disconnect", "transport close", "ping timeout", ... */
  disconnect: (reason: string) => void;
  connect_error: (err: ConnectError) => void;
};

/** Client-to-server events that take an acknowledgement. */
export type RequestEvent =
  | "room:join"
  | "room:leave"
  | "room:presence"
  | "message:send"
  | "room:history"
  | "message:edit"
  | "message:delete"
  | "rooms:list";
export type RequestPayload<E extends RequestEvent> = Parameters<ClientToServerEvents[E]>[0];
/** The acknowledgement: `Response<JoinResult>` for "room:join", and so on. */
export type RequestResult<E extends RequestEvent> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0];

/**
 * Creates a socket that is NOT yet connected, on its own connection (a new Manager: a new
 * engine.io session, so through the ingress it may land on another pod). `auth` is called on
 * every handshake, so a dropped token or a new name apply on the next (re)connect.
 */
export type SocketFactory = (auth: () => HandshakeAuth) => TransportSocket;
