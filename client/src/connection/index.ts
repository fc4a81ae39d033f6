export {
  ChatClient,
  type ChatClientOptions,
  defaultTiming,
  type NetworkMonitor,
  normalizeRoomName,
  type Timing,
} from "./chat-client.js";
export { describeError } from "./errors.js";
export type { OutboxEntry } from "./outbox.js";
export { socketIoFactory } from "./socket-io.js";
export {
  type ChatState,
  type ConnectionStatus,
  type RoomState,
  type TimelineItem,
  type TypingUser,
  timeline,
  totalDisconnectedMs,
} from "./state.js";
export { type KeyValueStorage, MemoryStorage } from "./storage.js";
export type { SocketFactory, TransportSocket } from "./transport.js";
