import { performance } from "node:perf_hooks";
import {
  type Ack,
  type ChatMessage,
  ErrorCode,
  fail,
  joinSchema,
  leaveSchema,
  ok,
  parsePayload,
  presenceRequestSchema,
  type Response,
  type RoomSummary,
  sendSchema,
  typingSchema,
} from "@chat/protocol";
import type { z } from "zod";
import type { Config } from "../config.js";
import type { Metrics } from "../http/metrics.js";
import type { Tasks } from "../lifecycle/tasks.js";
import type { Logger } from "../logger.js";
import { roomTag } from "../stores/keys.js";
import { sortUsers } from "../stores/presence-order.js";
import { type MessageStore, PresenceCursorError } from "../stores/types.js";
import {
  createMessageHandlers,
  historyFor,
  inRoom,
  type Listener,
  type Shared,
  sessionFor,
  socketIp,
} from "./message-handlers.js";
import { fullListTag, type PresenceTracker, pagedTag, wantsFullLists, wantsPages } from "./presence.js";
import type { RateLimits, Verdict } from "./rate-limits.js";
import type { SessionTokens } from "./session-token.js";
import type { ChatServer, ChatSocket } from "./types.js";

export interface HandlerDeps {
  io: ChatServer;
  messages: MessageStore;
  presence: PresenceTracker;
  /** `rooms:list` of this pod (see roomLister). */
  listRooms: () => Promise<RoomSummary[]>;
  /** Issues the token each socket's `session` event carries. */
  tokens: SessionTokens;
  config: Pick<
    Config,
    | "POD_NAME"
    | "MAX_TEXT_LENGTH"
    | "MAX_ROOMS_PER_SOCKET"
    | "ABUSE_STRIKES"
    | "HISTORY_PAGE"
    | "RATE_MESSAGES_PER_USER"
    | "RATE_WINDOW_MS"
    | "TRUST_PROXY_HOPS"
    | "PRESENCE_LIST_MAX"
  >;
  limits: RateLimits;
  log: Logger;
  metrics: Metrics;
  tasks: Tasks;
  /** False while a configured Redis is unreachable: failures are then `unavailable`, not `internal`. */
  storeUp: () => boolean;
}

export interface ChatHandlers {
  /** Greet a new socket with its session and give it the pod's listeners. */
  attach(socket: ChatSocket): void;
}

const TYPING_INTERVAL_MS = 1000;
const PASSED: Verdict = { ok: true };
const noReply = () => {};

function disconnectNow(socket: ChatSocket) {
  socket.disconnect(true);
}

/**
 * The chat events, every payload validated, every failure an error ack. Made once per pod: the
 * listeners are shared by all its sockets (each call gets its socket as `this`) and a socket's
 * state is in `socket.data`, so a connection costs no closures of ours, only its listener slots.
 */
export function createChatHandlers(deps: HandlerDeps): ChatHandlers {
  const { io, messages, presence, tokens, config, log, metrics, tasks, limits } = deps;
  const hops = config.TRUST_PROXY_HOPS;

  /** A refused action counts as a strike; a client that keeps going after being told is cut off. */
  const limited = (socket: ChatSocket, verdict: Verdict, what: string): Response<never> | null => {
    const data = socket.data;
    if (verdict.ok) {
      data.strikes = 0;
      return null;
    }
    if (++data.strikes >= config.ABUSE_STRIKES) {
      log.warn(
        { user: data.user.id, ip: socketIp(socket, hops), strikes: data.strikes },
        "disconnecting a client that ignores rate limits",
      );
      // After the ack below has gone out.
      setImmediate(disconnectNow, socket);
    }
    return fail(
      ErrorCode.RateLimited,
      `too many ${what}; retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
      verdict.retryAfterMs,
    );
  };

  const toFailure = (socket: ChatSocket, err: unknown, what: string): Response<never> => {
    if (!deps.storeUp() || isConnectionError(err)) {
      return fail(ErrorCode.Unavailable, `${what} failed: storage is unavailable, retry shortly`);
    }
    log.error({ err, user: socket.data.user.id }, `${what} failed`);
    return fail(ErrorCode.Internal, `${what} failed`);
  };

  /** Validate, run, and always answer: a thrown error becomes an error ack, never a crash. */
  const handle: Shared["handle"] = <S extends z.ZodType, T>(
    event: string,
    schema: S,
    run: (socket: ChatSocket, req: z.infer<S>) => Promise<Response<T>>,
  ): Listener =>
    function (this: ChatSocket, payload, ack) {
      const reply: Ack<T> = typeof ack === "function" ? (ack as Ack<T>) : noReply;
      const parsed = parsePayload(schema, payload);
      if (!parsed.ok) {
        reply(parsed);
        return;
      }
      void tasks.track(run(this, parsed.data).then(reply, (err: unknown) => reply(toFailure(this, err, event))));
    };

  const entry = (socket: ChatSocket, room: string) => ({ room, connId: socket.id, user: socket.data.user });
  const tags = (socket: ChatSocket, room: string) =>
    wantsFullLists(socket.data.protocol)
      ? [roomTag(room), fullListTag(room)]
      : wantsPages(socket.data.protocol)
        ? [roomTag(room), pagedTag(room)]
        : roomTag(room);
  const leaveTags = async (socket: ChatSocket, room: string) => {
    await socket.leave(roomTag(room));
    if (wantsFullLists(socket.data.protocol)) await socket.leave(fullListTag(room));
    else if (wantsPages(socket.data.protocol)) await socket.leave(pagedTag(room));
  };

  const join = handle("room:join", joinSchema, async (socket, { room, since }) => {
    const data = socket.data;
    const { user } = data;
    // A client already refused goes through the limiter first, so a join flood cannot make the
    // room hear a join and a leave per refused attempt.
    const checkedFirst = data.strikes > 0;
    const paged = wantsPages(data.protocol);
    if (checkedFirst) {
      const refusedFirst = limited(socket, await limits.join(user.id), "joins");
      if (refusedFirst) return refusedFirst;
    }
    data.rooms ??= new Set();
    const rooms = data.rooms;
    const isNew = !rooms.has(room);
    if (isNew && rooms.size >= config.MAX_ROOMS_PER_SOCKET) {
      return fail(ErrorCode.TooManyRooms, `at most ${config.MAX_ROOMS_PER_SOCKET} rooms per connection`);
    }
    // Subscribe before reading history: a message stored in between arrives twice (the client
    // dedupes by seq) instead of not at all.
    await socket.join(tags(socket, room));
    rooms.add(room);
    const undo = async () => {
      rooms.delete(room);
      await leaveTags(socket, room);
      // The store may be down too; an entry left behind expires with its TTL.
      await presence.leave(entry(socket, room)).catch(() => {});
    };
    // The rate check, the history read and the presence change go out together: one round trip.
    // A refused join (rare; see above) undoes its presence entry.
    const [verdict, history, users] = await Promise.all([
      checkedFirst ? PASSED : limits.join(user.id),
      messages.history(room, since),
      isNew ? presence.join(entry(socket, room), paged) : presence.list(room, paged),
    ]).catch(async (err: unknown) => {
      if (isNew) await undo();
      throw err;
    });
    const refused = limited(socket, verdict, "joins");
    if (refused || users === null) {
      if (isNew) await undo();
      return refused ?? fail(ErrorCode.NameTaken, `the name "${user.name}" is in use in ${room}; pick another`);
    }
    const list = wantsFullLists(data.protocol) ? sortUsers(users.users) : users.users;
    const result = { room, ...historyFor(data.protocol, history), presence: list, presenceVersion: users.version };
    return ok(paged ? { ...result, presenceCount: users.count, presenceNext: users.next } : result);
  });

  const presenceOf = handle("room:presence", presenceRequestSchema, async (socket, { room, cursor }) => {
    if (!inRoom(socket, room)) return fail(ErrorCode.NotInRoom, `join ${room} before asking who is in it`);
    // Protocol 2 knows no pages: it always gets the full list (and a cursor it sends means nothing).
    if (!wantsPages(socket.data.protocol)) {
      const { version, users } = await presence.list(room);
      return ok({ room, version, users });
    }
    try {
      const { version, users, count, next } = await presence.list(room, true, cursor);
      return ok({ room, version, count, users, next });
    } catch (err) {
      if (err instanceof PresenceCursorError) return fail(ErrorCode.InvalidPayload, err.message);
      throw err;
    }
  });

  const leave = handle("room:leave", leaveSchema, async (socket, { room }) => {
    if (socket.data.rooms?.delete(room)) {
      await leaveTags(socket, room);
      await presence.leave(entry(socket, room));
    }
    return ok({ room });
  });

  const send = handle(
    "message:send",
    sendSchema,
    async (socket, { room, text, clientId }): Promise<Response<ChatMessage>> => {
      if (!inRoom(socket, room)) {
        metrics.received.inc({ outcome: "rejected" });
        return fail(ErrorCode.NotInRoom, `join ${room} before sending to it`);
      }
      if (text.length > config.MAX_TEXT_LENGTH) {
        metrics.received.inc({ outcome: "rejected" });
        return fail(ErrorCode.InvalidPayload, `text: at most ${config.MAX_TEXT_LENGTH} characters`);
      }
      const { user } = socket.data;
      const refused = limited(socket, await limits.message(user.id, socketIp(socket, hops)), "messages");
      if (refused) {
        metrics.received.inc({ outcome: "rejected" });
        return refused;
      }
      const started = performance.now();
      let stored: Awaited<ReturnType<MessageStore["append"]>>;
      try {
        stored = await messages.append({ room, author: user, text, clientId });
      } catch (err) {
        metrics.received.inc({ outcome: "failed" });
        throw err;
      }
      metrics.storeLatency.observe((performance.now() - started) / 1000);
      metrics.received.inc({ outcome: stored.duplicate ? "duplicate" : "stored" });
      // A retry returns the original and broadcasts nothing: everyone already has it (or fills the hole).
      if (!stored.duplicate) io.to(roomTag(room)).emit("message", stored.message);
      return ok(stored.message);
    },
  );

  function typing(this: ChatSocket, payload: unknown) {
    const parsed = parsePayload(typingSchema, payload);
    if (!parsed.ok || !inRoom(this, parsed.data.room)) return;
    const { room, typing } = parsed.data;
    const data = this.data;
    const now = Date.now();
    // "Still typing" is sent at most once a second per room; "stopped" always goes through.
    if (typing && now - (data.lastTyping?.get(room) ?? 0) < TYPING_INTERVAL_MS) return;
    data.lastTyping ??= new Map();
    data.lastTyping.set(room, typing ? now : 0);
    this.to(roomTag(room)).emit("typing", { room, user: data.user, typing });
  }

  function disconnect(this: ChatSocket) {
    const { rooms, user, lastTyping } = this.data;
    if (!rooms) return;
    for (const room of rooms) {
      // Only a user last seen typing needs a "stopped": sent to everyone on every disconnect, a room
      // emptying at once (a pod's drain, a network cut) would cost O(members²) writes.
      if ((lastTyping?.get(room) ?? 0) > 0) this.to(roomTag(room)).emit("typing", { room, user, typing: false });
      tasks.track(presence.leave(entry(this, room))).catch((err: unknown) => {
        log.debug({ err: (err as Error).message, room }, "presence cleanup failed; the entry will expire");
      });
    }
    rooms.clear();
  }

  const listeners: Record<string, Listener> = {
    "room:join": join,
    "room:presence": presenceOf,
    "room:leave": leave,
    "message:send": send,
    typing,
    ...createMessageHandlers({ io, messages, listRooms: deps.listRooms, config, limits }, { limited, handle }),
    disconnect,
  };
  const events = Object.entries(listeners);

  return {
    attach(socket) {
      socket.emit("session", sessionFor(socket.data.user, tokens.issue(socket.data.user), config));
      for (const [event, listener] of events) socket.on(event as "room:join", listener);
    },
  };
}

/**
 * ioredis errors that mean "Redis (or the shard owning this room) cannot take this right now",
 * as opposed to a bug. Single-instance, cluster and Sentinel clients; a write that its replicas
 * did not confirm in time (NOREPLICAS): the sender retries it with the same clientId. OOM: Redis
 * is at maxmemory and, with noeviction, refuses writes (also from inside a script) until memory
 * is freed.
 */
const UNREACHABLE =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Failed to refresh slots cache|Too many Cluster redirections|Cluster isn't ready|None of startup nodes|CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY|MOVED|NOREPLICAS|Command aborted due to connection close|All sentinels are unreachable|OOM command not allowed/;

export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === "MaxRetriesPerRequestError" || err.name === "ClusterAllFailedError" || UNREACHABLE.test(err.message)
  );
}
