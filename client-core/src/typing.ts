import type { Typing as TypingEvent } from "@chat/protocol";
import type { Conn } from "./conn.js";
import type { Store } from "./store.js";
import type { Timer, Timing } from "./timing.js";

/** Typing indicators: ours (throttled, stopped when idle or sent) and other people's (expiring). */
export class Typing {
  private expiryTimer: Timer | null = null;
  private readonly outgoing = new Map<string, { lastSentAt: number; idle: Timer }>();

  constructor(
    private readonly store: Store,
    private readonly timing: Timing,
    /** The connection in use, when it is joined to `room`. */
    private readonly joinedConn: (room: string) => Conn | null,
  ) {}

  /** The composer's text changed: tell the room we are typing (throttled) or stopped (empty). */
  changed(room: string, text: string): void {
    if (text.trim() === "") {
      this.stop(room);
      return;
    }
    const conn = this.joinedConn(room);
    if (!conn) return;
    const now = Date.now();
    const current = this.outgoing.get(room);
    if (current) clearTimeout(current.idle);
    let lastSentAt = current?.lastSentAt ?? Number.NEGATIVE_INFINITY;
    if (now - lastSentAt >= this.timing.typingThrottleMs) {
      conn.socket.emit("typing", { room, typing: true });
      lastSentAt = now;
    }
    const idle = setTimeout(() => this.stop(room), this.timing.typingIdleMs);
    this.outgoing.set(room, { lastSentAt, idle });
  }

  stop(room: string): void {
    const current = this.outgoing.get(room);
    if (!current) return;
    clearTimeout(current.idle);
    this.outgoing.delete(room);
    this.joinedConn(room)?.socket.emit("typing", { room, typing: false });
  }

  /** The connection in use is going away: stop ours while it can still say so. */
  stopAll(): void {
    for (const room of [...this.outgoing.keys()]) this.stop(room);
  }

  /** The connection was lost: nobody's indicator can be trusted any more. */
  clear(): void {
    this.stopAll();
    for (const room of this.store.state.roomOrder) this.store.updateRoom(room, { typing: [] });
  }

  received({ room, user, typing }: TypingEvent): void {
    const current = this.store.state.rooms[room];
    if (!current || user.id === this.store.state.user?.id) return;
    const others = current.typing.filter((t) => t.user.id !== user.id);
    this.store.updateRoom(room, {
      typing: typing ? [...others, { user, expiresAt: Date.now() + this.timing.typingExpiryMs }] : others,
    });
    this.scheduleExpiry();
  }

  dispose(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    for (const t of this.outgoing.values()) clearTimeout(t.idle);
    this.outgoing.clear();
  }

  private scheduleExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    let next = Number.POSITIVE_INFINITY;
    for (const room of Object.values(this.store.state.rooms))
      for (const t of room.typing) next = Math.min(next, t.expiresAt);
    if (next === Number.POSITIVE_INFINITY) return;
    this.expiryTimer = setTimeout(
      () => {
        const now = Date.now();
        for (const room of Object.values(this.store.state.rooms)) {
          if (room.typing.some((t) => t.expiresAt <= now)) {
            this.store.updateRoom(room.name, { typing: room.typing.filter((t) => t.expiresAt > now) });
          }
        }
        this.scheduleExpiry();
      },
      Math.max(0, next - Date.now()),
    );
  }
}
