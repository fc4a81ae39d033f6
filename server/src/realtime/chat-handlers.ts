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
import type { MessageStore } from "../stores/types.js";
import { clientProtocol, historyFor, registerMessageHandlers, sessionFor } from "./message-handlers.js";
import { fullListTag, type PresenceTracker, wantsFullLists } from "./presence.js";
import type { RateLimits, Verdict } from "./rate-limits.js";
import type { ChatServer, ChatSocket } from "./types.js";

export interface HandlerDeps {
  io: ChatServer;
  messages: MessageStore;
  presence: PresenceTracker;
  /** `rooms:list` of this pod (see roomLister). */
  listRooms: () => Promise<RoomSummary[]>;
  config: Pick<
    Config,
    | "POD_NAME"
    | "MAX_TEXT_LENGTH"
    | "MAX_ROOMS_PER_SOCKET"
    | "ABUSE_STRIKES"
    | "HISTORY_PAGE"
    | "RATE_MESSAGES_PER_USER"
    | "RATE_WINDOW_MS"
  >;
  limits: RateLimits;
  log: Logger;
  metrics: Metrics;
  tasks: Tasks;
  /** False while a configured Redis is unreachable: failures are then `unavailable`, not `internal`. */
  storeUp: () => boolean;
}

const TYPING_INTERVAL_MS = 1000;
const PASSED: Verdict = { ok: true };

/** The chat events of one socket. Every payload is validated; every failure is an error ack. */
export function registerChatHandlers(socket: ChatSocket, deps: HandlerDeps) {
  const { io, messages, presence, config, log, metrics, tasks, limits } = deps;
  const { user, ip } = socket.data;
  const fullLists = wantsFullLists(socket.data.protocol);
  let strikes = 0;

  /** A refused action counts as a strike; a client that keeps going after being told is cut off. */
  const limited = (verdict: Verdict, what: string): Response<never> | null => {
    if (verdict.ok) {
      strikes = 0;
      return null;
    }
    if (++strikes >= config.ABUSE_STRIKES) {
      log.warn({ user: user.id, ip, strikes }, "disconnecting a client that ignores rate limits");
      // After the ack below has gone out.
      setImmediate(() => socket.disconnect(true));
    }
    return fail(
      ErrorCode.RateLimited,
      `too many ${what}; retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
      verdict.retryAfterMs,
    );
  };
  const rooms = new Set<string>();
  const lastTyping = new Map<string, number>();
  const entry = (room: string) => ({ room, connId: socket.id, user });

  const toFailure = (err: unknown, what: string): Response<never> => {
    if (!deps.storeUp() || isConnectionError(err)) {
      return fail(ErrorCode.Unavailable, `${what} failed: storage is unavailable, retry shortly`);
    }
    log.error({ err, user: user.id }, `${what} failed`);
    return fail(ErrorCode.Internal, `${what} failed`);
  };

  /** Validate, run, and always answer: a thrown error becomes an error ack, never a crash. */
  function handle<S extends z.ZodType, T>(
    event: string,
    schema: S,
    run: (req: z.infer<S>) => Promise<Response<T>>,
  ): (payload: unknown, ack?: unknown) => void {
    return (payload, ack) => {
      const reply: Ack<T> = typeof ack === "function" ? (ack as Ack<T>) : () => {};
      const parsed = parsePayload(schema, payload);
      if (!parsed.ok) {
        reply(parsed);
        return;
      }
      void tasks.track(run(parsed.data).then(reply, (err: unknown) => reply(toFailure(err, event))));
    };
  }

  socket.emit("session", sessionFor(socket, config));
  const protocol = clientProtocol(socket);
  // Sent; keeping the signed token (~200 bytes) for the connection's life would only cost memory.
  socket.data.token = "";

  const tags = (room: string) => (fullLists ? [roomTag(room), fullListTag(room)] : roomTag(room));
  const leaveTags = async (room: string) => {
    await socket.leave(roomTag(room));
    if (fullLists) await socket.leave(fullListTag(room));
  };

  socket.on(
    "room:join",
    handle("room:join", joinSchema, async ({ room, since }) => {
      // A client already refused goes through the limiter first, so a join flood cannot make the
      // room hear a join and a leave per refused attempt.
      const checkedFirst = strikes > 0;
      if (checkedFirst) {
        const refusedFirst = limited(await limits.join(user.id), "joins");
        if (refusedFirst) return refusedFirst;
      }
      const isNew = !rooms.has(room);
      if (isNew && rooms.size >= config.MAX_ROOMS_PER_SOCKET) {
        return fail(ErrorCode.TooManyRooms, `at most ${config.MAX_ROOMS_PER_SOCKET} rooms per connection`);
      }
      // Subscribe before reading history: a message stored in between arrives twice (the client
      // dedupes by seq) instead of not at all.
      await socket.join(tags(room));
      rooms.add(room);
      const undo = async () => {
        rooms.delete(room);
        await leaveTags(room);
        // The store may be down too; an entry left behind expires with its TTL.
        await presence.leave(entry(room)).catch(() => {});
      };
      // The rate check, the history read and the presence change go out together: one round trip.
      // A refused join (rare; see above) undoes its presence entry.
      const [verdict, history, users] = await Promise.all([
        checkedFirst ? PASSED : limits.join(user.id),
        messages.history(room, since),
        isNew ? presence.join(entry(room)) : presence.list(room),
      ]).catch(async (err: unknown) => {
        if (isNew) await undo();
        throw err;
      });
      const refused = limited(verdict, "joins");
      if (refused || users === null) {
        if (isNew) await undo();
        return refused ?? fail(ErrorCode.NameTaken, `the name "${user.name}" is in use in ${room}; pick another`);
      }
      const list = fullLists ? sortUsers(users.users) : users.users;
      return ok({ room, ...historyFor(protocol, history), presence: list, presenceVersion: users.version });
    }),
  );

  socket.on(
    "room:presence",
    handle("room:presence", presenceRequestSchema, async ({ room }) => {
      if (!rooms.has(room)) return fail(ErrorCode.NotInRoom, `join ${room} before asking who is in it`);
      const { version, users } = await presence.list(room);
      return ok({ room, version, users });
    }),
  );

  socket.on(
    "room:leave",
    handle("room:leave", leaveSchema, async ({ room }) => {
      if (rooms.delete(room)) {
        await leaveTags(room);
        await presence.leave(entry(room));
      }
      return ok({ room });
    }),
  );

  socket.on(
    "message:send",
    handle("message:send", sendSchema, async ({ room, text, clientId }): Promise<Response<ChatMessage>> => {
      if (!rooms.has(room)) {
        metrics.received.inc({ outcome: "rejected" });
        return fail(ErrorCode.NotInRoom, `join ${room} before sending to it`);
      }
      if (text.length > config.MAX_TEXT_LENGTH) {
        metrics.received.inc({ outcome: "rejected" });
        return fail(ErrorCode.InvalidPayload, `text: at most ${config.MAX_TEXT_LENGTH} characters`);
      }
      const refused = limited(await limits.message(user.id, ip), "messages");
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
    }),
  );

  socket.on("typing", (payload: unknown) => {
    const parsed = parsePayload(typingSchema, payload);
    if (!parsed.ok || !rooms.has(parsed.data.room)) return;
    const { room, typing } = parsed.data;
    const now = Date.now();
    // "Still typing" is sent at most once a second per room; "stopped" always goes through.
    if (typing && now - (lastTyping.get(room) ?? 0) < TYPING_INTERVAL_MS) return;
    lastTyping.set(room, typing ? now : 0);
    socket.to(roomTag(room)).emit("typing", { room, user, typing });
  });

  registerMessageHandlers(
    socket,
    { io, messages, listRooms: deps.listRooms, config, limits },
    { rooms, limited, handle },
  );

  socket.on("disconnect", () => {
    for (const room of rooms) {
      // "Stopped typing" only for a connection whose last word was "typing": every other
      // member would get one event per room for nothing, and a rollout closes every
      // connection (1,000 connections in rooms of 50: 50,000 events in a few seconds, which
      // took more CPU than the messages during the handover).
      if ((lastTyping.get(room) ?? 0) > 0) socket.to(roomTag(room)).emit("typing", { room, user, typing: false });
      tasks.track(presence.leave(entry(room))).catch((err: unknown) => {
        log.debug({ err: (err as Error).message, room }, "presence cleanup failed; the entry will expire");
      });
    }
    rooms.clear();
  });
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
