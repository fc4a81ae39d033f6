import {
  type ChatMessage,
  ErrorCode,
  fail,
  type HandshakeAuth,
  ok,
  type PresenceDelta,
  type RefusalBody,
  type Response,
  type SessionLimits,
  seqOfId,
  type User,
} from "@chat/protocol";
import type {
  ConnectError,
  RequestEvent,
  RequestPayload,
  RequestResult,
  SocketEvents,
  SocketFactory,
  TransportSocket,
} from "../transport.js";

/** A request as the fake server saw it. */
export interface LoggedRequest {
  socket: FakeSocket;
  event: RequestEvent | "typing";
  payload: Record<string, unknown>;
}

/**
 * Return a response to answer a request yourself, "hold" to never answer it, `{ delayMs }` to
 * handle it normally now but answer late, or undefined for normal handling.
 */
export type Interceptor = (req: LoggedRequest) => Response<unknown> | "hold" | { delayMs: number } | undefined;

interface FakeRoom {
  /** Current states (edits applied, tombstones kept), in seq order. */
  messages: ChatMessage[];
  /** Highest seq ever assigned to a message or a revision (messages may have been trimmed below it). */
  seq: number;
  /** The member set's version: one step per user entering or leaving. */
  presenceVersion: number;
  /** Users present at `presenceVersion`. */
  present: Map<string, User>;
}

/**
 * An in-memory chat server that speaks the protocol to `FakeSocket`s, with knobs to misbehave:
 * refuse handshakes, drop or drain connections, hold or fail requests, deliver broadcasts out of
 * order. Every network hop is a 1 ms timer, so tests drive it with fake timers.
 */
export class FakeServer {
  readonly sockets: FakeSocket[] = [];
  readonly requests: LoggedRequest[] = [];
  /** What happened, in order: "s1 room:join", "s2 message:send", "s1 closed" (socket numbers from 1). */
  readonly journal: string[] = [];
  /** Requests made while the socket was not connected: the client should never do that. */
  readonly misuse: string[] = [];
  readonly rooms = new Map<string, FakeRoom>();
  interceptor: Interceptor | null = null;
  /** False: handshakes fail like an unreachable server (HTTP 503, network down) and are retried by the socket. */
  accepting = true;
  /** Set: handshakes are refused by middleware with `connect_error` data (Socket.IO then stops retrying). */
  refusal: RefusalBody | null = null;
  /** False: broadcasts are not delivered automatically (use `deliver`). */
  autoBroadcast = true;
  historyPage = 50;
  /**
   * 3: large rooms (more than `limits.presenceListMax` users) get paged presence and
   * `presence:count`; 2: revisions, history, limits and presence deltas; 1: full presence lists, no limits.
   */
  protocol: 1 | 2 | 3 = 2;
  limits: SessionLimits = { maxTextLength: 4000, maxRoomsPerSocket: 20, messagesPerWindow: 100, windowMs: 10_000 };
  /** Presence versions whose delta is never delivered (as if lost or very late). */
  readonly withheldPresence = new Set<number>();
  private readonly tokens = new Map<string, User>();
  private readonly byClientId = new Map<string, ChatMessage>();
  private users = 0;
  private pods = 0;

  readonly factory: SocketFactory = (auth) => {
    const socket = new FakeSocket(this, auth);
    this.sockets.push(socket);
    return socket;
  };

  /** The most recently created socket. */
  get latest(): FakeSocket {
    const socket = this.sockets[this.sockets.length - 1];
    if (!socket) throw new Error("no socket created yet");
    return socket;
  }

  room(name: string): FakeRoom {
    let room = this.rooms.get(name);
    if (!room) {
      room = { messages: [], seq: 0, presenceVersion: 0, present: new Map() };
      this.rooms.set(name, room);
    }
    return room;
  }

  /** Store a message as if `author` sent it from elsewhere, and broadcast it. */
  post(room: string, text: string, author: User = { id: "u-other", name: "Other" }): ChatMessage {
    return this.append(room, text, author, `other-${this.room(room).seq + 1}-${Math.random().toString(36).slice(2)}`);
  }

  /** Edit (text) or delete (null) a stored message as its author would, and broadcast the new state. */
  revise(room: string, seq: number, text: string | null): ChatMessage {
    const r = this.room(room);
    const at = r.messages.findIndex((m) => m.seq === seq);
    const held = r.messages[at];
    if (!held) throw new Error(`no message ${room}:${seq}`);
    const rev = ++r.seq;
    const ts = 1_700_000_000_000 + rev;
    const next: ChatMessage =
      text === null ? { ...held, text: "", deleted: true, rev } : { ...held, text, editedAt: ts, rev };
    r.messages[at] = next;
    if (this.autoBroadcast && this.protocol >= 2) for (const s of this.members(room)) s.push("message:revised", next);
    return next;
  }

  /** The room expired: the next message of that name starts at seq 1 again (members stay joined). */
  expire(room: string): void {
    const r = this.room(room);
    r.messages = [];
    r.seq = 0;
  }

  /** Forget every message below `seq` (as a capped history does). */
  trimBelow(room: string, seq: number): void {
    const r = this.room(room);
    r.messages = r.messages.filter((m) => m.seq >= seq);
  }

  /** Deliver a broadcast to one socket now (for out-of-order scenarios with autoBroadcast off). */
  deliver(socket: FakeSocket, message: ChatMessage): void {
    socket.push("message", message);
  }

  requestsOf(event: LoggedRequest["event"], socket?: FakeSocket): LoggedRequest[] {
    return this.requests.filter((r) => r.event === event && (socket === undefined || r.socket === socket));
  }

  members(room: string): FakeSocket[] {
    return this.sockets.filter((s) => s.connected && s.rooms.has(room));
  }

  // ---- Used by FakeSocket ----

  handshake(auth: HandshakeAuth): { ok: true; user: User } | { ok: false; data?: RefusalBody } {
    if (!this.accepting) return { ok: false };
    if (this.refusal) return { ok: false, data: this.refusal };
    if (auth.token !== undefined) {
      const user = this.tokens.get(auth.token);
      if (!user) return { ok: false, data: { code: ErrorCode.Unauthorized, message: "session token is invalid" } };
      return { ok: true, user: { ...user, name: auth.name ?? user.name } };
    }
    return { ok: true, user: { id: `u${++this.users}`, name: auth.name ?? "anon" } };
  }

  issueToken(user: User): string {
    const token = `token-${user.id}-${this.tokens.size}`;
    this.tokens.set(token, user);
    return token;
  }

  nextPod(): string {
    return `pod-${++this.pods}`;
  }

  handle(socket: FakeSocket, event: RequestEvent, payload: Record<string, unknown>): Response<unknown> {
    const room = String(payload.room);
    const r = this.room(room);
    switch (event) {
      case "room:join": {
        socket.rooms.add(room);
        const since = typeof payload.since === "number" ? payload.since : undefined;
        const oldest = r.messages[0]?.seq ?? r.seq + 1;
        const trimmed = since !== undefined && since < oldest - 1;
        const live = r.messages.filter((m) => !m.deleted);
        const messages =
          since === undefined || trimmed
            ? live.slice(-this.historyPage)
            : r.messages.filter((m) => m.seq > since || (m.rev ?? 0) > since);
        this.broadcastPresence(room);
        const presence = { presence: [...r.present.values()], presenceVersion: r.presenceVersion };
        if (this.protocol < 2) return ok({ room, messages, cursor: r.seq, presence: presence.presence, trimmed });
        if (this.protocol < 3) return ok({ room, messages, cursor: r.seq, ...presence, trimmed });
        const page = this.presencePage(room, undefined);
        return ok({
          room,
          messages,
          cursor: r.seq,
          presence: page.users,
          presenceVersion: page.version,
          presenceCount: page.count,
          presenceNext: page.next,
          trimmed,
        });
      }
      case "room:leave":
        socket.rooms.delete(room);
        this.broadcastPresence(room);
        return ok({ room });
      case "room:presence":
        if (!socket.rooms.has(room)) return fail(ErrorCode.NotInRoom, `join ${room} first`);
        if (this.protocol >= 3) return ok(this.presencePage(room, payload.cursor as string | undefined));
        return ok({ room, version: r.presenceVersion, users: [...r.present.values()] });
      case "room:history": {
        if (!socket.rooms.has(room)) return fail(ErrorCode.NotInRoom, `join ${room} first`);
        const before = Number(payload.before);
        const older = r.messages.filter((m) => m.seq < before && !m.deleted);
        const messages = older.slice(-this.historyPage);
        return ok({ room, messages, hasMore: older.length > messages.length });
      }
      case "message:edit":
      case "message:delete": {
        if (!socket.rooms.has(room)) return fail(ErrorCode.NotInRoom, `join ${room} first`);
        const seq = seqOfId(room, String(payload.id));
        const held = r.messages.find((m) => m.seq === seq);
        if (!held || held.deleted) return fail(ErrorCode.NotFound, "no such message");
        if (held.author.id !== socket.user?.id) return fail(ErrorCode.Forbidden, "not your message");
        return ok(this.revise(room, held.seq, event === "message:edit" ? String(payload.text) : null));
      }
      case "rooms:list":
        return ok({
          rooms: [...this.rooms.entries()].map(([name, x]) => ({ room: name, members: x.present.size })),
        });
      case "message:send": {
        if (!socket.rooms.has(room)) return fail(ErrorCode.NotInRoom, `join ${room} first`);
        const clientId = String(payload.clientId);
        const original = this.byClientId.get(clientId);
        if (original) return ok(original);
        const text = String(payload.text);
        if (text.length > this.limits.maxTextLength) return fail(ErrorCode.InvalidPayload, "text: too long");
        return ok(this.append(room, text, socket.user as User, clientId));
      }
    }
  }

  typing(socket: FakeSocket, payload: Record<string, unknown>): void {
    const room = String(payload.room);
    for (const s of this.members(room)) {
      if (s !== socket) s.push("typing", { room, user: socket.user as User, typing: payload.typing === true });
    }
  }

  /** Announce the room's member changes: full lists (protocol 1) or one delta per change (protocol 2). */
  broadcastPresence(room: string): void {
    const users = this.presence(room);
    if (this.protocol < 2) {
      for (const s of this.members(room)) s.push("presence", { room, users });
      return;
    }
    const r = this.room(room);
    const now = new Map(users.map((u) => [u.id, u]));
    const deltas: PresenceDelta[] = [];
    for (const [id, user] of r.present) {
      if (now.has(id)) continue;
      r.present.delete(id);
      const version = ++r.presenceVersion;
      deltas.push({ room, version, joined: [], left: [{ ...user, version }] });
    }
    for (const [id, user] of now) {
      if (r.present.has(id)) continue;
      r.present.set(id, user);
      const version = ++r.presenceVersion;
      deltas.push({ room, version, joined: [{ ...user, version }], left: [] });
    }
    if (this.isLarge(room)) {
      if (deltas.length === 0 || this.withheldPresence.has(r.presenceVersion)) return;
      const count = { room, version: r.presenceVersion, count: r.present.size };
      for (const s of this.members(room)) s.push("presence:count", count);
      return;
    }
    for (const delta of deltas) {
      if (this.withheldPresence.has(delta.version)) continue;
      for (const s of this.members(room)) s.push("presence:delta", delta);
    }
  }

  /** Protocol 3: more users than `limits.presenceListMax`. */
  isLarge(room: string): boolean {
    return this.protocol >= 3 && this.room(room).present.size > (this.limits.presenceListMax ?? 100);
  }

  /**
   * Protocol 3 `room:presence`: without a cursor the full list (a first page when large); with
   * one the page at that offset of the id-sorted members.
   */
  presencePage(room: string, cursor: string | undefined) {
    const r = this.room(room);
    const users = [...r.present.values()].sort((a, b) => a.id.localeCompare(b.id));
    const base = { room, version: r.presenceVersion, count: users.length };
    if (cursor === undefined && !this.isLarge(room)) return { ...base, users, next: null };
    const size = this.limits.presenceListMax ?? 100;
    const from = cursor === undefined ? 0 : Number(cursor);
    const end = from + size;
    return { ...base, users: users.slice(from, end), next: end < users.length ? String(end) : null };
  }

  private append(room: string, text: string, author: User, clientId: string): ChatMessage {
    const r = this.room(room);
    const seq = ++r.seq;
    const message: ChatMessage = {
      id: `${room}:${seq}`,
      seq,
      room,
      author,
      text,
      clientId,
      ts: 1_700_000_000_000 + seq,
    };
    r.messages.push(message);
    this.byClientId.set(clientId, message);
    if (this.autoBroadcast) for (const s of this.members(room)) s.push("message", message);
    return message;
  }

  private presence(room: string): User[] {
    const users = new Map<string, User>();
    for (const s of this.members(room)) if (s.user) users.set(s.user.id, s.user);
    return [...users.values()];
  }
}

type Listener = (...args: never[]) => void;

/** Behaves like a Socket.IO client socket: buffered reconnects, acks that fail on disconnect. */
export class FakeSocket implements TransportSocket {
  connected = false;
  active = false;
  user: User | null = null;
  pod: string | null = null;
  readonly rooms = new Set<string>();
  /** Handshakes attempted, successful or not. */
  handshakes = 0;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly pending = new Set<(err: Error) => void>();
  private attemptTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly server: FakeServer,
    private readonly auth: () => HandshakeAuth,
  ) {}

  // ---- TransportSocket ----

  on<E extends keyof SocketEvents>(event: E, listener: SocketEvents[E]): void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener);
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }

  emit(event: "typing", payload: { room: string; typing: boolean }): void {
    if (!this.connected) {
      this.server.misuse.push(`emit ${event} while disconnected`);
      return;
    }
    this.server.requests.push({ socket: this, event, payload });
    setTimeout(() => this.connected && this.server.typing(this, payload), 1);
  }

  request<E extends RequestEvent>(event: E, payload: RequestPayload<E>, timeoutMs: number): Promise<RequestResult<E>> {
    if (!this.connected) {
      this.server.misuse.push(`request ${event} while disconnected`);
      return Promise.reject(new Error("not connected"));
    }
    const logged: LoggedRequest = { socket: this, event, payload: payload as Record<string, unknown> };
    this.server.requests.push(logged);
    this.server.journal.push(`${this.name} ${event}`);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        this.pending.delete(fail);
        clearTimeout(timeout);
        reject(err);
      };
      this.pending.add(fail);
      const timeout = setTimeout(() => fail(new Error("operation has timed out")), timeoutMs);
      setTimeout(() => {
        if (settled || !this.connected) return;
        const intercepted = this.server.interceptor?.(logged);
        if (intercepted === "hold") return;
        const delayed = intercepted !== undefined && "delayMs" in intercepted;
        const response =
          intercepted === undefined || delayed ? this.server.handle(this, event, logged.payload) : intercepted;
        // The answer travels back: 1 ms later (or as late as asked), and only if the socket is still up.
        setTimeout(
          () => {
            if (settled || !this.connected) return;
            settled = true;
            this.pending.delete(fail);
            clearTimeout(timeout);
            resolve(response as RequestResult<E>);
          },
          delayed ? intercepted.delayMs : 1,
        );
      }, 1);
    });
  }

  connect(): void {
    this.active = true;
    this.scheduleAttempt(1);
  }

  disconnect(): void {
    this.active = false;
    if (this.attemptTimer) clearTimeout(this.attemptTimer);
    if (this.connected) this.close("io client disconnect");
  }

  // ---- Server-side controls ----

  /** The connection breaks (pod killed, network blip); the socket reconnects by itself, like Socket.IO's Manager. */
  drop(reconnectAfterMs = 100): void {
    if (!this.connected) return;
    this.close("transport close");
    this.scheduleAttempt(reconnectAfterMs);
  }

  /** The server closes the socket; Socket.IO does not reconnect after that on its own. */
  kick(): void {
    if (!this.connected) return;
    this.active = false;
    this.close("io server disconnect");
  }

  /** Deliver a server-to-client event to this socket. */
  push<E extends keyof SocketEvents>(event: E, ...args: Parameters<SocketEvents[E]>): void {
    setTimeout(() => {
      if (!this.connected && event !== "connect_error" && event !== "disconnect") return;
      this.fire(event, ...args);
    }, 1);
  }

  // ---- Internals ----

  private scheduleAttempt(delay: number): void {
    if (this.attemptTimer) clearTimeout(this.attemptTimer);
    this.attemptTimer = setTimeout(() => {
      this.attemptTimer = null;
      if (this.active && !this.connected) this.handshake();
    }, delay);
  }

  private handshake(): void {
    this.handshakes++;
    const result = this.server.handshake(this.auth());
    if (!result.ok) {
      const err: ConnectError = new Error(result.data ? result.data.message : "xhr poll error");
      if (result.data) {
        err.data = result.data;
        this.active = false; // Like Socket.IO: a middleware refusal ends automatic retries.
      } else {
        this.scheduleAttempt(100);
      }
      this.fire("connect_error", err);
      return;
    }
    this.connected = true;
    this.user = result.user;
    this.pod = this.server.nextPod();
    this.fire("connect");
    this.push("session", {
      token: this.server.issueToken(result.user),
      user: result.user,
      pod: this.pod,
      protocol: this.server.protocol,
      ...(this.server.protocol >= 2 ? { limits: this.server.limits } : {}),
    });
  }

  /** "s1", "s2", ... in order of creation. */
  get name(): string {
    return `s${this.server.sockets.indexOf(this) + 1}`;
  }

  private close(reason: string): void {
    this.connected = false;
    this.server.journal.push(`${this.name} closed`);
    const left = [...this.rooms];
    this.rooms.clear();
    for (const fail of [...this.pending]) fail(new Error("socket has been disconnected"));
    this.fire("disconnect", reason);
    for (const room of left) this.server.broadcastPresence(room);
  }

  private fire(event: string, ...args: unknown[]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) (listener as (...a: unknown[]) => void)(...args);
  }
}
