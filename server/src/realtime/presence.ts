import { PRESENCE_DELTA_PROTOCOL, PRESENCE_PAGED_PROTOCOL, type PresenceChange as WireChange } from "@chat/protocol";
import type { Logger } from "../logger.js";
import { roomTag } from "../stores/keys.js";
import { sortUsers } from "../stores/presence-order.js";
import type { PresenceChange, PresenceEntry, PresenceList, PresencePage, PresenceStore } from "../stores/types.js";
import type { ChatServer } from "./types.js";

/** Joins and leaves of a room are announced to it at most this often (per pod)... */
export const PRESENCE_COALESCE_MS = 250;
/** ...and a big room less often: one more step per this many local members, up to the max. */
const COALESCE_STEP_MEMBERS = 200;
const COALESCE_MAX_MS = 1000;
/**
 * A large room hears its size at most this often, over all pods together: per pod, a room
 * spread over P pods would hear it P times as often, each time one write per member.
 */
export const COUNT_INTERVAL_MS = 1000;
/**
 * Users in the first page of a large room (the join ack's, or an answer without a cursor): about
 * what a member list shows at once. Every join of a storm, and every re-join of a rollout, carries
 * it; "show more" pages hold up to PRESENCE_LIST_MAX.
 */
export const FIRST_PAGE_USERS = 25;

/** Each announcement is one write per member: a room of 1,000 hears it every 750 ms-1 s. */
export const coalesceMs = (localMembers: number) =>
  Math.min(COALESCE_MAX_MS, PRESENCE_COALESCE_MS * Math.max(1, Math.ceil(localMembers / COALESCE_STEP_MEMBERS)));

/**
 * The Socket.IO room of a room's protocol-1 sockets (same hash tag, so the same shard on Redis
 * Cluster): they get full `presence` lists, everyone else `presence:delta`.
 */
export const fullListTag = (room: string) => `${roomTag(room)}~p1`;

/**
 * The Socket.IO room of a room's protocol-3 sockets: while the room is large they get
 * `presence:count` instead of deltas.
 */
export const pagedTag = (room: string) => `${roomTag(room)}~p3`;

/** Whether a socket that declared this protocol gets full lists rather than deltas. */
export const wantsFullLists = (protocol: number | undefined) => (protocol ?? 1) < PRESENCE_DELTA_PROTOCOL;

/** Whether a socket that declared this protocol gets a large room's presence paged. */
export const wantsPages = (protocol: number | undefined) => (protocol ?? 1) >= PRESENCE_PAGED_PROTOCOL;

interface Pending {
  joined: WireChange[];
  left: WireChange[];
}

/**
 * This pod's share of presence: the entries it holds, a heartbeat that keeps them alive in the
 * shared store, and the announcements of the changes it made or swept (a pod killed with SIGKILL
 * never says goodbye: the first pod to touch the room after the TTL sweeps and announces its
 * users' leaves). A ghost is gone within PRESENCE_TTL_MS + one interval.
 *
 * Each change is announced once, by the pod that made it, as a delta (one user, one version):
 * filling a room of N costs each member O(N) bytes in all, where full lists cost O(N²). Changes
 * are coalesced per room (coalesceMs), so a join storm sends a few events per member,
 * not one per join. Protocol-1 sockets get the room's full list per coalesced announcement instead.
 * While a room is large (more than listMax users), protocol-3 sockets get its size instead of
 * the deltas: in a room of N every delta is N writes, every member hears of N joins, so deltas
 * cost the room O(N²) bytes whatever their size.
 */
export class PresenceTracker {
  /** room -> socket id -> entry */
  private readonly local = new Map<string, Map<string, PresenceEntry>>();
  private readonly pending = new Map<string, Pending>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** room -> the latest (highest version) size this pod's store calls saw, for `presence:count`. */
  private readonly sizes = new Map<string, { version: number; count: number }>();
  /** room -> the latest change whose size must still be announced (a claim is in flight or due). */
  private readonly counting = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly io: ChatServer,
    private readonly store: PresenceStore,
    private readonly log: Logger,
    private readonly intervalMs: number,
    /** PRESENCE_LIST_MAX: a room with more users is large. */
    private readonly listMax: number,
  ) {}

  start() {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pending.clear();
    this.sizes.clear();
    // A size still owed goes out now, ahead of the interval: a pod that leaves must not take a
    // room's last announcement with it (best effort: Redis may be going away too).
    for (const room of this.counting.keys()) void this.claimCount(room, 0);
    this.counting.clear();
  }

  /**
   * Enter the room; the room's list after it (a first page when `paged` and the room is large),
   * or null when another present user has this name.
   */
  async join(entry: PresenceEntry, paged = false): Promise<PresenceList | null> {
    const res = await this.store.add(entry, this.page(paged));
    this.queue(res.left, "left");
    if (!res.added) return null;
    this.noteSize(entry.room, res.version, res.count);
    let members = this.local.get(entry.room);
    if (!members) {
      members = new Map();
      this.local.set(entry.room, members);
    }
    members.set(entry.connId, entry);
    if (res.joined) this.queue([res.joined], "joined");
    return { version: res.version, users: res.users, count: res.count, next: res.next };
  }

  async leave(entry: PresenceEntry): Promise<void> {
    const members = this.local.get(entry.room);
    members?.delete(entry.connId);
    if (members?.size === 0) this.local.delete(entry.room);
    this.queue(await this.store.remove(entry), "left");
    if (!this.local.has(entry.room) && !this.pending.has(entry.room)) this.sizes.delete(entry.room);
  }

  /** The room's full list; `paged`: a page of it when large or when `cursor` continues a walk. */
  async list(room: string, paged = false, cursor?: string): Promise<PresenceList> {
    const { left, ...list } = await this.store.list(room, this.page(paged, cursor));
    this.queue(left, "left");
    if (this.local.has(room)) this.noteSize(room, list.version, list.count);
    return list;
  }

  /** A first page (no cursor) is small, the pages after it hold up to listMax users. */
  private page(paged: boolean, cursor?: string): PresencePage | undefined {
    if (!paged) return undefined;
    if (cursor !== undefined) return { limit: this.listMax, cursor };
    return { limit: this.listMax, size: Math.min(this.listMax, FIRST_PAGE_USERS) };
  }

  /** Versions grow with every change, so the highest one seen has the latest count. */
  private noteSize(room: string, version: number, count: number) {
    const known = this.sizes.get(room);
    if (!known || version >= known.version) this.sizes.set(room, { version, count });
  }

  private queue(changes: PresenceChange[], kind: keyof Pending) {
    for (const { room, version, user, count } of changes) {
      this.noteSize(room, version, count);
      let p = this.pending.get(room);
      if (!p) {
        p = { joined: [], left: [] };
        this.pending.set(room, p);
        const timer = setTimeout(
          () => {
            this.timers.delete(timer);
            void this.announce(room);
          },
          coalesceMs(this.local.get(room)?.size ?? 0),
        );
        timer.unref();
        this.timers.add(timer);
      }
      p[kind].push({ id: user.id, name: user.name, version });
    }
  }

  /** The room's changes since the last announcement, to every member on every pod. */
  private async announce(room: string) {
    const p = this.pending.get(room);
    this.pending.delete(room);
    if (!p) return;
    const version = Math.max(...p.joined.map((c) => c.version), ...p.left.map((c) => c.version));
    const size = this.sizes.get(room);
    if (!this.local.has(room)) this.sizes.delete(room);
    const delta = { room, version, joined: p.joined, left: p.left };
    if (size && size.count > this.listMax) {
      this.io
        .to(roomTag(room))
        .except([fullListTag(room), pagedTag(room)])
        .emit("presence:delta", delta);
      this.countSoon(room, version);
    } else {
      this.io.to(roomTag(room)).except(fullListTag(room)).emit("presence:delta", delta);
    }
    try {
      // Every pod's protocol-1 sockets: this pod cannot tell whether others have any.
      const { users } = await this.list(room);
      this.io.to(fullListTag(room)).emit("presence", { room, users: sortUsers(users) });
    } catch (err) {
      // A protocol-1 client sees the list with the next change; its next join has it anyway.
      this.log.debug({ err: (err as Error).message, room }, "presence list for protocol-1 sockets failed");
    }
  }

  /** Have the room's size announced once it covers `version` (see COUNT_INTERVAL_MS). */
  private countSoon(room: string, version: number) {
    const due = this.counting.get(room);
    this.counting.set(room, Math.max(due ?? 0, version));
    if (due === undefined) void this.claimCount(room);
  }

  private async claimCount(room: string, intervalMs = COUNT_INTERVAL_MS) {
    const version = this.counting.get(room);
    if (version === undefined) return;
    let claim: Awaited<ReturnType<PresenceStore["claimCount"]>>;
    try {
      claim = await this.store.claimCount(room, version, intervalMs);
    } catch (err) {
      // Kept and tried again: the room's last change must not go unannounced because Redis
      // blinked (clients keep the last size they heard meanwhile).
      this.log.debug({ err: (err as Error).message, room }, "presence count claim failed");
      if (!this.stopped) this.claimLater(room, COUNT_INTERVAL_MS);
      return;
    }
    // A won claim is announced even if this pod stopped meanwhile: the store has it as sent, so
    // no other pod will send it. A room no longer large heard its changes as deltas instead.
    if (claim && !("retryInMs" in claim) && claim.count > this.listMax) {
      if (!this.stopped) this.noteSize(room, claim.version, claim.count);
      this.io.to(pagedTag(room)).emit("presence:count", { room, ...claim });
    }
    if (this.stopped) return;
    if (claim && "retryInMs" in claim) return this.claimLater(room, claim.retryInMs);
    // Changes queued while the claim was out are covered only if the claim read them.
    if ((this.counting.get(room) ?? 0) > version) void this.claimCount(room);
    else this.counting.delete(room);
  }

  private claimLater(room: string, ms: number) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.claimCount(room);
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private async tick() {
    const entries = [...this.local.values()].flatMap((m) => [...m.values()]);
    try {
      this.queue(await this.store.refresh(entries), "left");
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, "presence heartbeat failed");
    }
  }
}
