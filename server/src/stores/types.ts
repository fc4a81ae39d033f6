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

export interface ReviseInput {
  room: string;
  seq: number;
  /** Only the author may revise a message. */
  userId: string;
  /** New text, or null to delete. */
  text: string | null;
}

export type ReviseResult =
  /** `changed` false: the message already was in that state (a retry); nothing new was stored. */
  { ok: true; message: ChatMessage; changed: boolean } | { ok: false; reason: "not_found" | "forbidden" | "deleted" };

export interface HistoryPageResult {
  messages: ChatMessage[];
  hasMore: boolean;
}

/**
 * Room history. `append` checks the idempotency key, assigns the next seq and stores the message
 * in one atomic step, so a retried clientId (even raced on two pods) is stored once.
 */
export interface MessageStore {
  append(input: AppendInput): Promise<AppendResult>;
  /** Without `since`: the latest page. With it: every kept message with seq > since, or the latest page and `trimmed` when history no longer reaches back that far. */
  history(room: string, since?: number): Promise<HistoryResult>;
  /**
   * Edit (text) or delete (null) a kept message: one atomic step that checks the author, takes
   * the room's next seq for the revision, stores the new state and, for a deletion, removes the
   * text. Without `since`, history shows current states; with it, it also brings the current
   * state of older messages revised after `since`.
   */
  revise(input: ReviseInput): Promise<ReviseResult>;
  /** Up to `limit` kept messages with seq < before (current state, no deleted ones), oldest first. */
  page(room: string, before: number, limit: number): Promise<HistoryPageResult>;
}

/** Rooms with recent messages or present members, for `rooms:list`. */
export interface RoomDirectory {
  /** A message was stored at `ts` (store clock) / someone is present (`ts` = now). Best effort. */
  touch(room: string, kind: "message" | "presence", ts: number): Promise<void>;
  /** Candidates, most recent first: rooms seen since `presenceSince`, and rooms with messages since `messagesSince`. */
  recent(presenceSince: number, messagesSince: number): Promise<{ seen: string[]; lastMessage: Map<string, number> }>;
}

/** One connection's membership of one room. */
export interface PresenceEntry {
  room: string;
  connId: string;
  user: User;
}

/** A room's users at a presence version: all of them, or one page when `next` is not null. */
export interface PresenceList {
  version: number;
  users: User[];
  /** The room's number of users at `version` (exact, also when `users` is a page). */
  count: number;
  /** Where the page walk goes on; null when `users` ends it (or is the full list). */
  next: string | null;
}

/**
 * Which users to return. Without it, all of them (protocol 1 and 2). With it: all of them when
 * the room has at most `limit` and no cursor is given, else a page of about `size` (default
 * `limit`) users from `cursor` (absent: a walk's start). Like Redis SCAN, a walk may repeat or
 * miss users that join or leave during it. A cursor the store cannot read throws
 * PresenceCursorError before any change.
 */
export interface PresencePage {
  limit: number;
  size?: number;
  cursor?: string;
}

export class PresenceCursorError extends Error {
  constructor(cursor: string) {
    super(`cursor: ${cursor} is not a presence cursor`);
    this.name = "PresenceCursorError";
  }
}

/**
 * Who is in a room, per connection, with a version per room that moves by one for every change of
 * the set of users (a user's first connection in, their last one out: a second tab or a handover
 * changes nothing). Entries expire unless refreshed, so a pod that dies without cleaning up leaves
 * no ghost users behind; every call first sweeps expired entries and returns the leaves that
 * caused (`left`), which its caller announces.
 */
export interface PresenceStore {
  /**
   * Add a connection, unless another user present in the room already has this name (compared
   * case- and width-insensitively): then nothing is added and `added` is false. Atomic; answers
   * with the room's list (or its first page) after the change and `joined` when this was the
   * user's first connection.
   */
  add(entry: PresenceEntry, page?: PresencePage): Promise<PresenceAdd>;
  /** Remove a connection; `left` holds the user when it was their last one. */
  remove(entry: PresenceEntry): Promise<PresenceChange[]>;
  /** Heartbeat: extend the life of entries this pod still holds. */
  refresh(entries: PresenceEntry[]): Promise<PresenceChange[]>;
  /** Live users of a room (or a page of them), one per user id, in no particular order. */
  list(room: string, page?: PresencePage): Promise<PresenceList & { left: PresenceChange[] }>;
  /**
   * Claim the room's next size announcement (`presence:count` of a large room), so that however
   * many pods made changes, the room hears its size at most once per `intervalMs`. `version` is
   * the latest change the caller must see announced. Answers the size to announce (the caller
   * won the claim), `{ retryInMs }` (an announcement went out less than `intervalMs` ago, before
   * that change: ask again then), or null (one already covered it, or the room is gone).
   */
  claimCount(room: string, version: number, intervalMs: number): Promise<CountClaim>;
}

export type CountClaim = { version: number; count: number } | { retryInMs: number } | null;

export interface PresenceAdd extends PresenceList {
  added: boolean;
  joined: PresenceChange | null;
  /** Leaves found by the sweep (expired entries of other connections). */
  left: PresenceChange[];
}

/** A user entering or leaving a room at a presence version (the room is the caller's). */
export interface PresenceChange {
  room: string;
  version: number;
  user: User;
  /** The room's number of users right after this change. */
  count: number;
}

export interface Stores {
  messages: MessageStore;
  presence: PresenceStore;
  rooms: RoomDirectory;
}

export interface StoreLimits {
  historyLimit: number;
  historyPage: number;
  idempotencyTtlMs: number;
  /** A room's keys expire this long after its last message (every append refreshes them). */
  roomIdleTtlMs: number;
  presenceTtlMs: number;
}
