/** Commands the orchestrator sends to a generator process, and what each answers. */

export type Kind = "ours" | "stock" | "ceiling";

export interface ConnectCmd {
  cmd: "connect";
  role: "sub" | "send";
  urls: string[];
  count: number;
  concurrency: number;
}
export interface ConnectResult {
  ok: number;
  failed: number;
  errors: string[];
  ms: number;
  /** Per connection, from `new WebSocket` to the Socket.IO CONNECT ack, ms. */
  connectP50: number;
  connectP99: number;
}

export interface JoinCmd {
  cmd: "join";
  role: "sub" | "send" | "all";
  room: string;
  concurrency: number;
}
export interface JoinResult {
  ok: number;
  failed: number;
  errors: string[];
  ms: number;
  /** Bytes of the join acks received (ours carry the room's member list). */
  ackBytes: number;
}

export interface LoadCmd {
  cmd: "load";
  /** Messages per second sent by this process (spread over its senders). */
  rate: number;
  room: string;
  pad: string;
}

export interface WindowResult {
  ms: number;
  sent: number;
  acked: number;
  ackFailed: number;
  /** `message` events received by all connections of this process. */
  received: number;
  /** Other events (presence, typing, session…). */
  otherEvents: number;
  otherBytes: number;
  /** Delivery delay of messages this process sent, measured on its own clock (encoded histogram, µs). */
  latency: string;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  connected: number;
}

export interface ChatStartCmd {
  cmd: "chat";
  kind: Kind;
  urls: string[];
  clients: number;
  /** Global index of this process' first client; clients are spread over `rooms` rooms by index. */
  firstIndex: number;
  rooms: number;
  concurrency: number;
}
export interface ChatSendCmd {
  cmd: "chatSend";
  /** Messages per second for this process, spread over its clients. */
  rate: number;
  pad: string;
}

export interface ClientReport {
  room: string;
  /** clientIds this client's app handed over to send (its outbox, or emit for stock). */
  sent: string[];
  /** Sends still unacknowledged at the end (ours: in the outbox). */
  unacked: number;
  /** clientId → times the app showed it (after the client's own dedupe). */
  shown: Record<string, number>;
  /** Broadcasts received again and dropped by the client's dedupe (ours: same seq). */
  rawRedeliveries: number;
  /** Messages learned only through the end-of-run sync join (ours). */
  recoveredBySync: number;
  /** Each period without a usable connection, ms. */
  gaps: number[];
  connections: number;
  handovers: number;
  /** Cookie names an ingress set (e.g. HAProxy's `SERVERID`), kept and sent back like a browser does. */
  cookies: string[];
  errors: string[];
}

export interface ChatReport {
  clients: ClientReport[];
  /** Per wall-clock second (epoch s): delivery delay histogram of this process' messages. */
  delayBySecond: Record<string, string>;
}

export type Command =
  | { cmd: "init"; gen: number }
  | ConnectCmd
  | JoinCmd
  | LoadCmd
  | { cmd: "stopLoad" }
  | { cmd: "window" }
  | { cmd: "closeAll" }
  | ChatStartCmd
  | ChatSendCmd
  | { cmd: "chatStop" }
  | { cmd: "chatSettle"; timeoutMs: number }
  | { cmd: "chatReport" }
  | { cmd: "endpoints"; urls: string[] }
  | { cmd: "exit" };

export interface Envelope {
  id: number;
  body: Command;
}
export interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
