export { ChatClient, type ChatClientEvents, type ChatClientOptions, normalizeRoomName } from "./chat-client.js";
export type { NetworkMonitor } from "./connection.js";
export {
  type ConnectionState,
  canTransition,
  connectionTransitions,
  IllegalTransitionError,
  statusOf,
} from "./connection-state.js";
export { describeError } from "./errors.js";
export type { Refusal, RefusalCode } from "./input.js";
export { type ClientLimits, protocolLimits } from "./limits.js";
export type { OutboxEntry } from "./outbox.js";
export { RequestError } from "./requests.js";
export { type SocketIoOptions, socketIoFactory } from "./socket-io.js";
export {
  type ChatState,
  type ConnectionStatus,
  type FeedItem,
  type RoomState,
  roomFeed,
  type TypingUser,
  totalDisconnectedMs,
} from "./state.js";
export { type KeyValueStorage, MemoryStorage } from "./storage.js";
export { defaultTiming, type Timing } from "./timing.js";
export type { SocketFactory, TransportSocket } from "./transport.js";
