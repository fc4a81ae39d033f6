import type { ChatMessage } from "@chat/protocol";
import { applyRevision } from "./revisions.js";
import type {
  AppendInput,
  AppendResult,
  HistoryPageResult,
  HistoryResult,
  MessageStore,
  ReviseInput,
  ReviseResult,
  StoreLimits,
} from "./types.js";

/** One seq of the room: a message, or a revision (edit/deletion) of the message `target`. */
type Entry = { seq: number; message: ChatMessage; target?: undefined } | { seq: number; target: number };

interface RoomLog {
  seq: number;
  /** Like the Redis keys' TTL: the room is gone once this passes without a new message. */
  expiresAt: number;
  /** The newest `historyLimit` entries, oldest first; a deleted message's entry is removed. */
  entries: Entry[];
  /** seq -> current state of revised messages (like the Redis hash `rev`). */
  revised: Map<number, ChatMessage>;
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
    const log = this.log(room, now);
    const seen = this.clientIds.get(key);
    if (seen && seen.expiresAt > now) {
      // Revised since: its current state. Trimmed from history since: rebuilt from its seq and ts and the retry itself.
      const message = log.revised.get(seen.seq) ??
        find(log, seen.seq)?.message ?? {
          id: `${room}:${seen.seq}`,
          seq: seen.seq,
          room,
          author,
          text,
          clientId,
          ts: seen.ts,
        };
      return { message, duplicate: true };
    }

    const seq = log.seq + 1;
    log.seq = seq;
    log.expiresAt = now + this.limits.roomIdleTtlMs;
    const message: ChatMessage = { id: `${room}:${seq}`, seq, room, author, text, clientId, ts: now };
    this.push(log, { seq, message });
    // Never longer than the room itself lives (as in Redis).
    const ttl = Math.min(this.limits.idempotencyTtlMs, this.limits.roomIdleTtlMs);
    this.clientIds.set(key, { seq, ts: now, expiresAt: now + ttl });
    if (++this.appendsSinceSweep >= 1000) this.sweep(now);
    return { message, duplicate: false };
  }

  async revise({ room, seq, userId, text }: ReviseInput): Promise<ReviseResult> {
    const log = this.log(room);
    const original = find(log, seq)?.message;
    const current = log.revised.get(seq) ?? original;
    if (!current || (!original && !(current.deleted && seq >= oldestKept(log, log.seq)))) {
      return { ok: false, reason: "not_found" };
    }
    if (current.author.id !== userId) return { ok: false, reason: "forbidden" };
    if (current.deleted)
      return text === null ? { ok: true, message: current, changed: false } : { ok: false, reason: "deleted" };
    if (text !== null && current.text === text) return { ok: true, message: current, changed: false };
    const rev = log.seq + 1;
    log.seq = rev;
    const next = applyRevision(current, rev, text, this.now());
    log.revised.set(seq, next);
    if (text === null) log.entries = log.entries.filter((e) => e.seq !== seq);
    this.push(log, { seq: rev, target: seq });
    return { ok: true, message: next, changed: true };
  }

  async history(room: string, since?: number): Promise<HistoryResult> {
    const log = this.live(room, this.now());
    const cursor = log?.seq ?? 0;
    // A cursor from the future (the room expired since) means the client must reset.
    if (!log) return { messages: [], cursor, trimmed: since !== undefined && since > cursor };
    const latestPage = () => this.before(log, cursor + 1, this.limits.historyPage).messages;
    if (since === undefined) return { messages: latestPage(), cursor, trimmed: false };
    if (since === cursor) return { messages: [], cursor, trimmed: false };
    // A cursor from the future means the store lost its history: the client must reset too.
    const low = oldestKept(log, cursor);
    if (since > cursor || low > since + 1) return { messages: latestPage(), cursor, trimmed: true };
    const out = new Map<number, ChatMessage>();
    for (const e of log.entries) {
      if (e.seq <= since) continue;
      if (e.target === undefined) out.set(e.seq, log.revised.get(e.seq) ?? e.message);
      else {
        const target = log.revised.get(e.target);
        if (target && e.target >= low && (e.target <= since || target.deleted)) out.set(e.target, target);
      }
    }
    return { messages: [...out.values()].sort((a, b) => a.seq - b.seq), cursor, trimmed: false };
  }

  async page(room: string, before: number, limit: number): Promise<HistoryPageResult> {
    const log = this.live(room, this.now());
    return log ? this.before(log, before, limit) : { messages: [], hasMore: false };
  }

  private before(log: RoomLog, before: number, limit: number): HistoryPageResult {
    const messages: ChatMessage[] = [];
    let hasMore = false;
    for (let i = log.entries.length - 1; i >= 0; i--) {
      const e = log.entries[i] as Entry;
      if (e.seq >= before || e.target !== undefined) continue;
      if (messages.length === limit) {
        hasMore = true;
        break;
      }
      messages.push(log.revised.get(e.seq) ?? e.message);
    }
    return { messages: messages.reverse(), hasMore };
  }

  private log(room: string, now = this.now()): RoomLog {
    let log = this.live(room, now);
    if (!log) {
      log = { seq: 0, expiresAt: now + this.limits.roomIdleTtlMs, entries: [], revised: new Map() };
      this.rooms.set(room, log);
    }
    return log;
  }

  private push(log: RoomLog, entry: Entry) {
    log.entries.push(entry);
    if (log.entries.length > this.limits.historyLimit) log.entries.shift();
    // Revisions of messages trimmed from history are of no use any more.
    const oldest = oldestKept(log, log.seq);
    for (const seq of log.revised.keys()) if (seq < oldest) log.revised.delete(seq);
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

function find(log: RoomLog, seq: number): Extract<Entry, { message: ChatMessage }> | undefined {
  const e = log.entries.find((x) => x.seq === seq);
  return e && e.target === undefined ? e : undefined;
}

/** The first entry's seq, extended down over deleted messages just before it (their tombstones are kept). */
function oldestKept(log: RoomLog, cursor: number): number {
  let oldest = log.entries[0]?.seq ?? cursor + 1;
  while (oldest > 1 && log.revised.get(oldest - 1)?.deleted) oldest--;
  return oldest;
}
