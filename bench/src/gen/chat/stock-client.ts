import type { ChatMessage } from "@chat/protocol";
import { io, type Socket } from "socket.io-client";

/**
 * A chat user of the stock Socket.IO server, written the way a plain socket.io-client app is.
 * The stock server speaks plain Socket.IO, not our protocol (no session token, no seqs, no
 * `since`, no `server:draining`), so the shipped client core cannot talk to it; this is the
 * like-for-like "what you get without it": socket.io-client's own reconnection (its default
 * backoff), emits buffered while disconnected, a re-join on every connect, no retry, no dedupe.
 */
export class StockClient {
  private readonly socket: Socket;
  /** Every `message` broadcast this app showed, duplicates included. */
  readonly received: ChatMessage[] = [];
  readonly sent: string[] = [];
  readonly errors: string[] = [];
  reconnects = 0;
  private downSince: number | undefined;
  private downMs = 0;
  private nextId = 0;
  /** Called for every broadcast, after it is recorded. */
  onMessage: ((m: ChatMessage) => void) | undefined;

  constructor(private readonly opts: { name: string; room: string; pickUrl: () => string }) {
    this.socket = io(opts.pickUrl(), {
      transports: ["websocket"],
      forceNew: true,
      autoConnect: false,
      auth: { name: opts.name },
    });
    this.socket.on("message", (m: ChatMessage) => {
      this.received.push(m);
      this.onMessage?.(m);
    });
    this.socket.on("disconnect", () => {
      this.downSince ??= Date.now();
    });
    this.socket.on("connect_error", (err) => {
      if (this.errors.length < 5) this.errors.push(`connect: ${err.message}`);
    });
    // A real app reconnects to one hostname that a Service load-balances; here the Service's
    // endpoints are the pods that are up now, so each attempt asks for one (the Manager keeps
    // the URL it was built with otherwise).
    this.socket.io.on("reconnect_attempt", () => {
      (this.socket.io as unknown as { uri: string }).uri = opts.pickUrl();
    });
    this.socket.io.on("reconnect", () => this.reconnects++);
  }

  /** Connect and join; resolves once the room is joined. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.on("connect", () => {
        if (this.downSince !== undefined) this.downMs += Date.now() - this.downSince;
        this.downSince = undefined;
        this.socket.emit("room:join", { room: this.opts.room }, () => resolve());
      });
      this.socket.once("connect_error", reject);
      this.socket.connect();
    });
  }

  send(text: string): void {
    const clientId = `${this.opts.name}-${this.nextId++}`;
    this.sent.push(clientId);
    this.socket.emit("message:send", { room: this.opts.room, text, clientId });
  }

  get name(): string {
    return this.opts.name;
  }

  get disconnectedMs(): number {
    return this.downMs + (this.downSince === undefined ? 0 : Date.now() - this.downSince);
  }

  close(): void {
    this.socket.disconnect();
  }
}
