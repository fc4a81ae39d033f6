/**
 * The chat wire contract, shared by the server, the browser client, the tests and the benchmarks.
 *
 * Names here are fixed: other clients rely on them. Extend (new optional fields, new events,
 * new error codes) and bump PROTOCOL_VERSION on breaking changes; never rename.
 */
import { z } from "zod";

/**
 * 2: edits and deletions take seqs of the room's sequence (a seq is a message or a revision),
 * `message:revised`, `room:history`, `rooms:list`, session limits; presence deltas
 * (`presence:delta`, `room:presence`, `presenceVersion` in the join ack).
 * 3: paged presence for large rooms (`presenceCount` and `presenceNext` in the join ack,
 * `presence:count`, `room:presence { cursor }`, `limits.presenceListMax`).
 * Servers keep serving 1 and 2.
 */
export const PROTOCOL_VERSION = 3;
/**
 * A client gets presence deltas only when it declares at least this in `auth.protocol` (one that
 * declares 1 or nothing keeps getting full `presence` lists).
 */
export const PRESENCE_DELTA_PROTOCOL = 2;
/**
 * A client that declares at least this gets a large room's presence paged: a first page and the
 * count in the join ack, `presence:count` instead of deltas while the room stays large.
 */
export const PRESENCE_PAGED_PROTOCOL = 3;

/** Every error ack carries one of these codes. */
export const ErrorCode = {
  InvalidPayload: "invalid_payload",
  NotInRoom: "not_in_room",
  RateLimited: "rate_limited",
  Unavailable: "unavailable",
  ServerFull: "server_full",
  Draining: "draining",
  Unauthorized: "unauthorized",
  NameTaken: "name_taken",
  TooManyRooms: "too_many_rooms",
  Forbidden: "forbidden",
  NotFound: "not_found",
  Internal: "internal",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Hard upper bounds of the protocol; a server may configure lower ones. */
export const Limits = {
  nameLength: 32,
  roomLength: 40,
  textLength: 4000,
  clientIdLength: 64,
  tokenLength: 1024,
  /** Most messages one `room:history` page returns (servers may cap lower with HISTORY_PAGE). */
  historyPage: 200,
} as const;

// Letters, digits and "-_" only: a room name ends up in Redis keys, URLs and log lines.
export const ROOM_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
// Printable names: no control characters, no bidi overrides that could spoof other users.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const UNSAFE_NAME = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

export const roomSchema = z
  .string()
  .min(1)
  .max(Limits.roomLength)
  .regex(ROOM_PATTERN, "room names use a-z, 0-9, '-' and '_'");
export const nameSchema = z
  .string()
  .trim()
  .min(1)
  .max(Limits.nameLength)
  .refine((s) => !UNSAFE_NAME.test(s), "names cannot contain control characters");
export const clientIdSchema = z
  .string()
  .min(8)
  .max(Limits.clientIdLength)
  .regex(/^[A-Za-z0-9_-]+$/, "clientId uses A-Z, a-z, 0-9, '-' and '_'");
export const textSchema = z
  .string()
  .min(1)
  .max(Limits.textLength)
  .refine((s) => s.trim().length > 0, "text cannot be blank");

export const handshakeAuthSchema = z.object({
  name: nameSchema.optional(),
  token: z.string().max(Limits.tokenLength).optional(),
  protocol: z.number().int().optional(),
});
export const joinSchema = z.object({
  room: roomSchema,
  since: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});
export const leaveSchema = z.object({ room: roomSchema });
/** An opaque page cursor: `presenceNext` of a join ack or `next` of a `room:presence` answer. */
export const presenceCursorSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[0-9]+$/, "cursor is a presence cursor");
export const presenceRequestSchema = z.object({
  room: roomSchema,
  /** Protocol 3: continue a page walk; without it the walk (or the full list) starts over. */
  cursor: presenceCursorSchema.optional(),
});
export const sendSchema = z.object({ room: roomSchema, text: textSchema, clientId: clientIdSchema });
export const typingSchema = z.object({ room: roomSchema, typing: z.boolean() });
const seqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const historySchema = z.object({
  room: roomSchema,
  before: seqSchema,
  /** Servers answer at most `Limits.historyPage` however many are asked for. */
  limit: z.number().int().min(1).max(1000).optional(),
});
/** `<room>:<seq>`, as in `ChatMessage.id`. */
export const messageIdSchema = z
  .string()
  .max(Limits.roomLength + 17)
  .regex(/^[a-z0-9][a-z0-9_-]*:[1-9][0-9]{0,15}$/, "id is <room>:<seq>");
export const editSchema = z.object({ room: roomSchema, id: messageIdSchema, text: textSchema });
export const deleteSchema = z.object({ room: roomSchema, id: messageIdSchema });
export const roomsListSchema = z.object({});

export type HandshakeAuth = z.infer<typeof handshakeAuthSchema>;
export type JoinRequest = z.infer<typeof joinSchema>;
export type LeaveRequest = z.infer<typeof leaveSchema>;
export type PresenceRequest = z.infer<typeof presenceRequestSchema>;
export type SendRequest = z.infer<typeof sendSchema>;
export type TypingRequest = z.infer<typeof typingSchema>;
export type HistoryRequest = z.infer<typeof historySchema>;
export type EditRequest = z.infer<typeof editSchema>;
export type DeleteRequest = z.infer<typeof deleteSchema>;
export type RoomsListRequest = z.infer<typeof roomsListSchema>;

/** The seq named by a message id (`general:42` -> 42) and whether it belongs to `room`. */
export function seqOfId(room: string, id: string): number | null {
  const colon = id.lastIndexOf(":");
  if (id.slice(0, colon) !== room) return null;
  const seq = Number(id.slice(colon + 1));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

export interface User {
  id: string;
  name: string;
}

export interface ChatMessage {
  /** Globally unique: `${room}:${seq}`. */
  id: string;
  /** Per-room, gapless, strictly increasing, assigned atomically with storage. */
  seq: number;
  room: string;
  author: User;
  text: string;
  clientId: string;
  /** Epoch ms, taken from the store's clock so that all pods agree. */
  ts: number;
  /** Epoch ms of the latest edit (store clock). */
  editedAt?: number;
  /** Deleted by its author: `text` is "" and the original text is gone from the store. */
  deleted?: true;
  /** The seq of the revision (edit or deletion) that produced this state; absent while never revised. */
  rev?: number;
}

export interface HistoryPage {
  room: string;
  /** Current state (edits applied, deletions left out), oldest first, all with `seq < before`. */
  messages: ChatMessage[];
  /** False once the oldest kept message is included. */
  hasMore: boolean;
}

export interface RoomSummary {
  room: string;
  /** Users present now. */
  members: number;
  /** Epoch ms of the latest message, when one was sent recently. */
  lastTs?: number;
}

/** The limits this server enforces (each at most the protocol's own, see `Limits`). */
export interface SessionLimits {
  /** Longest `text` accepted by message:send and message:edit. */
  maxTextLength: number;
  maxRoomsPerSocket: number;
  /** Message budget per user: `messages` sends, edits and deletions per `windowMs`. */
  messagesPerWindow: number;
  windowMs: number;
  /** Since 3: a room with more users than this is large (paged presence, `presence:count`). */
  presenceListMax?: number;
}

export interface JoinResult {
  room: string;
  /** In `seq` order. */
  messages: ChatMessage[];
  /** The room's latest `seq` (0 when empty). */
  cursor: number;
  presence: User[];
  /** The room's presence version `presence` reflects (protocol 2): deltas up to it are already in the list. */
  presenceVersion: number;
  /** Protocol 3: how many users the room has; `presence` holds all of them only when `presenceNext` is null. */
  presenceCount?: number;
  /**
   * Protocol 3: null when `presence` is the full list; otherwise the room is large, `presence` is a
   * first page (about 25 users, or `limits.presenceListMax` if smaller) and this cursor asks
   * `room:presence` for the next.
   */
  presenceNext?: string | null;
  /** True when `since` pointed below the oldest kept message: `messages` is then the latest page and the client should reset the room. */
  trimmed: boolean;
}

export interface Session {
  /** Signed; send it back as `auth.token` to keep this identity on any pod. */
  token: string;
  user: User;
  /** The pod serving this connection (extension). */
  pod: string;
  protocol: number;
  /** Since protocol 2. */
  limits?: SessionLimits;
}

export interface Presence {
  room: string;
  users: User[];
}

/** A room's member list at a presence version: the answer to `room:presence`. */
export interface PresenceSnapshot {
  room: string;
  version: number;
  /** The full list when `next` is null or absent; otherwise one page of a large room. */
  users: User[];
  /** Protocol 3: the room's number of users at `version`. */
  count?: number;
  /** Protocol 3: the cursor of the next page, null after the last one (or with the full list). */
  next?: string | null;
}

/**
 * A large room's size (protocol 3), sent instead of `presence:delta` while the room has more than
 * `limits.presenceListMax` users: at most one a second for the whole room, and one after its
 * latest change. Keep the one with the highest `version` (they may arrive out of order).
 */
export interface PresenceCount {
  room: string;
  version: number;
  count: number;
}

/** A user entering or leaving a room, with the presence version that change made. */
export interface PresenceChange extends User {
  version: number;
}

/**
 * Changes of a room's member set (protocol 2). Every change has its own version; versions are per
 * room and gapless over all pods, but one event carries one pod's changes, so consecutive events
 * may skip versions that another pod's event carries, and events of two pods may arrive in either
 * order. A client applies each change whose version is above the one it holds for that user (or
 * its snapshot), and fetches `room:presence` once when a skipped version has not arrived within a
 * second (see docs/protocol.md).
 */
export interface PresenceDelta {
  room: string;
  /** The highest version in this event. */
  version: number;
  joined: PresenceChange[];
  left: PresenceChange[];
}

export interface Typing {
  room: string;
  user: User;
  typing: boolean;
}

export interface Draining {
  /** Epoch ms by which the server closes this socket if the client has not moved. */
  deadline: number;
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** Present with `rate_limited`. */
  retryAfterMs?: number;
}

export type Response<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };
export type Ack<T> = (res: Response<T>) => void;

export interface ClientToServerEvents {
  "room:join": (req: JoinRequest, ack: Ack<JoinResult>) => void;
  "room:leave": (req: LeaveRequest, ack: Ack<{ room: string }>) => void;
  /** The member list of a joined room (protocol 2: after a skipped presence version; protocol 3: paged when large). */
  "room:presence": (req: PresenceRequest, ack: Ack<PresenceSnapshot>) => void;
  "message:send": (req: SendRequest, ack: Ack<ChatMessage>) => void;
  typing: (req: TypingRequest) => void;
  "room:history": (req: HistoryRequest, ack: Ack<HistoryPage>) => void;
  "message:edit": (req: EditRequest, ack: Ack<ChatMessage>) => void;
  "message:delete": (req: DeleteRequest, ack: Ack<ChatMessage>) => void;
  "rooms:list": (req: RoomsListRequest, ack: Ack<{ rooms: RoomSummary[] }>) => void;
}

export interface ServerToClientEvents {
  session: (session: Session) => void;
  message: (message: ChatMessage) => void;
  /** An edit or deletion: the message's new state; `rev` is the revision's own seq in the room. */
  "message:revised": (message: ChatMessage) => void;
  /** Protocol 1 clients only. */
  presence: (presence: Presence) => void;
  /** Protocol 2 clients, and protocol 3 clients in a room that is not large. */
  "presence:delta": (delta: PresenceDelta) => void;
  /** Protocol 3 clients in a large room (more than `limits.presenceListMax` users). */
  "presence:count": (count: PresenceCount) => void;
  typing: (typing: Typing) => void;
  "server:draining": (draining: Draining) => void;
}

/** Body of an HTTP 503 refusing a handshake, and `data` of a `connect_error` from the server. */
export interface RefusalBody {
  code: ErrorCode;
  message: string;
}

export const ok = <T>(data: T): Response<T> => ({ ok: true, data });

export const fail = (code: ErrorCode, message: string, retryAfterMs?: number): { ok: false; error: ErrorBody } => ({
  ok: false,
  error: retryAfterMs === undefined ? { code, message } : { code, message, retryAfterMs },
});

/** Validate an incoming payload; the failure is an `invalid_payload` response naming the first bad field. */
/**
 * `parsePayload(handshakeAuthSchema, value)`, with the usual handshake decided without zod (its
 * parse was a visible part of a handshake's CPU). Anything the fast path is unsure of goes to the
 * schema, so results and error messages are the schema's.
 */
export function parseHandshakeAuth(value: unknown): ReturnType<typeof parsePayload<typeof handshakeAuthSchema>> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const { name, token, protocol } = value as Record<string, unknown>;
    const trimmed = typeof name === "string" ? name.trim() : undefined;
    if (
      (name === undefined ||
        (trimmed !== undefined &&
          trimmed.length >= 1 &&
          trimmed.length <= Limits.nameLength &&
          !UNSAFE_NAME.test(trimmed))) &&
      (token === undefined || (typeof token === "string" && token.length <= Limits.tokenLength)) &&
      (protocol === undefined || Number.isSafeInteger(protocol))
    ) {
      const data: HandshakeAuth = {};
      if (trimmed !== undefined) data.name = trimmed;
      if (token !== undefined) data.token = token as string;
      if (protocol !== undefined) data.protocol = protocol as number;
      return { ok: true, data };
    }
  }
  return parsePayload(handshakeAuthSchema, value);
}

export function parsePayload<S extends z.ZodType>(
  schema: S,
  value: unknown,
): { ok: true; data: z.infer<S> } | { ok: false; error: ErrorBody } {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, data: result.data };
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  return fail(ErrorCode.InvalidPayload, `${where}${issue?.message ?? "invalid payload"}`);
}
