import type {
  ChatMessage,
  ClientToServerEvents,
  HistoryPage,
  JoinResult,
  Presence,
  PresenceCount,
  PresenceDelta,
  PresenceSnapshot,
  Response,
  RoomSummary,
  ServerToClientEvents,
  Session,
  Typing,
} from "@chat/protocol";
import { io, type Socket } from "socket.io-client";
import { PresenceView } from "./presence-view.js";

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * A raw protocol socket for server tests: connect, emit, record what arrives. No outbox, resume
 * or handover (bots that chat through failures use testkit's ChatBot, i.e. the real client core).
 */
export class RawClient {
  readonly messages: ChatMessage[] = [];
  readonly presence: Presence[] = [];
  /** `message:revised` events: edits and deletions. */
  readonly revised: ChatMessage[] = [];
  readonly deltas: PresenceDelta[] = [];
  /** Protocol 3: `presence:count` events (a large room's size instead of its deltas). */
  readonly counts: PresenceCount[] = [];
  readonly typing: Typing[] = [];
  /** Protocol 2: each joined room's presence, kept from deltas; `room:presence` fetches after a gap. */
  readonly views = new Map<string, PresenceView>();
  fetches = 0;
  session!: Session;

  private constructor(readonly socket: ClientSocket) {
    socket.on("message", (m) => this.messages.push(m));
    socket.on("presence", (p) => this.presence.push(p));
    socket.on("message:revised", (m) => this.revised.push(m));
    socket.on("typing", (t) => this.typing.push(t));
    socket.on("presence:count", (c) => this.counts.push(c));
    socket.on("presence:delta", (d) => {
      this.deltas.push(d);
      const view = this.views.get(d.room);
      if (view?.apply(d)) setTimeout(() => void this.fillGap(d.room), PRESENCE_GAP_MS);
    });
  }

  /** A version still missing after PRESENCE_GAP_MS was lost (its pod died): fetch the list once. */
  private async fillGap(room: string) {
    const view = this.views.get(room);
    if (!view?.gap() || this.socket.disconnected) return;
    this.fetches++;
    const res = await this.presenceOf(room);
    if (res.ok) view.reset(res.data);
    for (const resolve of this.fetchWaiters.splice(0)) resolve();
  }

  private readonly fetchWaiters: (() => void)[] = [];

  /** Resolves once the next gap-filling fetch has been applied. */
  nextFetch(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no presence fetch")), timeoutMs);
      this.fetchWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  presenceOf(room: string, cursor?: string): Promise<Response<PresenceSnapshot>> {
    return this.socket.timeout(5000).emitWithAck("room:presence", cursor === undefined ? { room } : { room, cursor });
  }

  /** Protocol 3: the room's size as the `presence:count` of highest version says, if any came. */
  latestCount(room: string): PresenceCount | undefined {
    let best: PresenceCount | undefined;
    for (const c of this.counts) if (c.room === room && (!best || c.version > best.version)) best = c;
    return best;
  }

  /** Protocol 3: every user a page walk from `cursor` shows (deduped by id), and how many pages it took. */
  async walk(room: string, cursor: string | null, maxPages = 100): Promise<{ names: string[]; pages: number }> {
    const seen = new Map<string, string>();
    let pages = 0;
    while (cursor !== null && pages < maxPages) {
      const res = await this.presenceOf(room, cursor);
      if (!res.ok) throw new Error(`room:presence failed: ${res.error.code}`);
      for (const u of res.data.users) seen.set(u.id, u.name);
      cursor = res.data.next ?? null;
      pages++;
    }
    if (cursor !== null) throw new Error(`page walk of ${room} did not end within ${maxPages} pages`);
    return { names: [...seen.values()].sort(), pages };
  }

  static async connect(
    url: string,
    auth: { name?: string; token?: string; protocol?: number } = {},
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

  async join(room: string, since?: number): Promise<Response<JoinResult>> {
    const res = await this.socket
      .timeout(5000)
      .emitWithAck("room:join", since === undefined ? { room } : { room, since });
    if (res.ok) {
      const view = this.views.get(room) ?? new PresenceView();
      this.views.set(room, view);
      view.reset({ version: res.data.presenceVersion, users: res.data.presence });
    }
    return res;
  }

  leave(room: string): Promise<Response<{ room: string }>> {
    return this.socket.timeout(5000).emitWithAck("room:leave", { room });
  }

  send(room: string, text: string, clientId = randomId()): Promise<Response<ChatMessage>> {
    return this.socket.timeout(5000).emitWithAck("message:send", { room, text, clientId });
  }

  history(room: string, before: number, limit?: number): Promise<Response<HistoryPage>> {
    return this.socket
      .timeout(5000)
      .emitWithAck("room:history", limit === undefined ? { room, before } : { room, before, limit });
  }

  edit(room: string, id: string, text: string): Promise<Response<ChatMessage>> {
    return this.socket.timeout(5000).emitWithAck("message:edit", { room, id, text });
  }

  delete(room: string, id: string): Promise<Response<ChatMessage>> {
    return this.socket.timeout(5000).emitWithAck("message:delete", { room, id });
  }

  listRooms(): Promise<Response<{ rooms: RoomSummary[] }>> {
    return this.socket.timeout(5000).emitWithAck("rooms:list", {});
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

/** How long a protocol-2 client waits for a skipped presence version before fetching the list. */
export const PRESENCE_GAP_MS = 1000;

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
