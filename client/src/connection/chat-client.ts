import {
  type ChatMessage,
  type Draining,
  type ErrorBody,
  ErrorCode,
  type HandshakeAuth,
  type JoinResult,
  Limits,
  nameSchema,
  PROTOCOL_VERSION,
  type Presence,
  type Response,
  roomSchema,
  type Session,
  type Typing,
  textSchema,
} from "@chat/protocol";
import { describeError, refusalOf } from "./errors.js";
import { newClientId, type OutboxEntry, OutboxStore } from "./outbox.js";
import type { ChatState, ConnectionStatus, RoomState } from "./state.js";
import { type KeyValueStorage, SafeStorage, StorageKeys } from "./storage.js";
import { advanceContiguous, hasGap, hasSeq, insertMessages } from "./timeline.js";
import type { ConnectError, SocketFactory, TransportSocket } from "./transport.js";

/** Tunables; the defaults suit production, tests shorten some. */
export interface Timing {
  /** How long to wait for any acknowledgement before treating the request as lost. */
  ackTimeoutMs: number;
  /** Wait this long after noticing a hole before asking for it: out-of-order broadcasts usually fill it first. */
  gapFillDelayMs: number;
  /** Exponential backoff for retries (sends, joins, refused handshakes): base and cap. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Send "typing" at most this often while the user types... */
  typingThrottleMs: number;
  /** ...and "stopped typing" after this long without a keystroke. */
  typingIdleMs: number;
  /** Drop someone else's typing indicator if it is not refreshed within this time. */
  typingExpiryMs: number;
  /** Give up on a handover this long before the server's deadline. */
  handoverMarginMs: number;
  /** Time allowed for the make-before-break move that applies a new name. */
  renameTimeoutMs: number;
}

export const defaultTiming: Timing = {
  ackTimeoutMs: 10_000,
  gapFillDelayMs: 200,
  retryBaseMs: 500,
  retryMaxMs: 15_000,
  typingThrottleMs: 2_000,
  typingIdleMs: 3_000,
  typingExpiryMs: 6_000,
  handoverMarginMs: 250,
  renameTimeoutMs: 10_000,
};

/** Whether the device has a network at all (navigator.onLine and its events in the browser). */
export interface NetworkMonitor {
  isOnline(): boolean;
  subscribe(onChange: () => void): () => void;
}

export interface ChatClientOptions {
  createSocket: SocketFactory;
  storage: KeyValueStorage;
  network?: NetworkMonitor;
  timing?: Partial<Timing>;
  newClientId?: () => string;
}

type Timer = ReturnType<typeof setTimeout>;

const TRIMMED_NOTICE =
  "Some messages sent while you were away are no longer in the history. Showing the latest messages.";
const RESET_NOTICE = "This room's history was reset on the server. Showing what it has now.";

/** One socket and what has been established on it. */
class Conn {
  session: Session | null = null;
  /** Bumped on every session and disconnect: answers to requests made before are stale. */
  epoch = 0;
  /** Rooms joined on this socket in the current session. */
  readonly joined = new Set<string>();
  /** Joins in flight: at most one per room, gap fills included. */
  readonly joins = new Map<string, Promise<void>>();
  readonly joinRetries = new Map<string, Timer>();
  reconnectTimer: Timer | null = null;
  reconnectAttempt = 0;
  closed = false;

  constructor(readonly socket: TransportSocket) {}
}

/**
 * The chat's connection logic, free of any UI framework: socket lifecycle, resume cursors,
 * hole filling, the outbox and make-before-break handover. The UI reads `getState()` (an
 * immutable snapshot, replaced on every change) and calls the action methods.
 */
export class ChatClient {
  private state: ChatState;
  private readonly listeners = new Set<() => void>();
  private readonly timing: Timing;
  private readonly storage: SafeStorage;
  private readonly outboxStore: OutboxStore;
  private readonly makeClientId: () => string;
  private readonly createSocket: SocketFactory;
  private readonly network: NetworkMonitor | undefined;
  private unsubscribeNetwork: (() => void) | null = null;

  /** The socket in use. */
  private conn: Conn | null = null;
  /** During a handover: the socket being prepared to replace `conn`. */
  private standby: Conn | null = null;
  private handoverTimer: Timer | null = null;
  /** Stopped retrying until the user changes something (see ConnectionStatus "offline"). */
  private halted = false;
  /** Why the last handshake failed; shown while not connected. */
  private connectProblem: string | null = null;

  /** Rooms with a send in flight: one at a time per room keeps the user's order. */
  private readonly sendingRooms = new Set<string>();
  private readonly sendAttempts = new Map<string, number>();
  /** clientId -> epoch ms before which it must not be re-sent. */
  private readonly retryAt = new Map<string, number>();
  private flushTimer: Timer | null = null;

  private readonly gapTimers = new Map<string, Timer>();
  /** Consecutive gap fills that brought nothing new, per room: slows down a fill loop. */
  private readonly fruitlessFills = new Map<string, number>();
  private typingExpiryTimer: Timer | null = null;
  private readonly typingOut = new Map<string, { lastSentAt: number; idle: Timer }>();

  constructor(options: ChatClientOptions) {
    this.timing = { ...defaultTiming, ...options.timing };
    this.storage = new SafeStorage(options.storage);
    this.outboxStore = new OutboxStore(this.storage);
    this.makeClientId = options.newClientId ?? newClientId;
    this.createSocket = options.createSocket;
    this.network = options.network;

    const saved = readSavedRooms(this.storage);
    const outbox = this.outboxStore.load();
    // A message queued in a room that another tab's room list dropped keeps its room.
    for (const e of outbox)
      if (!saved.rooms.includes(e.room) && roomSchema.safeParse(e.room).success) saved.rooms.push(e.room);
    const name = this.storage.get(StorageKeys.name);
    this.state = {
      name: name && nameSchema.safeParse(name).success ? name : null,
      user: null,
      status: "offline",
      statusDetail: null,
      pod: null,
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

  // ---- Store interface (fits React's useSyncExternalStore) ----

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getState = (): ChatState => this.state;

  // ---- Actions ----

  /** Connect if a name is known; watch the network. */
  start(): void {
    if (this.network && !this.unsubscribeNetwork) {
      this.unsubscribeNetwork = this.network.subscribe(() => this.refreshStatus());
    }
    if (this.state.name && !this.conn) this.connect();
    this.refreshStatus();
  }

  /** Disconnect and cancel every timer. */
  stop(): void {
    this.unsubscribeNetwork?.();
    this.unsubscribeNetwork = null;
    if (this.standby) this.closeConn(this.standby);
    if (this.conn) this.closeConn(this.conn);
    this.standby = null;
    this.conn = null;
    for (const t of [this.handoverTimer, this.flushTimer, this.typingExpiryTimer]) if (t) clearTimeout(t);
    for (const t of this.gapTimers.values()) clearTimeout(t);
    for (const t of this.typingOut.values()) clearTimeout(t.idle);
    this.gapTimers.clear();
    this.typingOut.clear();
    this.refreshStatus();
  }

  /** Set or change the display name. Returns a validation error, or null. */
  setName(input: string): string | null {
    const parsed = nameSchema.safeParse(input);
    if (!parsed.success)
      return explain(parsed.error, "Pick a name.", `Names have at most ${Limits.nameLength} characters.`);
    const name = parsed.data;
    const changed = name !== this.state.name;
    this.storage.set(StorageKeys.name, name);
    this.update({ name, nameError: null });
    if (this.halted || !this.conn) {
      this.halted = false;
      if (this.conn) this.closeConn(this.conn);
      this.connect();
    } else if (changed && this.conn.session && !this.standby) {
      // A new name takes a new handshake: move to a fresh connection without a gap.
      this.beginHandover(Date.now() + this.timing.renameTimeoutMs);
    }
    // Otherwise a handshake is under way or will be retried, and reads the new name then.
    this.refreshStatus();
    return null;
  }

  /** Join (or switch to) a room. Accepts "General", "#general"; returns a validation error, or null. */
  joinRoom(input: string): string | null {
    const room = normalizeRoomName(input);
    const parsed = roomSchema.safeParse(room);
    if (!parsed.success) {
      return explain(parsed.error, "Type a room name.", `Room names have at most ${Limits.roomLength} characters.`);
    }
    if (this.state.rooms[room]?.error) this.rejoin(room);
    if (!this.state.rooms[room]) {
      this.update({
        rooms: { ...this.state.rooms, [room]: emptyRoom(room) },
        roomOrder: [...this.state.roomOrder, room],
      });
      for (const conn of [this.conn, this.standby]) if (conn?.session) void this.join(conn, room);
    }
    this.openRoom(room);
    return null;
  }

  /** Show a room: it becomes active and its unread count resets. */
  openRoom(room: string): void {
    const previous = this.state.activeRoom;
    if (!this.state.rooms[room]) return;
    if (previous && previous !== room) this.stopTyping(previous);
    this.update({ activeRoom: room });
    this.updateRoom(room, { unread: 0 });
    this.saveRooms();
  }

  /** Leave a room; messages still queued for it are dropped. */
  leaveRoom(room: string): void {
    if (!this.state.rooms[room]) return;
    this.stopTyping(room);
    for (const conn of [this.conn, this.standby]) {
      if (!conn) continue;
      if (conn.socket.connected && conn.session) {
        conn.socket.request("room:leave", { room }, this.timing.ackTimeoutMs).catch(() => {
          // Leaving is best effort: the server also forgets us when the socket closes.
        });
      }
      conn.joined.delete(room);
      clearTimeout(conn.joinRetries.get(room));
      conn.joinRetries.delete(room);
    }
    const gap = this.gapTimers.get(room);
    if (gap) clearTimeout(gap);
    this.gapTimers.delete(room);
    for (const e of this.state.outbox) if (e.room === room) this.forgetEntry(e.clientId);
    const { [room]: _left, ...rooms } = this.state.rooms;
    const index = this.state.roomOrder.indexOf(room);
    const roomOrder = this.state.roomOrder.filter((r) => r !== room);
    const activeRoom =
      this.state.activeRoom === room
        ? (roomOrder[Math.min(index, roomOrder.length - 1)] ?? null)
        : this.state.activeRoom;
    this.update({ rooms, roomOrder, activeRoom, outbox: this.state.outbox.filter((e) => e.room !== room) });
    if (activeRoom) this.updateRoom(activeRoom, { unread: 0 });
    this.saveRooms();
  }

  /** Queue a message; it shows as pending at once and is sent as soon as the room is joined. */
  send(room: string, input: string): string | null {
    const text = input.trim();
    const parsed = textSchema.safeParse(text);
    if (!parsed.success) {
      return explain(parsed.error, "Type a message first.", `Messages have at most ${Limits.textLength} characters.`);
    }
    if (!this.state.rooms[room]) return `Join #${room} first.`;
    const entry: OutboxEntry = {
      clientId: this.makeClientId(),
      room,
      text,
      createdAt: Date.now(),
      status: "pending",
      error: null,
    };
    this.outboxStore.save(entry);
    this.update({ outbox: [...this.state.outbox, entry] });
    this.stopTyping(room);
    this.flush();
    return null;
  }

  /** Put a failed message back in the queue. */
  retry(clientId: string): void {
    const entry = this.state.outbox.find((e) => e.clientId === clientId);
    if (entry?.status !== "failed") return;
    this.sendAttempts.delete(clientId);
    this.retryAt.delete(clientId);
    this.setEntry(clientId, { status: "pending", error: null });
    this.flush();
  }

  /** Drop a message from the queue. */
  discard(clientId: string): void {
    this.forgetEntry(clientId);
    this.update({ outbox: this.state.outbox.filter((e) => e.clientId !== clientId) });
  }

  /** Tell the room we are typing (throttled) or stopped (empty text, idle, or sent). */
  composerChanged(room: string, text: string): void {
    if (text.trim() === "") {
      this.stopTyping(room);
      return;
    }
    const conn = this.conn;
    if (!conn?.session || !conn.joined.has(room)) return;
    const now = Date.now();
    const current = this.typingOut.get(room);
    if (current) clearTimeout(current.idle);
    let lastSentAt = current?.lastSentAt ?? Number.NEGATIVE_INFINITY;
    if (now - lastSentAt >= this.timing.typingThrottleMs) {
      conn.socket.emit("typing", { room, typing: true });
      lastSentAt = now;
    }
    const idle = setTimeout(() => this.stopTyping(room), this.timing.typingIdleMs);
    this.typingOut.set(room, { lastSentAt, idle });
  }

  dismissError(): void {
    this.update({ error: null });
  }

  dismissNotice(room: string): void {
    this.updateRoom(room, { notice: null });
  }

  // ---- Connections ----

  private connect(): void {
    this.conn = this.openConn();
  }

  private openConn(): Conn {
    const socket = this.createSocket(() => this.auth());
    const conn = new Conn(socket);
    const live = () => conn === this.conn || conn === this.standby;
    socket.on("session", (s) => live() && this.onSession(conn, s));
    socket.on("disconnect", (reason) => live() && this.onDisconnect(conn, reason));
    socket.on("connect_error", (err) => live() && this.onConnectError(conn, err));
    socket.on("server:draining", (d) => live() && this.onDraining(conn, d));
    // During a handover both sockets deliver the same broadcasts; dedupe by seq makes that harmless.
    socket.on("message", (m) => live() && this.ingest(m.room, [m]));
    socket.on("presence", (p) => live() && this.onPresence(p));
    socket.on("typing", (t) => live() && this.onTyping(t));
    socket.connect();
    return conn;
  }

  private closeConn(conn: Conn): void {
    conn.closed = true;
    if (conn.reconnectTimer) clearTimeout(conn.reconnectTimer);
    for (const t of conn.joinRetries.values()) clearTimeout(t);
    conn.socket.removeAllListeners();
    conn.socket.disconnect();
  }

  private auth(): HandshakeAuth {
    const auth: HandshakeAuth = { protocol: PROTOCOL_VERSION };
    if (this.state.name) auth.name = this.state.name;
    const token = this.storage.get(StorageKeys.token);
    if (token) auth.token = token;
    return auth;
  }

  private onSession(conn: Conn, session: Session): void {
    conn.session = session;
    conn.epoch++;
    conn.joined.clear();
    conn.joins.clear();
    conn.reconnectAttempt = 0;
    this.storage.set(StorageKeys.token, session.token);
    this.update({ user: session.user, connections: this.state.connections + 1, nameError: null });
    if (conn === this.conn) {
      this.connectProblem = null;
      this.update({ pod: session.pod });
      this.refreshStatus();
    }
    const epoch = conn.epoch;
    void Promise.all(this.state.roomOrder.map((room) => this.join(conn, room))).then(() => {
      // Make-before-break: the standby has its session and every room; now it can take over.
      if (conn === this.standby && conn.epoch === epoch) this.switchToStandby();
    });
  }

  private onDisconnect(conn: Conn, reason: string): void {
    conn.session = null;
    conn.epoch++;
    conn.joined.clear();
    conn.joins.clear();
    if (conn === this.conn) {
      if (this.standby) {
        // The old connection went before the handover finished: go on with the new one.
        this.switchToStandby();
        return;
      }
      for (const room of [...this.typingOut.keys()]) this.stopTyping(room);
      for (const room of this.state.roomOrder) this.updateRoom(room, { typing: [] });
      this.refreshStatus();
    }
    // Socket.IO does not reconnect by itself after the server closed the socket.
    if (reason === "io server disconnect") this.scheduleReconnect(conn);
  }

  private onConnectError(conn: Conn, err: ConnectError): void {
    const refusal = refusalOf(err.data);
    if (refusal?.code === ErrorCode.Unauthorized) {
      // The server no longer accepts our token (expired, other deployment): start a new identity.
      this.storage.remove(StorageKeys.token);
      this.scheduleReconnect(conn, 0);
      return;
    }
    if (refusal?.code === ErrorCode.NameTaken || refusal?.code === ErrorCode.InvalidPayload) {
      const kept = this.conn?.session;
      if (conn === this.standby && kept) {
        // A rename was refused: stay on the current connection under the old name.
        this.abandonStandby();
        this.storage.set(StorageKeys.name, kept.user.name);
        this.update({ name: kept.user.name, nameError: describeError(refusal) });
        return;
      }
      // Retrying cannot help: the user has to pick another name.
      this.halted = true;
      if (this.standby) this.closeConn(this.standby);
      this.closeConn(conn);
      if (conn === this.conn) this.conn = null;
      this.standby = null;
      this.update({ nameError: describeError(refusal), handingOver: false });
      this.refreshStatus();
      return;
    }
    if (conn === this.conn) {
      this.connectProblem = refusal ? describeError(refusal) : "Cannot reach the server; retrying.";
      this.refreshStatus();
    }
    // A refusal by the server's middleware stops Socket.IO's own retries; transport errors do not.
    if (!conn.socket.active) this.scheduleReconnect(conn);
  }

  private scheduleReconnect(conn: Conn, delay = this.backoff(conn.reconnectAttempt++)): void {
    if (conn.reconnectTimer || conn.closed) return;
    conn.reconnectTimer = setTimeout(() => {
      conn.reconnectTimer = null;
      if (!conn.closed && !conn.socket.connected) conn.socket.connect();
    }, delay);
  }

  // ---- Handover (make-before-break) ----

  private onDraining(conn: Conn, { deadline }: Draining): void {
    if (conn === this.standby) {
      // The new connection landed on a pod that is draining too: try again.
      this.closeConn(conn);
      this.standby = this.openConn();
      return;
    }
    if (!this.standby) this.beginHandover(deadline);
  }

  private beginHandover(deadline: number): void {
    this.standby = this.openConn();
    this.update({ handingOver: true });
    // If the new connection is not ready by the deadline, it becomes the connection anyway and
    // carries on like any reconnect; the old one is about to be closed by the server.
    const wait = Math.max(0, deadline - Date.now() - this.timing.handoverMarginMs);
    this.handoverTimer = setTimeout(() => this.switchToStandby(), wait);
  }

  private abandonStandby(): void {
    if (this.standby) this.closeConn(this.standby);
    this.standby = null;
    if (this.handoverTimer) clearTimeout(this.handoverTimer);
    this.handoverTimer = null;
    this.update({ handingOver: false });
    this.flush();
  }

  private switchToStandby(): void {
    const next = this.standby;
    if (!next) return;
    if (this.handoverTimer) clearTimeout(this.handoverTimer);
    this.handoverTimer = null;
    const old = this.conn;
    this.standby = null;
    this.conn = next;
    this.update({ handingOver: false, pod: next.session?.pod ?? null });
    this.refreshStatus();
    // Queued messages go out through the new socket before the old one closes.
    this.flush();
    if (old) {
      for (const room of [...this.typingOut.keys()]) this.stopTyping(room);
      this.closeConn(old);
    }
  }

  // ---- Rooms: join, resume, fill holes ----

  /** Join `room` on `conn`, or return the join already in flight there. */
  private join(conn: Conn, room: string): Promise<void> {
    const inFlight = conn.joins.get(room);
    if (inFlight) return inFlight;
    const done = this.requestJoin(conn, room).finally(() => {
      if (conn.joins.get(room) === done) conn.joins.delete(room);
      this.checkGap(room);
    });
    conn.joins.set(room, done);
    return done;
  }

  private async requestJoin(conn: Conn, room: string): Promise<void> {
    const before = this.state.rooms[room];
    if (!before) return;
    const epoch = conn.epoch;
    const since = before.loaded ? before.contiguous : undefined;
    const wasGapFill = before.loaded && hasGap(before.contiguous, before.messages);
    let res: Response<JoinResult>;
    try {
      res = await conn.socket.request(
        "room:join",
        since === undefined ? { room } : { room, since },
        this.timing.ackTimeoutMs,
      );
    } catch {
      // Timed out, or the connection dropped (then the next session re-joins anyway).
      if (conn.epoch === epoch) this.retryJoin(conn, room, this.backoff(0));
      return;
    }
    if (conn.epoch !== epoch || conn.closed || !this.state.rooms[room]) return;
    if (!res.ok) {
      this.onJoinRefused(conn, room, res.error);
      return;
    }
    this.applyJoin(res.data, since);
    const progressed = (this.state.rooms[room]?.contiguous ?? 0) > before.contiguous;
    this.fruitlessFills.set(room, wasGapFill && !progressed ? (this.fruitlessFills.get(room) ?? 0) + 1 : 0);
    conn.joined.add(room);
    if (conn === this.conn) this.flush();
  }

  private onJoinRefused(conn: Conn, room: string, error: ErrorBody): void {
    switch (error.code) {
      case ErrorCode.RateLimited:
        this.retryJoin(conn, room, error.retryAfterMs ?? this.timing.retryBaseMs);
        return;
      case ErrorCode.Unavailable:
      case ErrorCode.Internal:
      case ErrorCode.ServerFull:
        this.retryJoin(conn, room, this.backoff(1));
        return;
      case ErrorCode.Draining:
        return; // The handover re-joins on the new connection.
      case ErrorCode.NameTaken: {
        // Names are unique per room: say so next to the name field too, where it is fixed.
        const message = `Could not join #${room}: ${error.message || describeError(error)}`;
        this.updateRoom(room, { error: message });
        this.update({ error: message, nameError: describeError(error) });
        return;
      }
      default: {
        const message = `Could not join #${room}: ${describeError(error)}`;
        this.updateRoom(room, { error: message });
        this.update({ error: message });
      }
    }
  }

  private retryJoin(conn: Conn, room: string, delay: number): void {
    if (conn.closed || conn.joinRetries.has(room)) return;
    conn.joinRetries.set(
      room,
      setTimeout(() => {
        conn.joinRetries.delete(room);
        if (conn.session && !conn.closed && !conn.joined.has(room)) void this.join(conn, room);
      }, delay),
    );
  }

  /** Try joining a room again after a refusal. */
  rejoin(room: string): void {
    this.updateRoom(room, { error: null });
    if (this.conn?.session) void this.join(this.conn, room);
  }

  /**
   * Merge a join answer. It describes the room as of when the server read it, and live broadcasts
   * may have overtaken it since (a handover holds two connections), so "the server is behind us"
   * is judged against the `since` we sent, never against what we hold now.
   */
  private applyJoin(data: JoinResult, since: number | undefined): void {
    const room = this.state.rooms[data.room];
    if (!room) return;
    const lastSeen = room.messages[room.messages.length - 1]?.seq ?? room.contiguous;
    let messages: readonly ChatMessage[];
    let contiguous: number;
    let notice = room.notice;
    if (room.loaded && since !== undefined && data.cursor < since) {
      // The server's history is older than ours: it was reset. Start over from what it has.
      messages = insertMessages([], data.messages);
      contiguous = data.cursor;
      notice = RESET_NOTICE;
    } else if (room.loaded && data.trimmed) {
      // What we missed is gone: show the latest page (and anything newer we already have).
      messages = insertMessages(
        insertMessages([], data.messages),
        room.messages.filter((m) => m.seq > data.cursor),
      );
      contiguous = data.cursor;
      notice = TRIMMED_NOTICE;
    } else {
      const fresh = room.loaded ? data.messages.filter((m) => m.seq > room.contiguous) : data.messages;
      messages = insertMessages(room.messages, fresh);
      contiguous = Math.max(room.contiguous, data.cursor);
    }
    const me = this.state.user?.id;
    const missed =
      room.loaded && data.room !== this.state.activeRoom
        ? messages.filter((m) => m.seq > lastSeen && m.author.id !== me).length
        : 0;
    this.updateRoom(data.room, {
      messages,
      contiguous: advanceContiguous(contiguous, messages),
      loaded: true,
      presence: data.presence,
      notice,
      error: null,
      unread: room.unread + missed,
    });
    this.settleDelivered(data.room, data.messages);
  }

  /** Add messages (live broadcasts, acks) to a room. */
  private ingest(roomName: string, incoming: readonly ChatMessage[]): void {
    const room = this.state.rooms[roomName];
    if (!room) return;
    // At or below the cursor everything has been seen or deliberately skipped.
    const fresh = incoming.filter((m) => !(room.loaded && m.seq <= room.contiguous) && !hasSeq(room.messages, m.seq));
    this.settleDelivered(roomName, incoming);
    if (fresh.length === 0) return;
    const messages = insertMessages(room.messages, fresh);
    const me = this.state.user?.id;
    const unseen = roomName === this.state.activeRoom ? 0 : fresh.filter((m) => m.author.id !== me).length;
    const authors = new Set(fresh.map((m) => m.author.id));
    this.updateRoom(roomName, {
      messages,
      contiguous: room.loaded ? advanceContiguous(room.contiguous, messages) : room.contiguous,
      unread: room.unread + unseen,
      typing: room.typing.filter((t) => !authors.has(t.user.id)),
    });
    this.checkGap(roomName);
  }

  private checkGap(roomName: string): void {
    const room = this.state.rooms[roomName];
    if (!room?.loaded || !hasGap(room.contiguous, room.messages) || this.gapTimers.has(roomName)) return;
    const fruitless = this.fruitlessFills.get(roomName) ?? 0;
    const delay = Math.min(this.timing.retryMaxMs, this.timing.gapFillDelayMs * 2 ** fruitless);
    this.gapTimers.set(
      roomName,
      setTimeout(() => {
        this.gapTimers.delete(roomName);
        const conn = this.conn;
        const now = this.state.rooms[roomName];
        // Not joined yet? The (re)join in progress asks with `since` and so fills the hole itself.
        if (!conn?.session || !conn.joined.has(roomName) || !now || !hasGap(now.contiguous, now.messages)) return;
        void this.join(conn, roomName);
      }, delay),
    );
  }

  private onPresence({ room, users }: Presence): void {
    const current = this.state.rooms[room];
    if (!current) return;
    const present = new Set(users.map((u) => u.id));
    this.updateRoom(room, { presence: users, typing: current.typing.filter((t) => present.has(t.user.id)) });
  }

  private onTyping({ room, user, typing }: Typing): void {
    const current = this.state.rooms[room];
    if (!current || user.id === this.state.user?.id) return;
    const others = current.typing.filter((t) => t.user.id !== user.id);
    this.updateRoom(room, {
      typing: typing ? [...others, { user, expiresAt: Date.now() + this.timing.typingExpiryMs }] : others,
    });
    this.scheduleTypingExpiry();
  }

  private scheduleTypingExpiry(): void {
    if (this.typingExpiryTimer) clearTimeout(this.typingExpiryTimer);
    this.typingExpiryTimer = null;
    let next = Number.POSITIVE_INFINITY;
    for (const room of Object.values(this.state.rooms)) for (const t of room.typing) next = Math.min(next, t.expiresAt);
    if (next === Number.POSITIVE_INFINITY) return;
    this.typingExpiryTimer = setTimeout(
      () => {
        const now = Date.now();
        for (const room of Object.values(this.state.rooms)) {
          if (room.typing.some((t) => t.expiresAt <= now)) {
            this.updateRoom(room.name, { typing: room.typing.filter((t) => t.expiresAt > now) });
          }
        }
        this.scheduleTypingExpiry();
      },
      Math.max(0, next - Date.now()),
    );
  }

  private stopTyping(room: string): void {
    const current = this.typingOut.get(room);
    if (!current) return;
    clearTimeout(current.idle);
    this.typingOut.delete(room);
    if (this.conn?.session && this.conn.joined.has(room)) this.conn.socket.emit("typing", { room, typing: false });
  }

  // ---- Outbox ----

  /** Send what can be sent: the oldest pending message of each joined room with no send in flight. */
  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const conn = this.conn;
    // During a handover the queue waits for the new connection.
    if (!conn?.session || this.standby) return;
    const now = Date.now();
    let wake = Number.POSITIVE_INFINITY;
    const seen = new Set<string>();
    for (const entry of this.state.outbox) {
      if (entry.status !== "pending" || seen.has(entry.room)) continue;
      seen.add(entry.room);
      if (!conn.joined.has(entry.room) || this.sendingRooms.has(entry.room)) continue;
      const at = this.retryAt.get(entry.clientId) ?? 0;
      if (at > now) wake = Math.min(wake, at);
      else this.sendEntry(conn, entry);
    }
    if (wake !== Number.POSITIVE_INFINITY) this.flushTimer = setTimeout(() => this.flush(), wake - now);
  }

  private sendEntry(conn: Conn, entry: OutboxEntry): void {
    const { clientId, room, text } = entry;
    const attempt = (this.sendAttempts.get(clientId) ?? 0) + 1;
    this.sendAttempts.set(clientId, attempt);
    this.sendingRooms.add(room);
    conn.socket
      .request("message:send", { room, text, clientId }, this.timing.ackTimeoutMs)
      .then(
        (res) => this.onSendAck(conn, clientId, attempt, res),
        () => {
          // No answer. If the socket is still up it was a timeout: back off. If it dropped, the
          // message simply waits for the next connection.
          if (conn.socket.connected && this.isQueued(clientId)) {
            this.retryAt.set(clientId, Date.now() + this.backoff(attempt - 1));
            this.setEntry(clientId, { error: "No answer from the server; retrying." });
          }
        },
      )
      .finally(() => {
        this.sendingRooms.delete(room);
        this.flush();
      });
  }

  private onSendAck(conn: Conn, clientId: string, attempt: number, res: Response<ChatMessage>): void {
    if (!this.isQueued(clientId)) return; // Delivered meanwhile (its broadcast came first) or discarded.
    if (res.ok) {
      this.ingest(res.data.room, [res.data]);
      return;
    }
    const { error } = res;
    switch (error.code) {
      case ErrorCode.RateLimited:
        this.retryAt.set(clientId, Date.now() + (error.retryAfterMs ?? this.backoff(attempt - 1)));
        this.setEntry(clientId, { error: describeError(error) });
        return;
      case ErrorCode.Unavailable:
      case ErrorCode.ServerFull:
      case ErrorCode.Draining:
        this.retryAt.set(clientId, Date.now() + this.backoff(attempt - 1));
        this.setEntry(clientId, { error: describeError(error) });
        return;
      case ErrorCode.NotInRoom: {
        const entry = this.state.outbox.find((e) => e.clientId === clientId);
        if (entry && conn.session) {
          conn.joined.delete(entry.room);
          void this.join(conn, entry.room);
        }
        return;
      }
      default:
        // invalid_payload and anything unexpected: retrying the same request cannot help.
        this.setEntry(clientId, { status: "failed", error: describeError(error) });
    }
  }

  /** Our queued messages that appear in the room's history were delivered: drop them from the queue. */
  private settleDelivered(room: string, messages: readonly ChatMessage[]): void {
    if (this.state.outbox.length === 0) return;
    const ids = new Set(messages.map((m) => m.clientId));
    const delivered = this.state.outbox.filter((e) => e.room === room && ids.has(e.clientId));
    if (delivered.length === 0) return;
    for (const e of delivered) this.forgetEntry(e.clientId);
    this.update({ outbox: this.state.outbox.filter((e) => !delivered.includes(e)) });
  }

  private isQueued(clientId: string): boolean {
    return this.state.outbox.some((e) => e.clientId === clientId);
  }

  private setEntry(clientId: string, patch: Partial<Pick<OutboxEntry, "status" | "error">>): void {
    const outbox = this.state.outbox.map((e) => (e.clientId === clientId ? { ...e, ...patch } : e));
    const entry = outbox.find((e) => e.clientId === clientId);
    if (entry) this.outboxStore.save(entry);
    this.update({ outbox });
  }

  private forgetEntry(clientId: string): void {
    this.outboxStore.remove(clientId);
    this.retryAt.delete(clientId);
    this.sendAttempts.delete(clientId);
  }

  // ---- State plumbing ----

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.timing.retryMaxMs, this.timing.retryBaseMs * 2 ** Math.min(attempt, 20));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  /** Derive the status from the facts, and account for time without a usable connection. */
  private refreshStatus(): void {
    const online = this.network?.isOnline() ?? true;
    let status: ConnectionStatus;
    if (!online || this.halted || !this.conn) status = "offline";
    else status = this.conn.session ? "connected" : "reconnecting";
    const now = Date.now();
    let { disconnectedMs, disconnectedSince } = this.state;
    if (status === "connected" && disconnectedSince !== null) {
      disconnectedMs += now - disconnectedSince;
      disconnectedSince = null;
    } else if (status !== "connected" && disconnectedSince === null && this.state.connections > 0) {
      disconnectedSince = now;
    }
    const statusDetail = status === "connected" ? null : !online ? "No network." : this.connectProblem;
    if (
      status !== this.state.status ||
      disconnectedSince !== this.state.disconnectedSince ||
      statusDetail !== this.state.statusDetail
    ) {
      this.update({ status, disconnectedMs, disconnectedSince, statusDetail });
    }
  }

  private update(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  private updateRoom(name: string, patch: Partial<RoomState>): void {
    const room = this.state.rooms[name];
    if (!room) return;
    this.update({ rooms: { ...this.state.rooms, [name]: { ...room, ...patch } } });
  }

  private saveRooms(): void {
    this.storage.set(StorageKeys.rooms, JSON.stringify({ rooms: this.state.roomOrder, active: this.state.activeRoom }));
  }
}

/** A validation failure in words: the schemas' own messages, except for the generic length ones. */
function explain(error: { issues: readonly { code: string; message: string }[] }, empty: string, long: string): string {
  const issue = error.issues[0];
  if (!issue || issue.code === "too_small") return empty;
  return issue.code === "too_big" ? long : issue.message;
}

/** "  #General Chat " -> "general-chat". */
export function normalizeRoomName(input: string): string {
  return input.trim().replace(/^#/, "").trim().toLowerCase().replace(/\s+/g, "-");
}

function emptyRoom(name: string): RoomState {
  return {
    name,
    messages: [],
    contiguous: 0,
    loaded: false,
    presence: [],
    typing: [],
    unread: 0,
    notice: null,
    error: null,
  };
}

function readSavedRooms(storage: SafeStorage): { rooms: string[]; active: string | null } {
  const value = storage.getJson(StorageKeys.rooms) as { rooms?: unknown; active?: unknown } | null;
  const rooms = Array.isArray(value?.rooms)
    ? [...new Set(value.rooms.filter((r): r is string => typeof r === "string" && roomSchema.safeParse(r).success))]
    : [];
  const active = typeof value?.active === "string" && rooms.includes(value.active) ? value.active : (rooms[0] ?? null);
  return { rooms, active };
}
