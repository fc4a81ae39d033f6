import { type ChatMessage, ErrorCode, type Response } from "@chat/protocol";
import type { Conn } from "./conn.js";
import { describeError } from "./errors.js";
import type { OutboxEntry, OutboxStore } from "./outbox.js";
import type { Store } from "./store.js";
import { backoff, type Timer, type Timing } from "./timing.js";

export interface OutboxSenderDeps {
  store: Store;
  outbox: OutboxStore;
  timing: Timing;
  /** Where to send now: null while no connection is usable. */
  target(): Conn | null;
  isJoined(conn: Conn, room: string): boolean;
  /** An acknowledged message: it goes into the room like any received one. */
  ingest(room: string, messages: readonly ChatMessage[]): void;
  /** The server says we are not in the room (any more). */
  rejoin(conn: Conn, room: string): void;
  /** A queued message reached the room's history (by its ack, a broadcast or a join answer). */
  delivered(message: ChatMessage): void;
}

/**
 * Sends the outbox: per room the oldest pending message, one at a time (that keeps the user's
 * order), retried with the same clientId (the server stores it once) until it shows up in the
 * room's history. Failed messages wait for the user.
 */
export class OutboxSender {
  /** Rooms with a send in flight. */
  private readonly sendingRooms = new Set<string>();
  private readonly attempts = new Map<string, number>();
  /** clientId -> epoch ms before which it must not be re-sent. */
  private readonly retryAt = new Map<string, number>();
  private flushTimer: Timer | null = null;

  constructor(private readonly deps: OutboxSenderDeps) {}

  private get entries(): readonly OutboxEntry[] {
    return this.deps.store.state.outbox;
  }

  enqueue(entry: OutboxEntry): void {
    this.deps.outbox.save(entry);
    this.deps.store.update({ outbox: [...this.entries, entry] });
    this.flush();
  }

  /** Put a failed message back in the queue. */
  retry(clientId: string): void {
    const entry = this.entries.find((e) => e.clientId === clientId);
    if (entry?.status !== "failed") return;
    this.attempts.delete(clientId);
    this.retryAt.delete(clientId);
    this.setEntry(clientId, { status: "pending", error: null });
    this.flush();
  }

  discard(clientId: string): void {
    this.forget(clientId);
    this.deps.store.update({ outbox: this.entries.filter((e) => e.clientId !== clientId) });
  }

  /** The room was left: what is queued for it goes. */
  dropRoom(room: string): void {
    for (const e of this.entries) if (e.room === room) this.forget(e.clientId);
    this.deps.store.update({ outbox: this.entries.filter((e) => e.room !== room) });
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  /** Send what can be sent: the oldest pending message of each joined room with no send in flight. */
  flush(): void {
    this.dispose();
    const conn = this.deps.target();
    if (!conn?.session) return;
    const now = Date.now();
    let wake = Number.POSITIVE_INFINITY;
    const seen = new Set<string>();
    for (const entry of this.entries) {
      if (entry.status !== "pending" || seen.has(entry.room)) continue;
      seen.add(entry.room);
      if (!this.deps.isJoined(conn, entry.room) || this.sendingRooms.has(entry.room)) continue;
      const at = this.retryAt.get(entry.clientId) ?? 0;
      if (at > now) wake = Math.min(wake, at);
      else this.send(conn, entry);
    }
    if (wake !== Number.POSITIVE_INFINITY) this.flushTimer = setTimeout(() => this.flush(), wake - now);
  }

  /** Our queued messages that appear in the room's history were delivered: drop them from the queue. */
  settle(room: string, messages: readonly ChatMessage[]): void {
    if (this.entries.length === 0) return;
    const byId = new Map(messages.map((m) => [m.clientId, m]));
    const delivered = this.entries.filter((e) => e.room === room && byId.has(e.clientId));
    if (delivered.length === 0) return;
    for (const e of delivered) this.forget(e.clientId);
    this.deps.store.update({ outbox: this.entries.filter((e) => !delivered.includes(e)) });
    for (const e of delivered) this.deps.delivered(byId.get(e.clientId) as ChatMessage);
  }

  private send(conn: Conn, entry: OutboxEntry): void {
    const { clientId, room, text } = entry;
    const attempt = (this.attempts.get(clientId) ?? 0) + 1;
    this.attempts.set(clientId, attempt);
    this.sendingRooms.add(room);
    conn.socket
      .request("message:send", { room, text, clientId }, this.deps.timing.ackTimeoutMs)
      .then(
        (res) => this.onAck(conn, entry, attempt, res),
        () => {
          // No answer. If the socket is still up it was a timeout: back off. If it dropped, the
          // message simply waits for the next connection.
          if (conn.socket.connected && this.isQueued(clientId)) {
            this.retryAt.set(clientId, Date.now() + backoff(this.deps.timing, attempt - 1));
            this.setEntry(clientId, { error: "No answer from the server; retrying." });
          }
        },
      )
      .finally(() => {
        this.sendingRooms.delete(room);
        this.flush();
      });
  }

  private onAck(conn: Conn, entry: OutboxEntry, attempt: number, res: Response<ChatMessage>): void {
    const { clientId } = entry;
    if (!this.isQueued(clientId)) return; // Delivered meanwhile (its broadcast came first) or discarded.
    if (res.ok) {
      this.deps.ingest(res.data.room, [res.data]);
      return;
    }
    const { error } = res;
    switch (error.code) {
      case ErrorCode.RateLimited:
        this.retryAt.set(clientId, Date.now() + (error.retryAfterMs ?? backoff(this.deps.timing, attempt - 1)));
        this.setEntry(clientId, { error: describeError(error) });
        return;
      case ErrorCode.Unavailable:
      case ErrorCode.ServerFull:
      case ErrorCode.Draining:
        this.retryAt.set(clientId, Date.now() + backoff(this.deps.timing, attempt - 1));
        this.setEntry(clientId, { error: describeError(error) });
        return;
      case ErrorCode.NotInRoom:
        if (conn.session) this.deps.rejoin(conn, entry.room);
        return;
      default:
        // invalid_payload and anything unexpected: retrying the same request cannot help.
        this.setEntry(clientId, { status: "failed", error: describeError(error) });
    }
  }

  private isQueued(clientId: string): boolean {
    return this.entries.some((e) => e.clientId === clientId);
  }

  private setEntry(clientId: string, patch: Partial<Pick<OutboxEntry, "status" | "error">>): void {
    const outbox = this.entries.map((e) => (e.clientId === clientId ? { ...e, ...patch } : e));
    const entry = outbox.find((e) => e.clientId === clientId);
    if (entry) this.deps.outbox.save(entry);
    this.deps.store.update({ outbox });
  }

  private forget(clientId: string): void {
    this.deps.outbox.remove(clientId);
    this.retryAt.delete(clientId);
    this.attempts.delete(clientId);
  }
}
