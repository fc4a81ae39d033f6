import { type ChatMessage, nameSchema, roomSchema, type User } from "@chat/protocol";
import type { ConnectionState } from "./connection-state.js";
import { type ClientLimits, protocolLimits } from "./limits.js";
import type { OutboxEntry, OutboxStore } from "./outbox.js";
import { readSavedRooms, type SafeStorage, StorageKeys } from "./storage.js";

/**
 * What the UI shows, derived from `ConnectionState` (see connection-state.ts, `statusOf`).
 * `connected`: a socket with a session is in use. `reconnecting`: trying to get one (also the
 * first attempt). `offline`: not trying: no name yet, the browser has no network, or the server
 * refused us for a reason only the user can fix (e.g. the name is taken).
 */
export type ConnectionStatus = "connected" | "reconnecting" | "offline";

export interface TypingUser {
  readonly user: User;
  /** Epoch ms after which the indicator is dropped even if no "stopped typing" arrives. */
  readonly expiresAt: number;
}

export interface RoomState {
  readonly name: string;
  /** Sorted by seq, no duplicates; may have holes above `contiguous` until they are filled. */
  readonly messages: readonly ChatMessage[];
  /** Resume cursor: the highest seq below which everything has been seen (or deliberately skipped). */
  readonly contiguous: number;
  /** True once a join has answered: `contiguous` means something and rejoins send `since`. */
  readonly loaded: boolean;
  /** Members, sorted by name: all of them, or in a large room (`presencePartial`) the ones loaded so far. */
  readonly presence: readonly User[];
  /** The room's number of users: the server's count in a large room, else `presence.length`. */
  readonly presenceCount: number;
  /** The room is large (protocol 3): `presence` is a sample that may be stale; `reloadPresence` starts over. */
  readonly presencePartial: boolean;
  /** More of a large room's members can be loaded (`loadMorePresence`). */
  readonly presenceHasMore: boolean;
  /** A page of members is on its way. */
  readonly presenceLoading: boolean;
  /** Why the last page of members could not be loaded. */
  readonly presenceError: string | null;
  /** The server may hold messages older than the first one here (`loadOlder` fetches them). */
  readonly hasMore: boolean;
  /** A `room:history` page is on its way. */
  readonly loadingOlder: boolean;
  readonly typing: readonly TypingUser[];
  /** Messages from others that arrived while another room was open. */
  readonly unread: number;
  /** Something the user should know about the room's history (e.g. it was trimmed). */
  readonly notice: string | null;
  /** Why joining failed, when the client gave up retrying. */
  readonly error: string | null;
}

export interface ChatState {
  /** The display name the user chose; null until they pick one. */
  readonly name: string | null;
  /** Who the server says we are (from the latest session). */
  readonly user: User | null;
  /** The connection state machine's current state; `status` and `handingOver` derive from it. */
  readonly connection: ConnectionState;
  readonly status: ConnectionStatus;
  /** A short explanation while not connected, e.g. "All servers are full; retrying." */
  readonly statusDetail: string | null;
  /** The pod serving the connection in use. */
  readonly pod: string | null;
  /** What the server accepts (`session.limits`; the protocol's own before a session or from a protocol 1 server). */
  readonly limits: ClientLimits;
  /** A make-before-break move to another pod is under way. */
  readonly handingOver: boolean;
  /** Sessions established so far (first connect, reconnects and handovers). */
  readonly connections: number;
  /** Total ms without a usable connection since the first one, not counting the current outage. */
  readonly disconnectedMs: number;
  /** When the current outage began (epoch ms), or null while connected. */
  readonly disconnectedSince: number | null;
  /** Room names in tab order. */
  readonly roomOrder: readonly string[];
  readonly rooms: Readonly<Record<string, RoomState>>;
  readonly activeRoom: string | null;
  /** Unacknowledged messages, oldest first. */
  readonly outbox: readonly OutboxEntry[];
  /** An error not tied to a message (join failures and the like). */
  readonly error: string | null;
  /** Why the server refused the name. */
  readonly nameError: string | null;
}

/** Disconnected time including the outage in progress. */
export function totalDisconnectedMs(
  state: Pick<ChatState, "disconnectedMs" | "disconnectedSince">,
  now: number,
): number {
  return state.disconnectedMs + (state.disconnectedSince === null ? 0 : Math.max(0, now - state.disconnectedSince));
}

/** One line of the message list: a stored message, or one of ours still in the outbox. */
export interface FeedItem {
  readonly key: string;
  readonly seq: number | null;
  readonly clientId: string;
  readonly author: User;
  readonly text: string;
  readonly ts: number;
  readonly status: "pending" | "sent" | "failed";
  readonly error: string | null;
}

/** The room's messages in seq order followed by our queued ones in the order they were written. */
export function roomFeed(
  room: Pick<RoomState, "name" | "messages">,
  outbox: readonly OutboxEntry[],
  me: User | null,
): FeedItem[] {
  const items: FeedItem[] = room.messages.map((m) => ({
    // Our own messages keep their clientId as key from pending to sent, so the row is not re-created.
    key: m.author.id === me?.id ? m.clientId : m.id,
    seq: m.seq,
    clientId: m.clientId,
    author: m.author,
    text: m.text,
    ts: m.ts,
    status: "sent",
    error: null,
  }));
  const author = me ?? { id: "", name: "" };
  for (const e of outbox) {
    if (e.room !== room.name) continue;
    items.push({
      key: e.clientId,
      seq: null,
      clientId: e.clientId,
      author,
      text: e.text,
      ts: e.createdAt,
      status: e.status,
      error: e.error,
    });
  }
  return items;
}

export function emptyRoom(name: string): RoomState {
  return {
    name,
    messages: [],
    contiguous: 0,
    loaded: false,
    presence: [],
    presenceCount: 0,
    presencePartial: false,
    presenceHasMore: false,
    presenceLoading: false,
    presenceError: null,
    hasMore: false,
    loadingOlder: false,
    typing: [],
    unread: 0,
    notice: null,
    error: null,
  };
}

/** The state a client starts with: the saved name, rooms and outbox; not connected. */
export function initialState(storage: SafeStorage, outboxStore: OutboxStore): ChatState {
  const isRoom = (r: string) => roomSchema.safeParse(r).success;
  const saved = readSavedRooms(storage, isRoom);
  const outbox = outboxStore.load();
  // A message queued in a room that another tab's room list dropped keeps its room.
  for (const e of outbox) if (!saved.rooms.includes(e.room) && isRoom(e.room)) saved.rooms.push(e.room);
  const name = storage.get(StorageKeys.name);
  return {
    name: name && nameSchema.safeParse(name).success ? name : null,
    user: null,
    connection: "idle",
    status: "offline",
    statusDetail: null,
    pod: null,
    limits: protocolLimits,
    handingOver: false,
    connections: 0,
    disconnectedMs: 0,
    disconnectedSince: null,
    roomOrder: saved.rooms,
    rooms: Object.fromEntries(saved.rooms.map((r) => [r, emptyRoom(r)])),
    activeRoom: saved.active,
    outbox: outbox.filter((e) => saved.rooms.includes(e.room)),
    error: null,
    nameError: null,
  };
}
