import type { User } from "@chat/protocol";
import { distinctUsers, nameKey } from "./presence-order.js";
import type { PresenceEntry, PresenceStore, StoreLimits } from "./types.js";

/** Single-process twin of the Redis presence store: entries expire unless refreshed. */
export class MemoryPresenceStore implements PresenceStore {
  /** room -> connId -> entry. */
  private readonly rooms = new Map<string, Map<string, { user: User; expiresAt: number }>>();

  constructor(
    private readonly limits: Pick<StoreLimits, "presenceTtlMs">,
    private readonly now: () => number = Date.now,
  ) {}

  async add({ room, connId, user }: PresenceEntry): Promise<boolean> {
    const members = this.rooms.get(room) ?? new Map<string, { user: User; expiresAt: number }>();
    const now = this.now();
    const key = nameKey(user.name);
    for (const m of members.values()) {
      if (m.expiresAt > now && m.user.id !== user.id && nameKey(m.user.name) === key) return false;
    }
    this.rooms.set(room, members);
    members.set(connId, { user, expiresAt: now + this.limits.presenceTtlMs });
    return true;
  }

  async remove({ room, connId }: PresenceEntry): Promise<void> {
    const members = this.rooms.get(room);
    members?.delete(connId);
    if (members?.size === 0) this.rooms.delete(room);
  }

  async refresh(entries: PresenceEntry[]): Promise<void> {
    const expiresAt = this.now() + this.limits.presenceTtlMs;
    for (const { room, connId } of entries) {
      const member = this.rooms.get(room)?.get(connId);
      if (member) member.expiresAt = expiresAt;
    }
  }

  async list(room: string): Promise<User[]> {
    const members = this.rooms.get(room);
    if (!members) return [];
    const now = this.now();
    const users: User[] = [];
    for (const [connId, { user, expiresAt }] of members) {
      if (expiresAt <= now) members.delete(connId);
      else users.push(user);
    }
    return distinctUsers(users);
  }
}
