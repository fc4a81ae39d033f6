import type { User } from "@chat/protocol";
import { roomKeys } from "./keys.js";
import { distinctUsers, nameKey } from "./presence-order.js";
import { type RedisClient, script } from "./redis-script.js";
import { PRESENCE_ADD, PRESENCE_LIST, PRESENCE_REFRESH } from "./redis-scripts.js";
import type { PresenceEntry, PresenceStore, StoreLimits } from "./types.js";

/** A sorted set per room: member = one connection, score = its expiry on Redis' clock. */
export class RedisPresenceStore implements PresenceStore {
  private readonly addScript;
  private readonly refreshScript;
  private readonly listScript;

  constructor(
    private readonly redis: RedisClient,
    private readonly limits: Pick<StoreLimits, "presenceTtlMs">,
  ) {
    this.addScript = script<number>(redis, PRESENCE_ADD, 1);
    this.refreshScript = script<number>(redis, PRESENCE_REFRESH, 1);
    this.listScript = script<string[]>(redis, PRESENCE_LIST, 1);
  }

  async add(entry: PresenceEntry): Promise<boolean> {
    const { user } = entry;
    const args = [this.limits.presenceTtlMs, user.id, nameKey(user.name), member(entry)];
    return (await this.addScript([roomKeys(entry.room).presence], args)) === 1;
  }

  async remove(entry: PresenceEntry): Promise<void> {
    await this.redis.zrem(roomKeys(entry.room).presence, member(entry));
  }

  async refresh(entries: PresenceEntry[]): Promise<void> {
    const byRoom = new Map<string, string[]>();
    for (const e of entries) byRoom.set(e.room, [...(byRoom.get(e.room) ?? []), member(e)]);
    await Promise.all(
      [...byRoom].map(([room, members]) =>
        this.refreshScript([roomKeys(room).presence], [this.limits.presenceTtlMs, ...members]),
      ),
    );
  }

  async list(room: string): Promise<User[]> {
    const members = await this.listScript([roomKeys(room).presence], []);
    return distinctUsers(members.map(parseMember));
  }
}

const member = ({ connId, user }: PresenceEntry) => JSON.stringify([connId, user.id, user.name, nameKey(user.name)]);

function parseMember(m: string): User {
  const [, id, name] = JSON.parse(m) as [string, string, string];
  return { id, name };
}
