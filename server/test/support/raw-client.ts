import type {
  ChatMessage,
  ClientToServerEvents,
  JoinResult,
  Presence,
  Response,
  ServerToClientEvents,
  Session,
} from "@chat/protocol";
import { io, type Socket } from "socket.io-client";

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * A raw protocol socket for server tests: connect, emit, record what arrives. No outbox, resume
 * or handover (bots that chat through failures use testkit's ChatBot, i.e. the real client core).
 */
export class RawClient {
  readonly messages: ChatMessage[] = [];
  readonly presence: Presence[] = [];
  session!: Session;

  private constructor(readonly socket: ClientSocket) {
    socket.on("message", (m) => this.messages.push(m));
    socket.on("presence", (p) => this.presence.push(p));
  }

  static async connect(
    url: string,
    auth: { name?: string; token?: string } = {},
    opts: { transports?: ("websocket" | "polling")[]; headers?: Record<string, string> } = {},
  ): Promise<RawClient> {
    const socket: ClientSocket = io(url, {
      auth,
      transports: opts.transports ?? ["websocket"],
      forceNew: true,
      reconnection: false,
      timeout: 5000,
      extraHeaders: opts.headers,
    });
    const client = new RawClient(socket);
    client.session = await new Promise<Session>((resolve, reject) => {
      socket.once("session", resolve);
      socket.once("connect_error", reject);
    });
    return client;
  }

  join(room: string, since?: number): Promise<Response<JoinResult>> {
    return this.socket.timeout(5000).emitWithAck("room:join", since === undefined ? { room } : { room, since });
  }

  send(room: string, text: string, clientId = randomId()): Promise<Response<ChatMessage>> {
    return this.socket.timeout(5000).emitWithAck("message:send", { room, text, clientId });
  }

  /** Raw emit for malformed payloads. */
  emitRaw(event: string, ...args: unknown[]): Promise<unknown> {
    return (
      this.socket.timeout(5000) as unknown as { emitWithAck: (e: string, ...a: unknown[]) => Promise<unknown> }
    ).emitWithAck(event, ...args);
  }

  seqs(room: string): number[] {
    return this.messages.filter((m) => m.room === room).map((m) => m.seq);
  }

  close() {
    this.socket.disconnect();
  }
}

export const randomId = () => `c${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;

/** Resolve once `check` holds, re-checking after every received event (no sleeping). */
export function until(client: RawClient, what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    // onAny runs before the event's own listeners have recorded it: look once they have.
    const onEvent = () => queueMicrotask(test);
    const test = () => {
      if (!check()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      client.socket.offAny(onEvent);
    };
    client.socket.onAny(onEvent);
    test();
  });
}
