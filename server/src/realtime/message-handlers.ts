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
  type User,
} from "@chat/protocol";
import type { z } from "zod";
import type { Config } from "../config.js";
import { roomTag } from "../stores/keys.js";
import type { HistoryResult, MessageStore, ReviseResult } from "../stores/types.js";
import { forwardedClient, type RateLimits, type Verdict } from "./rate-limits.js";
import type { ChatServer, ChatSocket } from "./types.js";

export type SessionConfig = Pick<
  Config,
  | "POD_NAME"
  | "MAX_TEXT_LENGTH"
  | "MAX_ROOMS_PER_SOCKET"
  | "RATE_MESSAGES_PER_USER"
  | "RATE_WINDOW_MS"
  | "PRESENCE_LIST_MAX"
>;

/** The `session` event: identity, and (protocol 2) the limits this server enforces. */
export function sessionFor(user: User, token: string, config: SessionConfig): Session {
  return {
    token,
    user,
    pod: config.POD_NAME,
    protocol: PROTOCOL_VERSION,
    limits: {
      maxTextLength: config.MAX_TEXT_LENGTH,
      maxRoomsPerSocket: config.MAX_ROOMS_PER_SOCKET,
      messagesPerWindow: config.RATE_MESSAGES_PER_USER,
      windowMs: config.RATE_WINDOW_MS,
      presenceListMax: config.PRESENCE_LIST_MAX,
    },
  };
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

/** Whether the socket has joined the room. */
export const inRoom = (socket: ChatSocket, room: string) => socket.data.rooms?.has(room) === true;

/** The client's address (see clientIp), for per-address limits; the handshake keeps what it needs. */
export const socketIp = (socket: ChatSocket, hops: number) =>
  forwardedClient(socket.handshake.headers, socket.handshake.address, hops);

/**
 * A listener shared by every socket of the pod: Socket.IO calls it with `this` set to the socket
 * the event came from, so no socket needs a closure of its own.
 */
export type Listener = (this: ChatSocket, payload: unknown, ack?: unknown) => void;

/** What message-handlers shares with the chat handlers (strikes, the validate-run-answer wrapper). */
export interface Shared {
  limited: (socket: ChatSocket, verdict: Verdict, what: string) => Response<never> | null;
  handle: <S extends z.ZodType, T>(
    event: string,
    schema: S,
    run: (socket: ChatSocket, req: z.infer<S>) => Promise<Response<T>>,
  ) => Listener;
}

export interface MessageHandlerDeps {
  io: ChatServer;
  messages: MessageStore;
  /** The pod's room lister (see roomLister). */
  listRooms: () => Promise<RoomSummary[]>;
  config: Pick<Config, "MAX_TEXT_LENGTH" | "HISTORY_PAGE" | "TRUST_PROXY_HOPS">;
  limits: RateLimits;
}

/** Scrollback, edits, deletions and the room directory: the pod's listeners, for every socket. */
export function createMessageHandlers(deps: MessageHandlerDeps, { limited, handle }: Shared) {
  const { io, messages, config, limits } = deps;

  /** Edit (text) or delete (null) one of the user's own messages, and tell the room. */
  const revise = async (
    socket: ChatSocket,
    room: string,
    id: string,
    text: string | null,
  ): Promise<Response<ChatMessage>> => {
    const seq = seqOfId(room, id);
    if (seq === null) return fail(ErrorCode.InvalidPayload, `id: ${id} is not a message of ${room}`);
    if (text !== null && text.length > config.MAX_TEXT_LENGTH) {
      return fail(ErrorCode.InvalidPayload, `text: at most ${config.MAX_TEXT_LENGTH} characters`);
    }
    if (!inRoom(socket, room)) return fail(ErrorCode.NotInRoom, `join ${room} before changing its messages`);
    const { user } = socket.data;
    const refused = limited(
      socket,
      await limits.message(user.id, socketIp(socket, config.TRUST_PROXY_HOPS)),
      "messages",
    );
    if (refused) return refused;
    const result = await messages.revise({ room, seq, userId: user.id, text });
    if (!result.ok) return refusal(result, id);
    // A retry changes nothing and tells nobody: everyone already has (or fills) the revision.
    if (result.changed) io.to(roomTag(room)).emit("message:revised", result.message);
    return ok(result.message);
  };

  return {
    "room:history": handle("room:history", historySchema, async (socket, { room, before, limit }) => {
      const refused = limited(socket, await limits.join(socket.data.user.id), "history requests");
      if (refused) return refused;
      if (!inRoom(socket, room)) return fail(ErrorCode.NotInRoom, `join ${room} before reading its history`);
      const page = await messages.page(room, before, Math.min(limit ?? config.HISTORY_PAGE, Limits.historyPage));
      return ok({ room, ...page });
    }),
    "message:edit": handle("message:edit", editSchema, (socket, { room, id, text }) => revise(socket, room, id, text)),
    "message:delete": handle("message:delete", deleteSchema, (socket, { room, id }) => revise(socket, room, id, null)),
    "rooms:list": handle("rooms:list", roomsListSchema, async (socket) => {
      const refused = limited(socket, await limits.join(socket.data.user.id), "room listings");
      if (refused) return refused;
      return ok({ rooms: await deps.listRooms() });
    }),
  } satisfies Record<string, Listener>;
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
