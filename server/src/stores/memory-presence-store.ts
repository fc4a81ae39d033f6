import type { User } from "@chat/protocol";
import { nameKey } from "./presence-order.js";
import {
  type CountClaim,
  type PresenceAdd,
  type PresenceChange,
  PresenceCursorError,
  type PresenceEntry,
  type PresenceList,
  type PresencePage,
  type PresenceStore,
  type StoreLimits,
} from "./types.js";

interface Room {
  conns: Map<string, { user: User; expiresAt: number }>;
  users: Map<string, { n: number; name: string; keys: Set<string> }>;
  names: Map<string, string>;
}

/**
 * Single-process twin of the Redis presence store (same keys, same rules): entries expire unless
 * refreshed. A page cursor is a position in the room's users in order of arrival, so a walk
 * during which users leave may skip some, as HSCAN may.
 */
export class MemoryPresenceStore implements PresenceStore {
  private readonly rooms = new Map<string, Room>();
  private readonly versions = new Map<string, number>();
  /** room -> the version and time of its last size announcement (see claimCount). */
  private readonly counted = new Map<string, { version: number; at: number }>();

  constructor(
    private readonly limits: Pick<StoreLimits, "presenceTtlMs">,
    private readonly now: () => number = Date.now,
  ) {}

  async add({ room, connId, user }: PresenceEntry, page?: PresencePage): Promise<PresenceAdd> {
    const r = this.room(room);
    const left = this.sweep(room, r);
    const now = this.now();
    const conn = r.conns.get(connId);
    let joined: PresenceChange | null = null;
    if (conn) conn.expiresAt = now + this.limits.presenceTtlMs;
    else {
      const key = nameKey(user.name);
      const owner = r.names.get(key);
      if (owner !== undefined && owner !== user.id)
        return { added: false, joined, left, ...this.snapshot(room, r, page) };
      r.conns.set(connId, { user, expiresAt: now + this.limits.presenceTtlMs });
      r.names.set(key, user.id);
      const u = r.users.get(user.id);
      if (u) {
        u.n++;
        u.keys.add(key);
      } else {
        r.users.set(user.id, { n: 1, name: user.name, keys: new Set([key]) });
        joined = { room, version: this.bump(room), user, count: r.users.size };
      }
    }
    return { added: true, joined, left, ...this.snapshot(room, r, page) };
  }

  async remove({ room, connId }: PresenceEntry): Promise<PresenceChange[]> {
    const r = this.rooms.get(room);
    if (!r) return [];
    const left = this.sweep(room, r);
    const conn = r.conns.get(connId);
    if (conn) {
      r.conns.delete(connId);
      const change = this.drop(room, r, conn.user.id);
      if (change) left.push(change);
    }
    this.forgetIfEmpty(room, r);
    return left;
  }

  async refresh(entries: PresenceEntry[]): Promise<PresenceChange[]> {
    const expiresAt = this.now() + this.limits.presenceTtlMs;
    const left: PresenceChange[] = [];
    for (const room of new Set(entries.map((e) => e.room))) {
      const r = this.rooms.get(room);
      if (r) left.push(...this.sweep(room, r));
    }
    for (const { room, connId } of entries) {
      const conn = this.rooms.get(room)?.conns.get(connId);
      if (conn) conn.expiresAt = expiresAt;
    }
    return left;
  }

  async list(room: string, page?: PresencePage): Promise<PresenceList & { left: PresenceChange[] }> {
    if (page?.cursor !== undefined) offsetOf(page.cursor);
    const r = this.rooms.get(room);
    if (!r) return { version: this.versions.get(room) ?? 0, users: [], count: 0, next: null, left: [] };
    const left = this.sweep(room, r);
    const snapshot = this.snapshot(room, r, page);
    this.forgetIfEmpty(room, r);
    return { ...snapshot, left };
  }

  async claimCount(room: string, version: number, intervalMs: number): Promise<CountClaim> {
    const current = this.versions.get(room) ?? 0;
    const r = this.rooms.get(room);
    if (current === 0 || !r) return null;
    const now = this.now();
    const last = this.counted.get(room);
    if (last && last.version <= current) {
      if (last.version >= version) return null;
      const wait = last.at + intervalMs - now;
      if (wait > 0) return { retryInMs: wait };
    }
    this.counted.set(room, { version: current, at: now });
    return { version: current, count: r.users.size };
  }

  private room(room: string): Room {
    let r = this.rooms.get(room);
    if (!r) {
      r = { conns: new Map(), users: new Map(), names: new Map() };
      this.rooms.set(room, r);
    }
    return r;
  }

  private forgetIfEmpty(room: string, r: Room) {
    if (r.conns.size === 0) {
      // Nobody holds a version of an empty room (Redis lets it expire with the rest).
      this.rooms.delete(room);
      this.versions.delete(room);
      this.counted.delete(room);
    }
  }

  private snapshot(room: string, r: Room, page?: PresencePage): PresenceList {
    const version = this.versions.get(room) ?? 0;
    const count = r.users.size;
    if (!page || (page.cursor === undefined && count <= page.limit)) {
      const users = [...r.users].map(([id, u]) => ({ id, name: u.name }));
      return { version, users, count, next: null };
    }
    const from = page.cursor === undefined ? 0 : offsetOf(page.cursor);
    const to = from + Math.max(1, Math.floor(page.size ?? page.limit));
    const users: User[] = [];
    let i = 0;
    for (const [id, u] of r.users) {
      if (i >= to) break;
      if (i++ >= from) users.push({ id, name: u.name });
    }
    return { version, users, count, next: to < count ? String(to) : null };
  }

  private bump(room: string) {
    const v = (this.versions.get(room) ?? 0) + 1;
    this.versions.set(room, v);
    return v;
  }

  private drop(room: string, r: Room, userId: string): PresenceChange | null {
    const u = r.users.get(userId);
    if (!u) return null;
    if (--u.n > 0) return null;
    r.users.delete(userId);
    for (const k of u.keys) if (r.names.get(k) === userId) r.names.delete(k);
    return { room, version: this.bump(room), user: { id: userId, name: u.name }, count: r.users.size };
  }

  private sweep(room: string, r: Room): PresenceChange[] {
    const now = this.now();
    const left: PresenceChange[] = [];
    for (const [connId, conn] of r.conns) {
      if (conn.expiresAt > now) continue;
      r.conns.delete(connId);
      const change = this.drop(room, r, conn.user.id);
      if (change) left.push(change);
    }
    return left;
  }
}

function offsetOf(cursor: string): number {
  const n = /^[0-9]{1,32}$/.test(cursor) ? Number(cursor) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new PresenceCursorError(cursor);
  return n;
}
