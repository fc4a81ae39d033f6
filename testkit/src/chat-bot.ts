import type {
  ChatMessage,
  ClientToServerEvents,
  JoinResult,
  Response,
  ServerToClientEvents,
  Session,
} from "@chat/protocol";
import { io, type Socket } from "socket.io-client";

type BotSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface BotOptions {
  /** Where a new connection goes: a fixed ingress URL, or a pick among pods (a test's "load balancer"). */
  url: () => string;
  name: string;
  rooms: string[];
  transports?: ("websocket" | "polling")[];
  /** Make-before-break on `server:draining` (default true). False: wait to be cut off, then reconnect. */
  handover?: boolean;
  ackTimeoutMs?: number;
}

interface Pending {
  room: string;
  text: string;
  clientId: string;
  resolve: (m: ChatMessage) => void;
}

let seq = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A protocol-level chat client for tests and load: an outbox that retries with the same
 * clientId until acknowledged, per-room contiguous cursors, hole filling, and make-before-break
 * handover. It records everything needed to prove "nothing lost, nothing duplicated".
 */
export class ChatBot {
  /** Per room, every message known, by seq (deduplicated). */
  readonly known = new Map<string, Map<number, ChatMessage>>();
  /** Broadcasts received per message id: a value above 1 is a duplicate delivery. */
  readonly deliveries = new Map<string, number>();
  readonly acked: ChatMessage[] = [];
  readonly drainNotices: number[] = [];
  readonly errors: string[] = [];
  /** What happened to this client's connections, for diagnosing a failed run. */
  readonly events: { at: number; what: string }[] = [];
  connections = 0;
  session: Session | undefined;
  private socket: BotSocket | undefined;
  private readonly outbox: Pending[] = [];
  private readonly contiguous = new Map<string, number>();
  private readonly filling = new Set<string>();
  private closed = false;
  /** Set while a connection that was usable is lost; the first connect does not count. */
  private downSince: number | undefined;
  private downMs = 0;
  private flushing = false;
  private inflight: Promise<unknown> | undefined;

  constructor(private readonly opts: BotOptions) {
    for (const room of opts.rooms) {
      this.known.set(room, new Map());
      this.contiguous.set(room, 0);
    }
  }

  /** Total time without a usable connection. */
  get disconnectedMs() {
    return this.downMs + (this.downSince === undefined ? 0 : Date.now() - this.downSince);
  }

  get connected() {
    return this.socket?.connected === true && this.downSince === undefined;
  }

  cursor(room: string) {
    return this.contiguous.get(room) ?? 0;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  /** Queue a message; resolves with the stored message once acknowledged (never rejects). */
  send(room: string, text: string): Promise<ChatMessage> {
    return new Promise((resolve) => {
      this.outbox.push({ room, text, clientId: `bot-${process.pid}-${++seq}-${Date.now().toString(36)}`, resolve });
      void this.flush();
    });
  }

  get pending() {
    return this.outbox.length;
  }

  close() {
    this.closed = true;
    this.socket?.disconnect();
  }

  /** Open a connection; on success it becomes the active one and the previous one is closed. */
  private async connect(): Promise<void> {
    let backoff = 50;
    while (!this.closed) {
      try {
        const next = await this.open();
        const previous = this.socket;
        this.note(`connected to ${this.session?.pod}`);
        this.socket = next;
        this.connections++;
        if (this.downSince !== undefined) {
          this.downMs += Date.now() - this.downSince;
          this.downSince = undefined;
        }
        // Break after make: let a send already on the old connection get its ack first.
        if (previous && this.inflight) await Promise.race([this.inflight.catch(() => {}), sleep(1000)]);
        previous?.disconnect();
        void this.flush();
        return;
      } catch (err) {
        this.errors.push(`connect: ${(err as Error).message}`);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  }

  /** Connect, get the session, and re-join every room from its cursor before reporting ready. */
  private open(): Promise<BotSocket> {
    return new Promise((resolve, reject) => {
      const socket: BotSocket = io(this.opts.url(), {
        auth: this.session ? { token: this.session.token } : { name: this.opts.name },
        transports: this.opts.transports ?? ["websocket"],
        forceNew: true,
        reconnection: false,
        withCredentials: true,
        timeout: 5000,
      });
      const fail = (err: Error) => {
        socket.disconnect();
        reject(err);
      };
      socket.once("connect_error", fail);
      socket.once("session", async (session) => {
        this.session = session;
        try {
          for (const room of this.opts.rooms) await this.join(socket, room);
          socket.off("connect_error", fail);
          resolve(socket);
        } catch (err) {
          fail(err as Error);
        }
      });
      socket.on("message", (m) => {
        this.deliveries.set(m.id, (this.deliveries.get(m.id) ?? 0) + 1);
        this.learn(m);
      });
      socket.on("server:draining", ({ deadline }) => {
        this.drainNotices.push(Date.now());
        this.note(`draining notice (current: ${socket === this.socket})`);
        if (socket === this.socket && this.opts.handover !== false && Date.now() < deadline) void this.connect();
      });
      socket.on("disconnect", (reason) => {
        this.note(`disconnect: ${reason} (current: ${socket === this.socket})`);
        if (socket !== this.socket || this.closed) return;
        this.errors.push(`disconnected: ${reason}`);
        this.downSince ??= Date.now();
        void this.connect();
      });
    });
  }

  private async join(socket: BotSocket, room: string): Promise<void> {
    const res: Response<JoinResult> = await socket
      .timeout(this.opts.ackTimeoutMs ?? 5000)
      .emitWithAck("room:join", { room, since: this.cursor(room) });
    if (!res.ok) throw new Error(`join ${room}: ${res.error.code}`);
    if (res.data.trimmed) {
      this.known.set(room, new Map());
      this.contiguous.set(room, (res.data.messages[0]?.seq ?? res.data.cursor + 1) - 1);
    }
    for (const m of res.data.messages) this.learn(m);
  }

  private note(what: string) {
    this.events.push({ at: Date.now(), what });
  }

  private learn(m: ChatMessage) {
    const known = this.known.get(m.room);
    if (!known) return;
    known.set(m.seq, m);
    let c = this.cursor(m.room);
    while (known.has(c + 1)) c++;
    this.contiguous.set(m.room, c);
    // A hole: something was broadcast that we missed; fetch from the cursor (one fill at a time).
    if (m.seq > c + 1 && !this.filling.has(m.room) && this.socket?.connected) {
      const socket = this.socket;
      this.filling.add(m.room);
      this.join(socket, m.room)
        .catch((err: Error) => this.errors.push(`fill: ${err.message}`))
        .finally(() => this.filling.delete(m.room));
    }
  }

  private async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.outbox.length > 0 && !this.closed) {
        const socket = this.socket;
        if (!socket?.connected) return;
        const item = this.outbox[0] as Pending;
        let res: Response<ChatMessage> | undefined;
        try {
          this.inflight = socket
            .timeout(this.opts.ackTimeoutMs ?? 5000)
            .emitWithAck("message:send", { room: item.room, text: item.text, clientId: item.clientId });
          res = (await this.inflight) as Response<ChatMessage>;
        } catch {
          // No ack (connection lost or slow): retry with the same clientId, the server dedupes.
        }
        if (res?.ok) {
          this.outbox.shift();
          this.acked.push(res.data);
          this.learn(res.data);
          item.resolve(res.data);
        } else {
          if (res) this.errors.push(`send: ${res.error.code}`);
          await sleep(res?.error.retryAfterMs ?? 100);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
