import type { ChatMessage, User } from "@chat/protocol";

export interface AppendInput {
  room: string;
  author: User;
  text: string;
  clientId: string;
}

export interface AppendResult {
  message: ChatMessage;
  /** True when this clientId was stored before: `message` is the original and nothing new was stored. */
  duplicate: boolean;
}

export interface HistoryResult {
  messages: ChatMessage[];
  cursor: number;
  trimmed: boolean;
}

/**
 * Room history. `append` checks the idempotency key, assigns the next seq and stores the message
 * in one atomic step, so a retried clientId (even raced on two pods) is stored once.
 */
export interface MessageStore {
  append(input: AppendInput): Promise<AppendResult>;
  /** Without `since`: the latest page. With it: every kept message with seq > since, or the latest page and `trimmed` when history no longer reaches back that far. */
  history(room: string, since?: number): Promise<HistoryResult>;
}

/** One connection's membership of one room. */
export interface PresenceEntry {
  room: string;
  connId: string;
  user: User;
}

/**
 * Who is in a room. Entries expire unless refreshed, so a pod that dies without cleaning up
 * leaves no ghost users behind.
 */
export interface PresenceStore {
  /**
   * Add a connection, unless another user present in the room already has this name (compared
   * case- and width-insensitively): then nothing is added and the result is false. Atomic.
   */
  add(entry: PresenceEntry): Promise<boolean>;
  remove(entry: PresenceEntry): Promise<void>;
  /** Heartbeat: extend the life of entries this pod still holds. */
  refresh(entries: PresenceEntry[]): Promise<void>;
  /** Live users of a room, one per user id, in order of arrival. */
  list(room: string): Promise<User[]>;
}

export interface Stores {
  messages: MessageStore;
  presence: PresenceStore;
}

export interface StoreLimits {
  historyLimit: number;
  historyPage: number;
  idempotencyTtlMs: number;
  /** A room's keys expire this long after its last message (every append refreshes them). */
  roomIdleTtlMs: number;
  presenceTtlMs: number;
}
