import {
  type ChatMessage,
  type Draining,
  ErrorCode,
  type HandshakeAuth,
  PROTOCOL_VERSION,
  type Presence,
  type PresenceCount,
  type PresenceDelta,
  type Session,
  type Typing,
} from "@chat/protocol";
import { Conn } from "./conn.js";
import { ConnectionMachine, type ConnectionState, type IllegalTransitionError, statusOf } from "./connection-state.js";
import { describeError, refusalOf } from "./errors.js";
import { limitsOf } from "./limits.js";
import { type SafeStorage, StorageKeys } from "./storage.js";
import type { Store } from "./store.js";
import { backoff, type Timer, type Timing } from "./timing.js";
import type { ConnectError, SocketFactory } from "./transport.js";

/** Whether the device has a network at all (navigator.onLine and its events in the browser). */
export interface NetworkMonitor {
  isOnline(): boolean;
  subscribe(onChange: () => void): () => void;
}

export interface ConnectionDeps {
  store: Store;
  timing: Timing;
  storage: SafeStorage;
  createSocket: SocketFactory;
  network?: NetworkMonitor | undefined;
  onIllegalTransition?: ((error: IllegalTransitionError) => void) | undefined;
  /** A session began on `conn`: join every room there; resolves once all have answered. */
  joinAll(conn: Conn): Promise<void>;
  /** `conn`'s session began or ended (`closed`: for good): what was joined on it is void. */
  forget(conn: Conn, closed: boolean): void;
  /** The connection in use changed or became usable: send what is queued. */
  flush(): void;
  /** The connection in use is about to be replaced (`lost`: already gone). */
  leaving(lost: boolean): void;
  message(m: ChatMessage): void;
  presence(p: Presence): void;
  /** An edit or deletion (protocol 2). */
  revised(m: ChatMessage): void;
  presenceDelta(d: PresenceDelta): void;
  /** A large room's size (protocol 3). */
  presenceCount(c: PresenceCount): void;
  typing(t: Typing): void;
  draining(d: Draining): void;
  transition(from: ConnectionState, to: ConnectionState): void;
}

/**
 * The socket lifecycle: one connection in use, and during a make-before-break handover a
 * standby that replaces it once it has a session and has joined every room. Every change of
 * the connection state goes through the state machine; the UI's status is derived from it.
 */
export class Connection {
  /** The socket in use. */
  private conn: Conn | null = null;
  /** During a handover: the socket being prepared to replace `conn`. */
  private standby: Conn | null = null;
  private handoverTimer: Timer | null = null;
  /** Why the last handshake failed; shown while not connected. */
  private problem: string | null = null;
  private unsubscribeNetwork: (() => void) | null = null;
  private readonly machine: ConnectionMachine;

  constructor(private readonly deps: ConnectionDeps) {
    this.machine = new ConnectionMachine((from, to) => this.changed(from, to), deps.onIllegalTransition);
  }

  get state(): ConnectionState {
    return this.machine.state;
  }

  /** The connection in use, with its session, or null. */
  get current(): Conn | null {
    return this.conn;
  }

  /**
   * Where queued messages may go now. During a handover that is still the old connection: its
   * pod keeps serving until this client has moved (and stores what is in flight before it
   * exits), so holding the queue would only add the new connection's handshake and joins to
   * every message's delay. A send cut short by the switch is retried on the new connection
   * with the same clientId, and stored once.
   */
  get sendTarget(): Conn | null {
    return this.conn?.session ? this.conn : null;
  }

  /** Every open connection (two during a handover). */
  get all(): Conn[] {
    return [this.conn, this.standby].filter((c): c is Conn => c !== null);
  }

  start(): void {
    if (this.deps.network && !this.unsubscribeNetwork) {
      this.unsubscribeNetwork = this.deps.network.subscribe(() => this.enter(this.socketState()));
    }
    if (this.deps.store.state.name && !this.conn) this.connect();
    this.enter(this.socketState());
  }

  stop(): void {
    this.unsubscribeNetwork?.();
    this.unsubscribeNetwork = null;
    for (const conn of this.all) this.close(conn);
    this.standby = null;
    this.conn = null;
    if (this.handoverTimer) clearTimeout(this.handoverTimer);
    this.handoverTimer = null;
    this.enter("idle");
  }

  /** A name was set: connect (again, after a halt), or move to a connection that carries it. */
  renamed(changed: boolean): void {
    if (this.machine.state === "halted" || !this.conn) {
      if (this.conn) this.close(this.conn);
      this.connect();
    } else if (changed && this.conn.session && !this.standby) {
      // A new name takes a new handshake: move to a fresh connection without a gap.
      this.beginHandover(Date.now() + this.deps.timing.renameTimeoutMs);
    }
    // Otherwise a handshake is under way or will be retried, and reads the new name then.
  }

  private connect(): void {
    this.conn = this.open();
    this.enter(this.deps.store.state.connections > 0 ? "reconnecting" : "connecting");
  }

  private open(): Conn {
    const socket = this.deps.createSocket(() => this.auth());
    const conn = new Conn(socket);
    const live = () => conn === this.conn || conn === this.standby;
    socket.on("session", (s) => live() && this.onSession(conn, s));
    socket.on("disconnect", (reason) => live() && this.onDisconnect(conn, reason));
    socket.on("connect_error", (err) => live() && this.onConnectError(conn, err));
    socket.on("server:draining", (d) => live() && this.onDraining(conn, d));
    // During a handover both sockets deliver the same broadcasts; dedupe by seq makes that harmless.
    socket.on("message", (m) => live() && this.deps.message(m));
    socket.on("presence", (p) => live() && this.deps.presence(p));
    socket.on("message:revised", (m) => live() && this.deps.revised(m));
    socket.on("presence:delta", (d) => live() && this.deps.presenceDelta(d));
    socket.on("presence:count", (c) => live() && this.deps.presenceCount(c));
    socket.on("typing", (t) => live() && this.deps.typing(t));
    socket.connect();
    return conn;
  }

  private close(conn: Conn): void {
    conn.closed = true;
    if (conn.reconnectTimer) clearTimeout(conn.reconnectTimer);
    this.deps.forget(conn, true);
    conn.socket.removeAllListeners();
    conn.socket.disconnect();
  }

  private auth(): HandshakeAuth {
    const auth: HandshakeAuth = { protocol: PROTOCOL_VERSION };
    const { name } = this.deps.store.state;
    if (name) auth.name = name;
    const token = this.deps.storage.get(StorageKeys.token);
    if (token) auth.token = token;
    return auth;
  }

  private onSession(conn: Conn, session: Session): void {
    const { store } = this.deps;
    conn.session = session;
    conn.epoch++;
    conn.reconnectAttempt = 0;
    this.deps.forget(conn, false);
    this.deps.storage.set(StorageKeys.token, session.token);
    store.update({ user: session.user, connections: store.state.connections + 1, nameError: null });
    if (conn === this.conn) {
      this.problem = null;
      store.update({ pod: session.pod, limits: limitsOf(session) });
      this.enter("connected");
    }
    const epoch = conn.epoch;
    void this.deps.joinAll(conn).then(() => {
      // Make-before-break: the standby has its session and every room; now it can take over.
      if (conn === this.standby && conn.epoch === epoch) this.switchToStandby();
    });
  }

  private onDisconnect(conn: Conn, reason: string): void {
    conn.session = null;
    conn.epoch++;
    this.deps.forget(conn, false);
    if (conn === this.conn) {
      if (this.standby) {
        // The old connection went before the handover finished: go on with the new one.
        this.switchToStandby();
        return;
      }
      this.deps.leaving(true);
      this.enter("reconnecting");
    }
    // Socket.IO does not reconnect by itself after the server closed the socket.
    if (reason === "io server disconnect") this.scheduleReconnect(conn);
  }

  private onConnectError(conn: Conn, err: ConnectError): void {
    const refusal = refusalOf(err.data);
    const { store, storage } = this.deps;
    if (refusal?.code === ErrorCode.Unauthorized) {
      // The server no longer accepts our token (expired, other deployment): start a new identity.
      storage.remove(StorageKeys.token);
      this.scheduleReconnect(conn, 0);
      return;
    }
    if (refusal?.code === ErrorCode.NameTaken || refusal?.code === ErrorCode.InvalidPayload) {
      const kept = this.conn?.session;
      if (conn === this.standby && kept) {
        // A rename was refused: stay on the current connection under the old name.
        this.abandonStandby();
        storage.set(StorageKeys.name, kept.user.name);
        store.update({ name: kept.user.name, nameError: describeError(refusal) });
        return;
      }
      // Retrying cannot help: the user has to pick another name.
      for (const c of this.all) this.close(c);
      this.conn = null;
      this.standby = null;
      store.update({ nameError: describeError(refusal) });
      this.enter("halted");
      return;
    }
    if (conn === this.conn) {
      this.problem = refusal ? describeError(refusal) : "Cannot reach the server; retrying.";
      this.refreshDetail();
    }
    // A refusal by the server's middleware stops Socket.IO's own retries; transport errors do not.
    if (!conn.socket.active) this.scheduleReconnect(conn);
  }

  private scheduleReconnect(conn: Conn, delay = backoff(this.deps.timing, conn.reconnectAttempt++)): void {
    if (conn.reconnectTimer || conn.closed) return;
    conn.reconnectTimer = setTimeout(() => {
      conn.reconnectTimer = null;
      if (!conn.closed && !conn.socket.connected) conn.socket.connect();
    }, delay);
  }

  // ---- Handover (make-before-break) ----

  private onDraining(conn: Conn, draining: Draining): void {
    this.deps.draining(draining);
    if (conn === this.standby) {
      // The new connection landed on a pod that is draining too: try again.
      this.close(conn);
      this.standby = this.open();
      return;
    }
    if (!this.standby) this.beginHandover(draining.deadline);
  }

  private beginHandover(deadline: number): void {
    this.standby = this.open();
    this.enter("handing-over");
    // If the new connection is not ready by the deadline, it becomes the connection anyway and
    // carries on like any reconnect; the old one is about to be closed by the server.
    const wait = Math.max(0, deadline - Date.now() - this.deps.timing.handoverMarginMs);
    this.handoverTimer = setTimeout(() => this.switchToStandby(), wait);
  }

  private abandonStandby(): void {
    if (this.standby) this.close(this.standby);
    this.standby = null;
    if (this.handoverTimer) clearTimeout(this.handoverTimer);
    this.handoverTimer = null;
    this.enter(this.socketState());
    this.deps.flush();
  }

  private switchToStandby(): void {
    const next = this.standby;
    if (!next) return;
    if (this.handoverTimer) clearTimeout(this.handoverTimer);
    this.handoverTimer = null;
    const old = this.conn;
    this.standby = null;
    this.conn = next;
    this.deps.store.update({ pod: next.session?.pod ?? null, limits: limitsOf(next.session) });
    this.enter(next.session ? "connected" : "reconnecting");
    // Queued messages go out through the new socket before the old one closes.
    this.deps.flush();
    if (old) {
      this.deps.leaving(false);
      this.close(old);
    }
  }

  // ---- State ----

  /** The state the sockets are in, for when the network comes back (or start). */
  private socketState(): ConnectionState {
    if (this.machine.state === "halted") return "halted";
    if (!this.conn) return "idle";
    if (this.conn.session) return this.standby ? "handing-over" : "connected";
    return this.deps.store.state.connections > 0 ? "reconnecting" : "connecting";
  }

  private online(): boolean {
    return this.deps.network?.isOnline() ?? true;
  }

  /** Move the machine; without a network any active state shows as offline. */
  private enter(next: ConnectionState): void {
    const target = next !== "idle" && next !== "halted" && !this.online() ? "offline" : next;
    if (!this.machine.to(target)) this.refreshDetail();
  }

  /** Every transition: derive what the UI shows and account for time without a usable connection. */
  private changed(from: ConnectionState, to: ConnectionState): void {
    const { store } = this.deps;
    const status = statusOf(to);
    const now = Date.now();
    let { disconnectedMs, disconnectedSince } = store.state;
    if (status === "connected" && disconnectedSince !== null) {
      disconnectedMs += now - disconnectedSince;
      disconnectedSince = null;
    } else if (status !== "connected" && disconnectedSince === null && store.state.connections > 0) {
      disconnectedSince = now;
    }
    store.update({
      connection: to,
      status,
      handingOver: to === "handing-over",
      disconnectedMs,
      disconnectedSince,
      statusDetail: this.detail(status),
    });
    this.deps.transition(from, to);
  }

  private detail(status: ReturnType<typeof statusOf>): string | null {
    if (status === "connected") return null;
    return this.online() ? this.problem : "No network.";
  }

  private refreshDetail(): void {
    const statusDetail = this.detail(this.deps.store.state.status);
    if (statusDetail !== this.deps.store.state.statusDetail) this.deps.store.update({ statusDetail });
  }
}
