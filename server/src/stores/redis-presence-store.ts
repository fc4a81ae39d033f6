import type { User } from "@chat/protocol";
import { roomKeys } from "./keys.js";
import { nameKey } from "./presence-order.js";
import { type RedisClient, script } from "./redis-script.js";
import { PRESENCE_ADD, PRESENCE_LIST, PRESENCE_REFRESH, PRESENCE_REMOVE } from "./redis-scripts.js";
import type { PresenceAdd, PresenceChange, PresenceEntry, PresenceList, PresenceStore, StoreLimits } from "./types.js";

type Flat = (string | number)[];

/** Presence in five keys per room (see PRESENCE_COMMON): connections, users, the name index, the version, holds. */
export class RedisPresenceStore implements PresenceStore {
  private readonly addScript;
  private readonly removeScript;
  private readonly refreshScript;
  private readonly listScript;

  constructor(
    redis: RedisClient,
    private readonly limits: Pick<StoreLimits, "presenceTtlMs">,
  ) {
    this.addScript = script<[number, number, number, Flat, string[]]>(redis, PRESENCE_ADD, 5);
    this.removeScript = script<[Flat]>(redis, PRESENCE_REMOVE, 5);
    this.refreshScript = script<[Flat]>(redis, PRESENCE_REFRESH, 5);
    this.listScript = script<[number, string[], Flat]>(redis, PRESENCE_LIST, 5);
  }

  async add(entry: PresenceEntry): Promise<PresenceAdd> {
    const { room, user } = entry;
    const [added, version, joined, left, users] = await this.addScript(keys(room), [
      this.limits.presenceTtlMs,
      user.id,
      user.name,
      nameKey(user.name),
      member(entry),
    ]);
    return {
      added: added === 1,
      version,
      users: parseUsers(users),
      joined: joined > 0 ? { room, version: joined, user } : null,
      left: parseChanges(room, left),
    };
  }

  async remove(entry: PresenceEntry): Promise<PresenceChange[]> {
    const [left] = await this.removeScript(keys(entry.room), [this.limits.presenceTtlMs, member(entry)]);
    return parseChanges(entry.room, left);
  }

  async refresh(entries: PresenceEntry[]): Promise<PresenceChange[]> {
    const byRoom = new Map<string, string[]>();
    for (const e of entries) {
      const members = byRoom.get(e.room);
      if (members) members.push(member(e));
      else byRoom.set(e.room, [member(e)]);
    }
    const swept = await Promise.all(
      [...byRoom].map(async ([room, members]) => {
        const [left] = await this.refreshScript(keys(room), [this.limits.presenceTtlMs, ...members]);
        return parseChanges(room, left);
      }),
    );
    return swept.flat();
  }

  async list(room: string): Promise<PresenceList & { left: PresenceChange[] }> {
    const [version, users, left] = await this.listScript(keys(room), [this.limits.presenceTtlMs]);
    return { version, users: parseUsers(users), left: parseChanges(room, left) };
  }
}

const keys = (room: string) => {
  const k = roomKeys(room);
  return [k.presence, k.presenceUsers, k.presenceNames, k.presenceVersion, k.presenceHolds];
};

const member = ({ connId, user }: PresenceEntry) => JSON.stringify([connId, user.id, user.name, nameKey(user.name)]);

/** HGETALL of the users hash: one entry per user already; sorting is for protocol-1 lists (sortUsers). */
function parseUsers(flat: string[]): User[] {
  const users: User[] = new Array(flat.length >> 1);
  for (let i = 0; i + 1 < flat.length; i += 2) users[i >> 1] = { id: flat[i] as string, name: flat[i + 1] as string };
  return users;
}

function parseChanges(room: string, flat: Flat): PresenceChange[] {
  const out: PresenceChange[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    out.push({ room, version: Number(flat[i]), user: { id: String(flat[i + 1]), name: String(flat[i + 2]) } });
  }
  return out;
}
