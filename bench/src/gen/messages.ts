/** Commands the orchestrator sends to a generator process, and what each answers. */

import type { ChatMessage } from "@chat/protocol";

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

/** One rollout client at the end of the run, as the delivery audit reads it (arrays over IPC). */
export interface ChatClientReport {
  name: string;
  room: string;
  /** Every message the client holds for its room (ours: by seq after dedupe; stock: every broadcast shown). */
  known: ChatMessage[];
  /** Ours: its messages the server confirmed as stored. */
  acked: ChatMessage[];
  /** Stock: clientIds the app emitted (a stock app has no outbox: an emit is final). */
  sent: string[];
  /** Message id -> broadcasts received, where above 1. */
  deliveries: [string, number][];
  /** Total time without a usable connection, ms. */
  disconnectedMs: number;
  handovers: number;
  reconnects: number;
  errors: string[];
}

export interface ChatReport {
  clients: ChatClientReport[];
  /** Per wall-clock second (epoch s): delivery delay histogram of this process' messages. */
  delayBySecond: Record<string, string>;
  /** Ours: the same delays split at the store's timestamp: send leg (to the store) and delivery leg (after it). */
  sendLegBySecond: Record<string, string>;
  deliverLegBySecond: Record<string, string>;
  /** Per second: how late a 10 ms timer of this process fired (event-loop lag). */
  lagBySecond: Record<string, string>;
  /** This process' event-loop delay over the run: a generator that falls behind shows here. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface ChatSettled {
  /** Sends still queued (ours: in the outbox). */
  pending: number;
  /** Per room, the highest seq this process' clients got acknowledged. */
  top: Record<string, number>;
}

/** Commands of the lean generator (fan-out, capacity). */
export type LeanCommand =
  | { cmd: "init"; gen: number }
  | ConnectCmd
  | JoinCmd
  | LoadCmd
  | { cmd: "stopLoad" }
  | { cmd: "window" }
  | { cmd: "closeAll" }
  | { cmd: "exit" };

/** Commands of the rollout generator (chat users on the shipped client core). */
export type ChatCommand =
  | { cmd: "init"; gen: number }
  | ChatStartCmd
  | ChatSendCmd
  | { cmd: "chatStop" }
  | { cmd: "chatSettle"; timeoutMs: number }
  | { cmd: "chatCatchUp"; top: Record<string, number>; timeoutMs: number }
  | { cmd: "chatReport" }
  | { cmd: "endpoints"; urls: string[] }
  | { cmd: "closeAll" }
  | { cmd: "exit" };

export type Command = LeanCommand | ChatCommand;

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
