import {
  type ChatMessage,
  deleteSchema,
  ErrorCode,
  editSchema,
  fail,
  historySchema,
  Limits,
  ok,
  PROTOCOL_VERSION,
  type Response,
  type RoomSummary,
  roomsListSchema,
  type Session,
  seqOfId,
} from "@chat/protocol";
import type { z } from "zod";
import type { Config } from "../config.js";
import { roomTag } from "../stores/keys.js";
import type { HistoryResult, MessageStore, ReviseResult } from "../stores/types.js";
import type { RateLimits, Verdict } from "./rate-limits.js";
import type { ChatServer, ChatSocket } from "./types.js";

export type SessionConfig = Pick<
  Config,
  "POD_NAME" | "MAX_TEXT_LENGTH" | "MAX_ROOMS_PER_SOCKET" | "RATE_MESSAGES_PER_USER" | "RATE_WINDOW_MS"
>;

/** The `session` event: identity, and (protocol 2) the limits this server enforces. */
export function sessionFor(socket: ChatSocket, config: SessionConfig): Session {
  return {
    token: socket.data.token,
    user: socket.data.user,
    pod: config.POD_NAME,
    protocol: PROTOCOL_VERSION,
    limits: {
      maxTextLength: config.MAX_TEXT_LENGTH,
      maxRoomsPerSocket: config.MAX_ROOMS_PER_SOCKET,
      messagesPerWindow: config.RATE_MESSAGES_PER_USER,
      windowMs: config.RATE_WINDOW_MS,
    },
  };
}

/** The protocol a client announced in its handshake (`auth.protocol`); clients that say nothing speak 1. */
export function clientProtocol(socket: ChatSocket): number {
  const announced = (socket.handshake.auth as { protocol?: unknown } | undefined)?.protocol;
  return typeof announced === "number" && Number.isInteger(announced) ? announced : 1;
}

/**
 * A join's history as a client of `protocol` understands it. Protocol 1 knows nothing of
 * deletions, so it never gets tombstones (an empty bubble otherwise); its cursor still advances
 * over revisions because a join's `cursor` covers them.
 */
export function historyFor(protocol: number, history: HistoryResult): HistoryResult {
  if (protocol >= 2) return history;
  return { ...history, messages: history.messages.filter((m) => !m.deleted) };
}

/** What message-handlers needs from the socket's chat handlers (shared strikes, joined rooms). */
export interface SocketScope {
  rooms: ReadonlySet<string>;
  limited: (verdict: Verdict, what: string) => Response<never> | null;
  handle: <S extends z.ZodType, T>(
    event: string,
    schema: S,
    run: (req: z.infer<S>) => Promise<Response<T>>,
  ) => (payload: unknown, ack?: unknown) => void;
}

export interface MessageHandlerDeps {
  io: ChatServer;
  messages: MessageStore;
  /** The pod's room lister (see roomLister). */
  listRooms: () => Promise<RoomSummary[]>;
  config: Pick<Config, "MAX_TEXT_LENGTH" | "HISTORY_PAGE">;
  limits: RateLimits;
}

/** Scrollback, edits, deletions and the room directory of one socket. */
export function registerMessageHandlers(socket: ChatSocket, deps: MessageHandlerDeps, scope: SocketScope) {
  const { io, messages, config, limits } = deps;
  const { user } = socket.data;
  const { rooms, limited, handle } = scope;

  socket.on(
    "room:history",
    handle("room:history", historySchema, async ({ room, before, limit }) => {
      const refused = limited(await limits.join(user.id), "history requests");
      if (refused) return refused;
      if (!rooms.has(room)) return fail(ErrorCode.NotInRoom, `join ${room} before reading its history`);
      const page = await messages.page(room, before, Math.min(limit ?? config.HISTORY_PAGE, Limits.historyPage));
      return ok({ room, ...page });
    }),
  );

  /** Edit (text) or delete (null) one of the user's own messages, and tell the room. */
  const revise = async (room: string, id: string, text: string | null): Promise<Response<ChatMessage>> => {
    const seq = seqOfId(room, id);
    if (seq === null) return fail(ErrorCode.InvalidPayload, `id: ${id} is not a message of ${room}`);
    if (text !== null && text.length > config.MAX_TEXT_LENGTH) {
      return fail(ErrorCode.InvalidPayload, `text: at most ${config.MAX_TEXT_LENGTH} characters`);
    }
    if (!rooms.has(room)) return fail(ErrorCode.NotInRoom, `join ${room} before changing its messages`);
    const refused = limited(await limits.message(user.id, socket.data.ip), "messages");
    if (refused) return refused;
    const result = await messages.revise({ room, seq, userId: user.id, text });
    if (!result.ok) return refusal(result, id);
    // A retry changes nothing and tells nobody: everyone already has (or fills) the revision.
    if (result.changed) io.to(roomTag(room)).emit("message:revised", result.message);
    return ok(result.message);
  };

  socket.on(
    "message:edit",
    handle("message:edit", editSchema, ({ room, id, text }) => revise(room, id, text)),
  );
  socket.on(
    "message:delete",
    handle("message:delete", deleteSchema, ({ room, id }) => revise(room, id, null)),
  );

  socket.on(
    "rooms:list",
    handle("rooms:list", roomsListSchema, async () => {
      const refused = limited(await limits.join(user.id), "room listings");
      if (refused) return refused;
      return ok({ rooms: await deps.listRooms() });
    }),
  );
}

function refusal(
  result: Extract<ReviseResult, { ok: false }>,
  id: string,
): { ok: false; error: { code: ErrorCode; message: string } } {
  switch (result.reason) {
    case "forbidden":
      return fail(ErrorCode.Forbidden, "only its author can change a message");
    case "deleted":
      return fail(ErrorCode.NotFound, `message ${id} was deleted`);
    default:
      return fail(ErrorCode.NotFound, `message ${id} is not in the room's history`);
  }
}
