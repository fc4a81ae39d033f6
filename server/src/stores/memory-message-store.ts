import type { ChatMessage } from "@chat/protocol";
import type { AppendInput, AppendResult, HistoryResult, MessageStore, StoreLimits } from "./types.js";

interface RoomLog {
  seq: number;
  /** Like the Redis keys' TTL: the room is gone once this passes without a new message. */
  expiresAt: number;
  /** The newest `historyLimit` messages, oldest first. */
  messages: ChatMessage[];
}

/** Single-process twin of the Redis message store, with the same semantics. */
export class MemoryMessageStore implements MessageStore {
  private readonly rooms = new Map<string, RoomLog>();
  /** Only seq and ts per clientId: the record outlives history by design (IDEMPOTENCY_TTL_MS). */
  private readonly clientIds = new Map<string, { seq: number; ts: number; expiresAt: number }>();
  private appendsSinceSweep = 0;

  constructor(
    private readonly limits: Pick<StoreLimits, "historyLimit" | "historyPage" | "idempotencyTtlMs" | "roomIdleTtlMs">,
    private readonly now: () => number = Date.now,
  ) {}

  async append({ room, author, text, clientId }: AppendInput): Promise<AppendResult> {
    const key = `${room}\u0000${author.id}\u0000${clientId}`;
    const now = this.now();
    const log = this.live(room, now) ?? { seq: 0, expiresAt: 0, messages: [] };
    this.rooms.set(room, log);
    const seen = this.clientIds.get(key);
    if (seen && seen.expiresAt > now) {
      const oldest = log.messages[0]?.seq ?? seen.seq + 1;
      const kept = log.messages[seen.seq - oldest];
      // Trimmed from history since: rebuild it from its seq and ts and the retry itself.
      const message = kept ?? { id: `${room}:${seen.seq}`, seq: seen.seq, room, author, text, clientId, ts: seen.ts };
      return { message, duplicate: true };
    }

    const seq = log.seq + 1;
    log.seq = seq;
    log.expiresAt = now + this.limits.roomIdleTtlMs;
    const message: ChatMessage = { id: `${room}:${seq}`, seq, room, author, text, clientId, ts: now };
    log.messages.push(message);
    if (log.messages.length > this.limits.historyLimit) log.messages.shift();
    // Never longer than the room itself lives (as in Redis).
    const ttl = Math.min(this.limits.idempotencyTtlMs, this.limits.roomIdleTtlMs);
    this.clientIds.set(key, { seq, ts: now, expiresAt: now + ttl });
    if (++this.appendsSinceSweep >= 1000) this.sweep(now);
    return { message, duplicate: false };
  }

  async history(room: string, since?: number): Promise<HistoryResult> {
    const log = this.live(room, this.now());
    const cursor = log?.seq ?? 0;
    const messages = log?.messages ?? [];
    const latestPage = () => messages.slice(-this.limits.historyPage);
    if (since === undefined) return { messages: latestPage(), cursor, trimmed: false };
    if (since === cursor) return { messages: [], cursor, trimmed: false };
    const oldest = messages[0]?.seq ?? cursor + 1;
    // A cursor from the future means the store lost its history: the client must reset too.
    if (since > cursor || oldest > since + 1) return { messages: latestPage(), cursor, trimmed: true };
    return { messages: messages.slice(since + 1 - oldest), cursor, trimmed: false };
  }

  /** The room's log, unless it has been idle for roomIdleTtlMs (then it is forgotten). */
  private live(room: string, now: number): RoomLog | undefined {
    const log = this.rooms.get(room);
    if (log && log.expiresAt <= now) {
      this.rooms.delete(room);
      return undefined;
    }
    return log;
  }

  private sweep(now: number) {
    this.appendsSinceSweep = 0;
    for (const [key, entry] of this.clientIds) if (entry.expiresAt <= now) this.clientIds.delete(key);
    for (const [room, log] of this.rooms) if (log.expiresAt <= now) this.rooms.delete(room);
  }
}
