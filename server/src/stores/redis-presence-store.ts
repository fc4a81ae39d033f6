import type { User } from "@chat/protocol";
import { roomKeys } from "./keys.js";
import { nameKey } from "./presence-order.js";
import { type RedisClient, script } from "./redis-script.js";
import {
  PRESENCE_ADD,
  PRESENCE_CLAIM_COUNT,
  PRESENCE_LIST,
  PRESENCE_REFRESH,
  PRESENCE_REMOVE,
} from "./redis-scripts.js";
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

type Flat = (string | number)[];

/** Presence in five keys per room (see PRESENCE_COMMON): connections, users, the name index, the version, holds. */
export class RedisPresenceStore implements PresenceStore {
  private readonly addScript;
  private readonly removeScript;
  private readonly refreshScript;
  private readonly listScript;
  private readonly claimScript;

  constructor(
    redis: RedisClient,
    private readonly limits: Pick<StoreLimits, "presenceTtlMs">,
  ) {
    this.addScript = script<[number, number, number, Flat, string[], number, string]>(redis, PRESENCE_ADD, 5);
    this.removeScript = script<[Flat]>(redis, PRESENCE_REMOVE, 5);
    this.refreshScript = script<[Flat]>(redis, PRESENCE_REFRESH, 5);
    this.listScript = script<[number, string[], Flat, number, string]>(redis, PRESENCE_LIST, 5);
    this.claimScript = script<[number, number?, number?]>(redis, PRESENCE_CLAIM_COUNT, 3);
  }

  async add(entry: PresenceEntry, page?: PresencePage): Promise<PresenceAdd> {
    const { room, user } = entry;
    const [added, version, joined, left, users, count, next] = await this.addScript(keys(room), [
      this.limits.presenceTtlMs,
      user.id,
      user.name,
      nameKey(user.name),
      member(entry),
      pageLimit(page),
      pageSize(page),
    ]);
    return {
      added: added === 1,
      version,
      users: parseUsers(users),
      count,
      next: next || null,
      joined: joined > 0 ? { room, version: joined, user, count } : null,
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

  async list(room: string, page?: PresencePage): Promise<PresenceList & { left: PresenceChange[] }> {
    const cursor = page?.cursor ?? "";
    if (cursor !== "" && !validCursor(cursor)) throw new PresenceCursorError(cursor);
    const [version, users, left, count, next] = await this.listScript(keys(room), [
      this.limits.presenceTtlMs,
      pageLimit(page),
      cursor,
      pageSize(page),
    ]);
    return { version, users: parseUsers(users), count, next: next || null, left: parseChanges(room, left) };
  }

  async claimCount(room: string, version: number, intervalMs: number): Promise<CountClaim> {
    const k = roomKeys(room);
    const [status, a = 0, b = 0] = await this.claimScript(
      [k.presenceVersion, k.presenceUsers, k.presenceCounted],
      [this.limits.presenceTtlMs, version, intervalMs],
    );
    if (status === 1) return { version: a, count: b };
    return status === -1 ? { retryInMs: a } : null;
  }
}

const keys = (room: string) => {
  const k = roomKeys(room);
  return [k.presence, k.presenceUsers, k.presenceNames, k.presenceVersion, k.presenceHolds];
};

/** 0 asks the scripts for every user. */
const pageLimit = (page?: PresencePage) => (page ? Math.max(1, Math.floor(page.limit)) : 0);
const pageSize = (page?: PresencePage) => (page ? Math.max(1, Math.floor(page.size ?? page.limit)) : 0);

const MAX_SCAN_CURSOR = 2n ** 64n - 1n;

/**
 * What the scripts accept (see users() in PRESENCE_COMMON): '0' + a position in a small hash, or
 * an HSCAN cursor, which Redis refuses (an error inside the script) above 2^64 - 1.
 */
function validCursor(cursor: string): boolean {
  if (!/^[0-9]{1,32}$/.test(cursor)) return false;
  if (cursor.length > 1 && cursor[0] === "0") return Number.isSafeInteger(Number(cursor.slice(1)));
  return BigInt(cursor) <= MAX_SCAN_CURSOR;
}

const member = ({ connId, user }: PresenceEntry) => JSON.stringify([connId, user.id, user.name, nameKey(user.name)]);

/** HGETALL of the users hash: one entry per user already; sorting is for protocol-1 lists (sortUsers). */
function parseUsers(flat: string[]): User[] {
  const users: User[] = new Array(flat.length >> 1);
  for (let i = 0; i + 1 < flat.length; i += 2) users[i >> 1] = { id: flat[i] as string, name: flat[i + 1] as string };
  return users;
}

function parseChanges(room: string, flat: Flat): PresenceChange[] {
  const out: PresenceChange[] = [];
  for (let i = 0; i + 3 < flat.length; i += 4) {
    out.push({
      room,
      version: Number(flat[i]),
      user: { id: String(flat[i + 1]), name: String(flat[i + 2]) },
      count: Number(flat[i + 3]),
    });
  }
  return out;
}
