import type { User } from "@chat/protocol";
import type { Logger } from "../logger.js";
import { roomTag } from "../stores/keys.js";
import type { PresenceEntry, PresenceStore } from "../stores/types.js";
import type { ChatServer } from "./types.js";

/** Joins and leaves of a room are announced to it at most this often (per pod). */
export const PRESENCE_COALESCE_MS = 250;

/**
 * This pod's share of presence: the entries it holds, a heartbeat that keeps them alive in the
 * shared store, and a sweep that tells local sockets when other pods' entries expire (a pod
 * killed with SIGKILL never says goodbye). A ghost is gone within PRESENCE_TTL_MS + one interval.
 *
 * Every announcement carries the room's whole list, so announcing each join would make filling a
 * room of N people cost O(N²) (and a rollout re-joins everyone): the joiner gets the fresh list in
 * its ack, and the room hears one coalesced announcement per PRESENCE_COALESCE_MS.
 */
export class PresenceTracker {
  /** room -> socket id -> entry */
  private readonly local = new Map<string, Map<string, PresenceEntry>>();
  /** The list local sockets last saw, per room, to send only changes. */
  private readonly shown = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly announcing = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly io: ChatServer,
    private readonly store: PresenceStore,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  start() {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop() {
    clearInterval(this.timer);
    for (const t of this.announcing.values()) clearTimeout(t);
    this.announcing.clear();
  }

  /** Enter the room and tell everyone; null when another present user has this name. */
  async join(entry: PresenceEntry): Promise<User[] | null> {
    if (!(await this.store.add(entry))) return null;
    const members = this.local.get(entry.room) ?? new Map<string, PresenceEntry>();
    this.local.set(entry.room, members);
    members.set(entry.connId, entry);
    return this.publish(entry.room);
  }

  async leave(entry: PresenceEntry): Promise<void> {
    const members = this.local.get(entry.room);
    members?.delete(entry.connId);
    if (members?.size === 0) {
      this.local.delete(entry.room);
      this.shown.delete(entry.room);
    }
    await this.store.remove(entry);
    await this.publish(entry.room);
  }

  list(room: string): Promise<User[]> {
    return this.store.list(room);
  }

  /** The room's fresh list for the caller; the room itself hears it in a coalesced announcement. */
  private async publish(room: string): Promise<User[]> {
    const users = await this.store.list(room);
    if (!this.announcing.has(room)) {
      const timer = setTimeout(() => void this.announce(room), PRESENCE_COALESCE_MS);
      timer.unref();
      this.announcing.set(room, timer);
    }
    return users;
  }

  /** Send the room's current list to every member on every pod. */
  private async announce(room: string) {
    this.announcing.delete(room);
    try {
      const users = await this.store.list(room);
      if (this.local.has(room)) this.shown.set(room, signature(users));
      this.io.to(roomTag(room)).emit("presence", { room, users });
    } catch (err) {
      // The heartbeat's sweep sends the list once the store answers again.
      this.log.debug({ err: (err as Error).message, room }, "presence announcement failed");
    }
  }

  private async tick() {
    const entries = [...this.local.values()].flatMap((m) => [...m.values()]);
    try {
      await this.store.refresh(entries);
      await Promise.all(
        [...this.local.keys()].map(async (room) => {
          const users = await this.store.list(room);
          const sig = signature(users);
          if (this.shown.get(room) === sig) return;
          this.shown.set(room, sig);
          this.io.local.to(roomTag(room)).emit("presence", { room, users });
        }),
      );
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, "presence heartbeat failed");
    }
  }
}

const signature = (users: User[]) => users.map((u) => `${u.id}\u0000${u.name}`).join("\u0001");
