import {
  type ChatMessage,
  type ErrorBody,
  ErrorCode,
  type JoinResult,
  type PresenceCount,
  type PresenceDelta,
  type Response,
  type User,
} from "@chat/protocol";
import type { Conn } from "./conn.js";
import { describeError } from "./errors.js";
import { advanceContiguous, hasGap, hasSeq, insertMessages, lowerBound, mergeMessages } from "./history.js";
import { type PresenceView, RoomPresence } from "./presence.js";
import { emptyRoom, type RoomState } from "./state.js";
import type { Store } from "./store.js";
import { backoff, type Timer, type Timing } from "./timing.js";

const TRIMMED_NOTICE =
  "Some messages sent while you were away are no longer in the history. Showing the latest messages.";
const RESET_NOTICE = "This room's history was reset on the server. Showing what it has now.";

export interface RoomSyncDeps {
  store: Store;
  timing: Timing;
  /** The connection in use: hole fills go there. */
  current(): Conn | null;
  /** A join answered on `conn`: queued messages for the room may go out. */
  joined(conn: Conn, room: string): void;
  /** Messages accepted from a join answer, a broadcast or an ack (before dedupe). */
  received(room: string, messages: readonly ChatMessage[]): void;
}

/**
 * One room's sync with the server, like a centrifuge-js Subscription: join (with `since` once
 * loaded), retries after refusals, hole filling after out-of-order broadcasts, and the
 * trimmed / reset answers. Per connection, because a handover joins on two sockets at once.
 */
export class RoomSync {
  private readonly joinedOn = new Set<Conn>();
  /** Joins in flight: at most one per connection, gap fills included. */
  private readonly joins = new Map<Conn, Promise<void>>();
  private readonly retries = new Map<Conn, Timer>();
  private gapTimer: Timer | null = null;
  /** Consecutive gap fills that brought nothing new: slows down a fill loop. */
  private fruitless = 0;
  /**
   * Revision seqs received above the cursor. A revision (edit, deletion) takes a seq of the
   * room like a message does, so the cursor moves over it once it has arrived.
   */
  private readonly revisions = new Set<number>();
  private readonly members: RoomPresence;

  constructor(
    readonly name: string,
    private readonly deps: RoomSyncDeps,
  ) {
    this.members = new RoomPresence({
      graceMs: deps.timing.presenceGraceMs,
      changed: (view) => this.setPresence(view),
      fetch: async (cursor) => {
        const conn = deps.current();
        if (!conn?.session || !this.joinedOn.has(conn)) return null;
        try {
          const payload = cursor === undefined ? { room: name } : { room: name, cursor };
          const res = await conn.socket.request("room:presence", payload, deps.timing.ackTimeoutMs);
          return res.ok ? res.data : null;
        } catch {
          return null;
        }
      },
    });
  }

  private get room(): RoomState | undefined {
    return this.deps.store.state.rooms[this.name];
  }

  isJoined(conn: Conn): boolean {
    return this.joinedOn.has(conn);
  }

  /** A session began or ended on `conn`: what was joined there no longer holds. */
  reset(conn: Conn): void {
    this.joinedOn.delete(conn);
    this.joins.delete(conn);
  }

  /** `conn` is closed for good. */
  drop(conn: Conn): void {
    this.reset(conn);
    clearTimeout(this.retries.get(conn));
    this.retries.delete(conn);
  }

  /** The room was left: stop every timer. */
  dispose(): void {
    for (const conn of [...this.joinedOn, ...this.retries.keys()]) this.drop(conn);
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
    this.members.dispose();
  }

  /** Join on `conn`, or return the join already in flight there. */
  join(conn: Conn): Promise<void> {
    const inFlight = this.joins.get(conn);
    if (inFlight) return inFlight;
    const done = this.request(conn).finally(() => {
      if (this.joins.get(conn) === done) this.joins.delete(conn);
      this.checkGap();
    });
    this.joins.set(conn, done);
    return done;
  }

  /** The server says we are not in the room (any more): join again. */
  rejoinOn(conn: Conn): void {
    this.joinedOn.delete(conn);
    if (conn.session) void this.join(conn);
  }

  private async request(conn: Conn): Promise<void> {
    const before = this.room;
    if (!before) return;
    const epoch = conn.epoch;
    const since = before.loaded ? before.contiguous : undefined;
    const wasGapFill = before.loaded && this.hasGap(before);
    let res: Response<JoinResult>;
    try {
      const payload = since === undefined ? { room: this.name } : { room: this.name, since };
      res = await conn.socket.request("room:join", payload, this.deps.timing.ackTimeoutMs);
    } catch {
      // Timed out, or the connection dropped (then the next session re-joins anyway).
      if (conn.epoch === epoch) this.retry(conn, backoff(this.deps.timing, 0));
      return;
    }
    if (conn.epoch !== epoch || conn.closed || !this.room) return;
    if (!res.ok) {
      this.refused(conn, res.error);
      return;
    }
    this.apply(res.data, since);
    const progressed = (this.room?.contiguous ?? 0) > before.contiguous;
    this.fruitless = wasGapFill && !progressed ? this.fruitless + 1 : 0;
    this.joinedOn.add(conn);
    this.deps.joined(conn, this.name);
  }

  private refused(conn: Conn, error: ErrorBody): void {
    const { store, timing } = this.deps;
    switch (error.code) {
      case ErrorCode.RateLimited:
        this.retry(conn, error.retryAfterMs ?? timing.retryBaseMs);
        return;
      case ErrorCode.Unavailable:
      case ErrorCode.Internal:
      case ErrorCode.ServerFull:
        this.retry(conn, backoff(timing, 1));
        return;
      case ErrorCode.Draining:
        return; // The handover re-joins on the new connection.
      case ErrorCode.NameTaken: {
        // Names are unique per room: say so next to the name field too, where it is fixed.
        const message = `Could not join #${this.name}: ${error.message || describeError(error)}`;
        store.updateRoom(this.name, { error: message });
        store.update({ error: message, nameError: describeError(error) });
        return;
      }
      default: {
        const message = `Could not join #${this.name}: ${describeError(error)}`;
        store.updateRoom(this.name, { error: message });
        store.update({ error: message });
      }
    }
  }

  private retry(conn: Conn, delay: number): void {
    if (conn.closed || this.retries.has(conn)) return;
    this.retries.set(
      conn,
      setTimeout(() => {
        this.retries.delete(conn);
        if (conn.session && !conn.closed && !this.joinedOn.has(conn)) void this.join(conn);
      }, delay),
    );
  }

  /**
   * Merge a join answer. It describes the room as of when the server read it, and live broadcasts
   * may have overtaken it since (a handover holds two connections), so "the server is behind us"
   * is judged against the `since` we sent, never against what we hold now.
   */
  private apply(data: JoinResult, since: number | undefined): void {
    const room = this.room;
    if (!room) return;
    const lastSeen = room.messages[room.messages.length - 1]?.seq ?? room.contiguous;
    let messages: readonly ChatMessage[];
    let contiguous: number;
    let notice = room.notice;
    let hasMore = room.hasMore;
    if (room.loaded && since !== undefined && data.cursor < since) {
      // The server's history is older than ours: it was reset. Start over from what it has.
      messages = insertMessages([], data.messages);
      contiguous = data.cursor;
      notice = RESET_NOTICE;
      this.revisions.clear();
      hasMore = (messages[0]?.seq ?? 1) > 1;
    } else if (room.loaded && data.trimmed) {
      // What we missed is gone: show the latest page (and anything newer we already have).
      messages = mergeMessages(
        insertMessages([], data.messages),
        room.messages.filter((m) => m.seq > data.cursor),
      );
      contiguous = data.cursor;
      notice = TRIMMED_NOTICE;
      hasMore = (messages[0]?.seq ?? 1) > 1;
    } else if (room.loaded) {
      // New messages, and the current state of older ones revised since `since` (kept only
      // when we hold them: a tombstone of a message never shown would be noise).
      const oldest = room.messages[0]?.seq ?? Number.POSITIVE_INFINITY;
      messages = mergeMessages(
        room.messages,
        data.messages.filter(
          (m) => m.seq > room.contiguous || (m.seq >= oldest && !m.deleted) || hasSeq(room.messages, m.seq),
        ),
      );
      contiguous = Math.max(room.contiguous, data.cursor);
    } else {
      messages = mergeMessages(room.messages, data.messages);
      contiguous = Math.max(room.contiguous, data.cursor);
      hasMore = (messages[0]?.seq ?? 1) > 1;
    }
    const { state } = this.deps.store;
    const me = state.user?.id;
    const missed =
      room.loaded && this.name !== state.activeRoom
        ? messages.filter((m) => m.seq > lastSeen && m.author.id !== me && !m.deleted).length
        : 0;
    this.deps.store.updateRoom(this.name, {
      messages,
      contiguous: this.advance(contiguous, messages),
      loaded: true,
      hasMore,
      notice,
      error: null,
      unread: room.unread + missed,
    });
    // Protocol 1 servers send no version: their list is simply the truth at that moment.
    if (typeof data.presenceVersion !== "number") this.members.replace(data.presence);
    else if (typeof data.presenceNext === "string")
      this.members.page(
        data.presence,
        data.presenceVersion,
        data.presenceCount ?? data.presence.length,
        data.presenceNext,
      );
    else this.members.snapshot(data.presence, data.presenceVersion);
    this.deps.received(this.name, data.messages);
  }

  /** Add messages (live broadcasts, acks). */
  ingest(incoming: readonly ChatMessage[]): void {
    const room = this.room;
    if (!room) return;
    if (room.loaded && incoming.some((m) => this.isFromReset(room, m))) {
      this.restart();
      return;
    }
    // At or below the cursor everything has been seen or deliberately skipped.
    const fresh = incoming.filter((m) => !(room.loaded && m.seq <= room.contiguous) && !hasSeq(room.messages, m.seq));
    this.deps.received(this.name, incoming);
    if (fresh.length === 0) return;
    const messages = insertMessages(room.messages, fresh);
    const { state } = this.deps.store;
    const me = state.user?.id;
    const unseen = this.name === state.activeRoom ? 0 : fresh.filter((m) => m.author.id !== me).length;
    const authors = new Set(fresh.map((m) => m.author.id));
    this.deps.store.updateRoom(this.name, {
      messages,
      contiguous: room.loaded ? this.advance(room.contiguous, messages) : room.contiguous,
      unread: room.unread + unseen,
      typing: room.typing.filter((t) => !authors.has(t.user.id)),
    });
    this.checkGap();
  }

  /** An edit or deletion (live, or the ack of our own): the message's new state, at seq `rev`. */
  revise(message: ChatMessage): void {
    const room = this.room;
    if (!room) return;
    const rev = message.rev;
    const held = hasSeq(room.messages, message.seq);
    // A message inside a hole gets its current state now; one we never held (older) stays unshown.
    const show = held || (room.loaded && message.seq > room.contiguous);
    const messages = show ? mergeMessages(room.messages, [message]) : room.messages;
    if (room.loaded && rev !== undefined && rev > room.contiguous) this.revisions.add(rev);
    const contiguous = room.loaded ? this.advance(room.contiguous, messages) : room.contiguous;
    if (messages === room.messages && contiguous === room.contiguous) return;
    this.deps.store.updateRoom(this.name, { messages, contiguous });
    this.checkGap();
  }

  /** One page of scrollback before the oldest message held; resolves when it is in (or failed). */
  async loadOlder(): Promise<void> {
    const room = this.room;
    const conn = this.deps.current();
    if (!room?.loaded || !room.hasMore || room.loadingOlder || !conn?.session || !this.joinedOn.has(conn)) return;
    const before = room.messages[0]?.seq ?? room.contiguous + 1;
    this.deps.store.updateRoom(this.name, { loadingOlder: true });
    try {
      const res = await conn.socket.request("room:history", { room: this.name, before }, this.deps.timing.ackTimeoutMs);
      const now = this.room;
      if (!now) return;
      if (!res.ok) {
        this.deps.store.updateRoom(this.name, {
          loadingOlder: false,
          notice: `Could not load older messages: ${describeError(res.error)}`,
        });
        return;
      }
      // Deleted messages are left out of pages: an empty page with hasMore cannot happen, but a
      // server that did it must not make us ask forever.
      const older = res.data.messages.filter((m) => m.seq < before);
      this.deps.store.updateRoom(this.name, {
        messages: mergeMessages(now.messages, older, "oldest"),
        hasMore: res.data.hasMore && older.length > 0,
        loadingOlder: false,
      });
    } catch {
      // Timed out or disconnected: scrolling up again asks again.
      if (this.room) this.deps.store.updateRoom(this.name, { loadingOlder: false });
    }
  }

  /** A protocol 1 server's full member list. */
  presence(users: readonly User[]): void {
    this.members.replace(users);
  }

  presenceDelta(delta: PresenceDelta): void {
    this.members.delta(delta);
  }

  /** A large room's size (protocol 3). */
  presenceCount(count: PresenceCount): void {
    this.members.count(count);
  }

  /** The next page of a large room's members; resolves when it is in (or failed). */
  loadMorePresence(): Promise<void> {
    return this.members.loadMore();
  }

  /** Walk a large room's members from the start again. */
  reloadPresence(): Promise<void> {
    return this.members.reload();
  }

  private setPresence(view: PresenceView): void {
    const room = this.room;
    if (!room) return;
    const { users } = view;
    // A sample does not tell who left: typing indicators then expire on their own.
    const present = new Set(users.map((u) => u.id));
    this.deps.store.updateRoom(this.name, {
      presence: users,
      presenceCount: view.count,
      presencePartial: view.partial,
      presenceHasMore: view.hasMore,
      presenceLoading: view.loading,
      presenceError: view.error,
      typing: view.partial ? room.typing : room.typing.filter((t) => present.has(t.user.id)),
    });
  }

  /**
   * A live message at or below the cursor is normally a duplicate (a handover delivers twice).
   * It is a sign the room was reused instead (it expired and a new one of the same name began at
   * seq 1) when it differs from the message we hold at that seq, or is newer than our newest.
   */
  private isFromReset(room: RoomState, m: ChatMessage): boolean {
    if (m.seq > room.contiguous) return false;
    const held = room.messages[lowerBound(room.messages, m.seq)];
    if (held?.seq === m.seq) return held.clientId !== m.clientId;
    const newest = room.messages[room.messages.length - 1];
    return newest !== undefined && m.ts > newest.ts;
  }

  /** Forget the room's history and join afresh: what we hold belongs to a room that no longer exists. */
  private restart(): void {
    const room = this.room;
    if (!room) return;
    this.revisions.clear();
    const fresh = emptyRoom(this.name);
    this.deps.store.updateRoom(this.name, {
      messages: fresh.messages,
      contiguous: 0,
      loaded: false,
      hasMore: false,
      notice: RESET_NOTICE,
    });
    const conn = this.deps.current();
    if (conn?.session) {
      this.joinedOn.delete(conn);
      void this.join(conn);
    }
  }

  /** Move the cursor over messages and revisions that follow it without a gap. */
  private advance(contiguous: number, messages: readonly ChatMessage[]): number {
    const next = advanceContiguous(contiguous, messages, this.revisions);
    for (const rev of this.revisions) if (rev <= next) this.revisions.delete(rev);
    return next;
  }

  private hasGap(room: RoomState): boolean {
    return hasGap(room.contiguous, room.messages, this.revisions);
  }

  private checkGap(): void {
    const room = this.room;
    if (!room?.loaded || !this.hasGap(room) || this.gapTimer) return;
    const { timing } = this.deps;
    const delay = Math.min(timing.retryMaxMs, timing.gapFillDelayMs * 2 ** this.fruitless);
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      const conn = this.deps.current();
      const now = this.room;
      // Not joined yet? The (re)join in progress asks with `since` and so fills the hole itself.
      if (!conn?.session || !this.joinedOn.has(conn) || !now || !this.hasGap(now)) return;
      void this.join(conn);
    }, delay);
  }
}
