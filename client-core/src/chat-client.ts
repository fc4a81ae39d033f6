import { type ChatMessage, type Draining, Limits, nameSchema, type RoomSummary, roomSchema } from "@chat/protocol";
import { Connection, type NetworkMonitor } from "./connection.js";
import type { ConnectionState, IllegalTransitionError } from "./connection-state.js";
import { checkText, explain, normalizeRoomName, type Refusal } from "./input.js";
import { newClientId, type OutboxEntry, OutboxStore } from "./outbox.js";
import { OutboxSender } from "./outbox-sender.js";
import { attempt, listRooms, revise } from "./requests.js";
import { RoomSync } from "./room-sync.js";
import { type ChatState, emptyRoom, initialState } from "./state.js";
import { type KeyValueStorage, SafeStorage, StorageKeys } from "./storage.js";
import { Store } from "./store.js";
import { defaultTiming, type Timing } from "./timing.js";
import type { SocketFactory } from "./transport.js";
import { Typing } from "./typing.js";

export { normalizeRoomName };

export interface ChatClientOptions {
  createSocket: SocketFactory;
  storage: KeyValueStorage;
  network?: NetworkMonitor;
  timing?: Partial<Timing>;
  newClientId?: () => string;
  /** A bug in the client tried a transition the state machine does not allow (default: throw). */
  onIllegalTransition?: (error: IllegalTransitionError) => void;
}

/** What a ChatClient reports besides its state snapshot (bots and tests record these). */
export interface ChatClientEvents {
  /** The connection state machine moved. */
  state: (from: ConnectionState, to: ConnectionState) => void;
  /** A live broadcast arrived, before dedupe (during a handover both sockets deliver it). */
  broadcast: (message: ChatMessage) => void;
  /** Messages from a join answer, a broadcast or an ack were accepted into a room (may repeat seqs). */
  received: (room: string, messages: readonly ChatMessage[]) => void;
  /** One of our queued messages is in the room's history: the outbox entry is done. */
  delivered: (message: ChatMessage) => void;
  /** A pod told us it is going away. */
  draining: (notice: Draining) => void;
}

type Listeners = { [E in keyof ChatClientEvents]: Set<ChatClientEvents[E]> };

/**
 * The chat client, free of any UI framework: the facade the UI and the test bots call. The
 * connection (state machine, handover), per-room sync, outbox and typing live in their own
 * modules; this wires them together. The UI reads `getState()` (an immutable snapshot,
 * replaced on every change) and calls the action methods.
 */
export class ChatClient {
  private readonly store: Store;
  private readonly storage: SafeStorage;
  private readonly makeClientId: () => string;
  private readonly rooms = new Map<string, RoomSync>();
  private readonly connection: Connection;
  private readonly sender: OutboxSender;
  private readonly typing: Typing;
  private readonly timing: Timing;
  private readonly listeners: Listeners = {
    state: new Set(),
    broadcast: new Set(),
    received: new Set(),
    delivered: new Set(),
    draining: new Set(),
  };

  readonly subscribe: Store["subscribe"];
  readonly getState: () => ChatState;

  constructor(options: ChatClientOptions) {
    this.timing = { ...defaultTiming, ...options.timing };
    this.storage = new SafeStorage(options.storage);
    this.makeClientId = options.newClientId ?? newClientId;
    const outboxStore = new OutboxStore(this.storage);
    this.store = new Store(initialState(this.storage, outboxStore));
    this.subscribe = this.store.subscribe;
    this.getState = this.store.getState;
    const store = this.store;
    const timing = this.timing;

    this.sender = new OutboxSender({
      store,
      timing,
      outbox: outboxStore,
      target: () => this.connection.sendTarget,
      isJoined: (conn, room) => this.rooms.get(room)?.isJoined(conn) ?? false,
      ingest: (room, messages) => this.rooms.get(room)?.ingest(messages),
      rejoin: (conn, room) => this.rooms.get(room)?.rejoinOn(conn),
      delivered: (m) => this.emit("delivered", m),
    });
    this.typing = new Typing(store, timing, (room) => {
      const conn = this.connection.current;
      return conn?.session && this.rooms.get(room)?.isJoined(conn) ? conn : null;
    });
    this.connection = new Connection({
      store,
      timing,
      storage: this.storage,
      createSocket: options.createSocket,
      network: options.network,
      onIllegalTransition: options.onIllegalTransition,
      joinAll: async (conn) => {
        await Promise.all(store.state.roomOrder.map((room) => this.rooms.get(room)?.join(conn)));
      },
      forget: (conn, closed) => {
        for (const sync of this.rooms.values()) closed ? sync.drop(conn) : sync.reset(conn);
      },
      flush: () => this.sender.flush(),
      leaving: (lost) => (lost ? this.typing.clear() : this.typing.stopAll()),
      message: (m) => {
        this.emit("broadcast", m);
        this.rooms.get(m.room)?.ingest([m]);
      },
      presence: (p) => this.rooms.get(p.room)?.presence(p.users),
      presenceDelta: (d) => this.rooms.get(d.room)?.presenceDelta(d),
      presenceCount: (c) => this.rooms.get(c.room)?.presenceCount(c),
      revised: (m) => this.rooms.get(m.room)?.revise(m),
      typing: (t) => this.typing.received(t),
      draining: (d) => this.emit("draining", d),
      transition: (from, to) => this.emit("state", from, to),
    });
    for (const room of this.store.state.roomOrder) this.addSync(room);
  }

  on<E extends keyof ChatClientEvents>(event: E, listener: ChatClientEvents[E]): () => void {
    const set = this.listeners[event] as Set<ChatClientEvents[E]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Connect if a name is known; watch the network. */
  start(): void {
    this.connection.start();
  }

  /** Disconnect and cancel every timer. */
  stop(): void {
    this.connection.stop();
    this.sender.dispose();
    this.typing.dispose();
    for (const sync of this.rooms.values()) sync.dispose();
  }

  /** Set or change the display name. Returns a validation error, or null. */
  setName(input: string): string | null {
    const parsed = nameSchema.safeParse(input);
    if (!parsed.success)
      return explain(parsed.error, "Pick a name.", `Names have at most ${Limits.nameLength} characters.`);
    const changed = parsed.data !== this.store.state.name;
    this.storage.set(StorageKeys.name, parsed.data);
    this.store.update({ name: parsed.data, nameError: null });
    this.connection.renamed(changed);
    return null;
  }

  /** Join (or switch to) a room. Accepts "General", "#general"; returns a validation error, or null. */
  joinRoom(input: string): string | null {
    const room = normalizeRoomName(input);
    const parsed = roomSchema.safeParse(room);
    if (!parsed.success) {
      return explain(parsed.error, "Type a room name.", `Room names have at most ${Limits.roomLength} characters.`);
    }
    const { state } = this.store;
    if (state.rooms[room]?.error) this.rejoin(room);
    if (!state.rooms[room]) {
      this.store.update({ rooms: { ...state.rooms, [room]: emptyRoom(room) }, roomOrder: [...state.roomOrder, room] });
      const sync = this.addSync(room);
      for (const conn of this.connection.all) if (conn.session) void sync.join(conn);
    }
    this.openRoom(room);
    return null;
  }

  /** Try joining a room again after a refusal. */
  rejoin(room: string): void {
    this.store.updateRoom(room, { error: null });
    const conn = this.connection.current;
    if (conn?.session) void this.rooms.get(room)?.join(conn);
  }

  /** Show a room: it becomes active and its unread count resets. */
  openRoom(room: string): void {
    const previous = this.store.state.activeRoom;
    if (!this.store.state.rooms[room]) return;
    if (previous && previous !== room) this.typing.stop(previous);
    this.store.update({ activeRoom: room });
    this.store.updateRoom(room, { unread: 0 });
    this.saveRooms();
  }

  /** Leave a room; messages still queued for it are dropped. */
  leaveRoom(room: string): void {
    const { state } = this.store;
    if (!state.rooms[room]) return;
    this.typing.stop(room);
    for (const conn of this.connection.all) {
      if (!conn.socket.connected || !conn.session) continue;
      conn.socket.request("room:leave", { room }, this.timing.ackTimeoutMs).catch(() => {
        // Leaving is best effort: the server also forgets us when the socket closes.
      });
    }
    this.rooms.get(room)?.dispose();
    this.rooms.delete(room);
    this.sender.dropRoom(room);
    const { [room]: _left, ...rooms } = state.rooms;
    const index = state.roomOrder.indexOf(room);
    const roomOrder = state.roomOrder.filter((r) => r !== room);
    const activeRoom =
      state.activeRoom === room ? (roomOrder[Math.min(index, roomOrder.length - 1)] ?? null) : state.activeRoom;
    this.store.update({ rooms, roomOrder, activeRoom });
    if (activeRoom) this.store.updateRoom(activeRoom, { unread: 0 });
    this.saveRooms();
  }

  /**
   * Queue a message; it shows as pending at once and is sent as soon as the room is joined. A
   * blank text or one over the session's `maxTextLength` is refused and queued nowhere.
   */
  send(room: string, input: string): Refusal | null {
    const queued = this.enqueue(room, input);
    return "code" in queued ? queued : null;
  }

  /** Like `send`, but returns the queued entry (its clientId identifies the stored message). */
  enqueue(room: string, input: string): OutboxEntry | Refusal {
    const checked = checkText(input, this.store.state.limits.maxTextLength);
    if ("code" in checked) return checked;
    if (!this.store.state.rooms[room]) return { code: "not_joined", message: `Join #${room} first.` };
    const entry: OutboxEntry = {
      clientId: this.makeClientId(),
      room,
      text: checked.text,
      createdAt: Date.now(),
      status: "pending",
      error: null,
    };
    this.typing.stop(room);
    this.sender.enqueue(entry);
    return entry;
  }

  /** Change the text of one of our messages (needs a connection: edits are not queued). */
  edit(room: string, id: string, input: string): Promise<Refusal | null> {
    const checked = checkText(input, this.store.state.limits.maxTextLength);
    if ("code" in checked) return Promise.resolve(checked);
    return this.revise(room, id, checked.text);
  }

  /** Delete one of our messages; it stays as a "deleted" marker. */
  delete(room: string, id: string): Promise<Refusal | null> {
    return this.revise(room, id, null);
  }

  /** Fetch the page of messages before the oldest one shown (`hasMore` says whether there is one). */
  loadOlder(room: string): Promise<void> {
    return this.rooms.get(room)?.loadOlder() ?? Promise.resolve();
  }

  /** The next page of a large room's members (`presenceHasMore`); resolves when it is in (or failed). */
  loadMorePresence(room: string): Promise<void> {
    return this.rooms.get(room)?.loadMorePresence() ?? Promise.resolve();
  }

  /** Load a large room's members from the start again (the sample may be stale). */
  reloadPresence(room: string): Promise<void> {
    return this.rooms.get(room)?.reloadPresence() ?? Promise.resolve();
  }

  /** The server's busiest rooms (`rooms:list`); rejects with a `RequestError`. */
  listRooms(): Promise<RoomSummary[]> {
    return listRooms(this.connection.current, this.timing.ackTimeoutMs);
  }

  /** Put a failed message back in the queue. */
  retry(clientId: string): void {
    this.sender.retry(clientId);
  }

  /** Drop a message from the queue. */
  discard(clientId: string): void {
    this.sender.discard(clientId);
  }

  /** Tell the room we are typing (throttled) or stopped (empty text, idle, or sent). */
  composerChanged(room: string, text: string): void {
    this.typing.changed(room, text);
  }

  dismissError(): void {
    this.store.update({ error: null });
  }

  dismissNotice(room: string): void {
    this.store.updateRoom(room, { notice: null });
  }

  private revise(room: string, id: string, text: string | null): Promise<Refusal | null> {
    const request = revise(this.connection.current, room, id, text, this.timing.ackTimeoutMs);
    return attempt(request, (message) => this.rooms.get(room)?.revise(message));
  }

  private addSync(room: string): RoomSync {
    const sync = new RoomSync(room, {
      store: this.store,
      timing: this.timing,
      current: () => this.connection.current,
      joined: (conn) => {
        if (conn === this.connection.current) this.sender.flush();
      },
      received: (name, messages) => {
        this.sender.settle(name, messages);
        this.emit("received", name, messages);
      },
    });
    this.rooms.set(room, sync);
    return sync;
  }

  private emit<E extends keyof ChatClientEvents>(event: E, ...args: Parameters<ChatClientEvents[E]>): void {
    for (const listener of this.listeners[event]) (listener as (...a: typeof args) => void)(...args);
  }

  private saveRooms(): void {
    const { roomOrder, activeRoom } = this.store.state;
    this.storage.set(StorageKeys.rooms, JSON.stringify({ rooms: roomOrder, active: activeRoom }));
  }
}
