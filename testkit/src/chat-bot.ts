import {
  ChatClient,
  type ChatState,
  MemoryStorage,
  socketIoFactory,
  type Timing,
  totalDisconnectedMs,
} from "@chat/client-core";
import type { ChatMessage, User } from "@chat/protocol";

export interface BotOptions {
  /** Where a new connection goes: a fixed ingress URL, or a pick among pods (a test's "load balancer"). */
  url: () => string;
  name: string;
  rooms: string[];
  /** Default: WebSocket only. ["polling"] for a client that can only long-poll. */
  transports?: ("websocket" | "polling")[];
  ackTimeoutMs?: number;
  timing?: Partial<Timing>;
}

let ids = 0;

/**
 * A test and load user: the shipped client core (@chat/client-core, in-memory storage, a Node
 * socket.io-client factory) plus a recorder of what it saw: deliveries per room by seq, acks,
 * drain notices, state transitions and time without a usable connection. It has no send,
 * resume or handover logic of its own, so every run that uses it proves the real client.
 */
export class ChatBot {
  readonly client: ChatClient;
  readonly rooms: readonly string[];
  /** Per room, every message delivered (join answers, broadcasts, acks), by seq. */
  readonly known = new Map<string, Map<number, ChatMessage>>();
  /** Broadcasts received per message id: above 1 means the same broadcast arrived twice. */
  readonly deliveries = new Map<string, number>();
  /** Our messages as stored by the server, in the order their delivery was confirmed. */
  readonly acked: ChatMessage[] = [];
  readonly drainNotices: number[] = [];
  readonly errors: string[] = [];
  /** What happened to this client's connection, for diagnosing a failed run. */
  readonly events: { at: number; what: string }[] = [];
  private readonly waiting = new Map<string, (m: ChatMessage) => void>();

  constructor(private readonly opts: BotOptions) {
    this.rooms = [...opts.rooms];
    for (const room of opts.rooms) this.known.set(room, new Map());
    this.client = new ChatClient({
      createSocket: socketIoFactory({ url: opts.url, transports: opts.transports ?? ["websocket"] }),
      storage: new MemoryStorage(),
      timing: { ackTimeoutMs: opts.ackTimeoutMs ?? 5000, ...opts.timing },
      newClientId: () => `bot-${process.pid}-${++ids}-${Date.now().toString(36)}`,
    });
    const c = this.client;
    c.on("received", (room, messages) => {
      const known = this.known.get(room);
      if (known) for (const m of messages) known.set(m.seq, m);
    });
    c.on("broadcast", (m) => this.deliveries.set(m.id, (this.deliveries.get(m.id) ?? 0) + 1));
    c.on("delivered", (m) => {
      this.acked.push(m);
      this.waiting.get(m.clientId)?.(m);
      this.waiting.delete(m.clientId);
    });
    c.on("draining", () => {
      this.drainNotices.push(Date.now());
      this.note(`draining notice on ${this.state.pod}`);
    });
    c.on("state", (from, to) => {
      this.note(`${from} -> ${to} (${this.state.pod})`);
      if (to === "reconnecting") this.errors.push(`connection lost (${from} -> ${to})`);
    });
    let last = c.getState();
    c.subscribe(() => {
      const now = c.getState();
      if (now.statusDetail && now.statusDetail !== last.statusDetail) this.errors.push(`connect: ${now.statusDetail}`);
      if (now.error && now.error !== last.error) this.errors.push(now.error);
      last = now;
    });
    for (const room of opts.rooms) c.joinRoom(room);
  }

  private get state(): ChatState {
    return this.client.getState();
  }

  /** Connect and resolve once connected with every room joined (the core retries until then). */
  start(): Promise<void> {
    this.client.setName(this.opts.name);
    this.client.start();
    return new Promise((resolve) => {
      const check = () => {
        const s = this.state;
        if (s.status !== "connected" || !this.rooms.every((r) => s.rooms[r]?.loaded)) return;
        off();
        resolve();
      };
      const off = this.client.subscribe(check);
      check();
    });
  }

  /** Queue a message; resolves with the stored message once delivered (never rejects for the network). */
  send(room: string, text: string): Promise<ChatMessage> {
    const entry = this.client.enqueue(room, text);
    if ("code" in entry) return Promise.reject(new Error(entry.message));
    return new Promise((resolve) => this.waiting.set(entry.clientId, resolve));
  }

  /** Messages queued and not yet delivered. */
  get pending(): number {
    return this.state.outbox.length;
  }

  /** The room's resume cursor: everything up to it has been delivered. */
  cursor(room: string): number {
    return this.state.rooms[room]?.contiguous ?? 0;
  }

  /** Sessions established (first connect, reconnects and handovers). */
  get connections(): number {
    return this.state.connections;
  }

  get session(): { user: User; pod: string | null } | undefined {
    const { user, pod } = this.state;
    return user ? { user, pod } : undefined;
  }

  get connected(): boolean {
    return this.state.status === "connected";
  }

  /** Total time without a usable connection since the first one (a handover does not count). */
  get disconnectedMs(): number {
    return totalDisconnectedMs(this.state, Date.now());
  }

  close(): void {
    this.client.stop();
  }

  private note(what: string): void {
    this.events.push({ at: Date.now(), what });
  }
}
