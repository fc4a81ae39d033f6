import type { RoomSummary } from "@chat/protocol";
import { directoryKeys } from "./keys.js";
import { type RedisClient, script } from "./redis-script.js";
import { DIRECTORY_TOUCH } from "./redis-scripts.js";
import type { MessageStore, PresenceEntry, PresencePage, PresenceStore, RoomDirectory, Stores } from "./types.js";

/** Rooms the directory remembers per kind; older ones fall off first. */
export const ROOM_DIRECTORY_MAX = 1000;
/** A room without messages for this long is no longer "active" (unless someone is present). */
export const ROOM_ACTIVE_MS = 24 * 60 * 60_000;
/** Each pod records a room's activity at most this often per kind, so a busy room costs the shared key little. */
export const TOUCH_EVERY_MS = 5000;
/** Most rooms `rooms:list` answers with. */
export const ROOMS_LISTED = 100;
/** Rooms whose presence is counted per listing (the most recently seen ones). */
const PRESENCE_CANDIDATES = 200;
/** A listing is reused this long per pod: it is a lobby, not a live view. */
const LIST_CACHE_MS = 2000;

export class MemoryRoomDirectory implements RoomDirectory {
  private readonly scores = { message: new Map<string, number>(), presence: new Map<string, number>() };

  async touch(room: string, kind: "message" | "presence", ts: number): Promise<void> {
    const map = this.scores[kind];
    map.delete(room); // re-inserted last: Map order = recency
    map.set(room, ts);
    if (map.size > ROOM_DIRECTORY_MAX) map.delete(map.keys().next().value as string);
  }

  async recent(presenceSince: number, messagesSince: number) {
    const newest = (map: Map<string, number>, since: number) =>
      [...map].filter(([, ts]) => ts >= since).sort((a, b) => b[1] - a[1]);
    return {
      seen: newest(this.scores.presence, presenceSince)
        .slice(0, PRESENCE_CANDIDATES)
        .map(([room]) => room),
      lastMessage: new Map(newest(this.scores.message, messagesSince).slice(0, ROOM_DIRECTORY_MAX)),
    };
  }
}

/** Two sorted sets under the tag `{rooms}`: on a cluster one shard holds the whole directory. */
export class RedisRoomDirectory implements RoomDirectory {
  private readonly touchScript;

  constructor(private readonly redis: RedisClient) {
    this.touchScript = script<number>(redis, DIRECTORY_TOUCH, 1);
  }

  async touch(room: string, kind: "message" | "presence", ts: number): Promise<void> {
    const key = kind === "message" ? directoryKeys.messages : directoryKeys.seen;
    await this.touchScript([key], [room, ts, ROOM_DIRECTORY_MAX, ts - ROOM_ACTIVE_MS]);
  }

  async recent(presenceSince: number, messagesSince: number) {
    const [seen, messages] = await Promise.all([
      this.redis.zrevrangebyscore(directoryKeys.seen, "+inf", presenceSince, "LIMIT", 0, PRESENCE_CANDIDATES),
      this.redis.zrevrangebyscore(directoryKeys.messages, "+inf", messagesSince, "WITHSCORES"),
    ]);
    const lastMessage = new Map<string, number>();
    for (let i = 0; i + 1 < messages.length; i += 2) lastMessage.set(messages[i] as string, Number(messages[i + 1]));
    return { seen, lastMessage };
  }
}

/**
 * Feed the directory from the stores' own writes: every stored message and every presence add
 * or heartbeat. Coalesced per pod (TOUCH_EVERY_MS) and best effort: the directory never slows
 * down or fails a send.
 */
export function trackActivity(
  messages: MessageStore,
  presence: PresenceStore,
  directory: RoomDirectory,
  onError: (err: unknown) => void,
  now: () => number = Date.now,
): { messages: MessageStore; presence: PresenceStore } {
  const last = new Map<string, number>();
  const touch = (room: string, kind: "message" | "presence", ts: number) => {
    const key = `${kind}\u0000${room}`;
    if (ts - (last.get(key) ?? Number.NEGATIVE_INFINITY) < TOUCH_EVERY_MS) return;
    if (last.size > 10 * ROOM_DIRECTORY_MAX) last.clear();
    last.set(key, ts);
    directory.touch(room, kind, ts).catch(onError);
  };
  const tracked: MessageStore = {
    append: async (input) => {
      const result = await messages.append(input);
      if (!result.duplicate) touch(input.room, "message", result.message.ts);
      return result;
    },
    history: (room, since) => messages.history(room, since),
    revise: (input) => messages.revise(input),
    page: (room, before, limit) => messages.page(room, before, limit),
  };
  const trackedPresence: PresenceStore = {
    add: async (entry: PresenceEntry, page?: PresencePage) => {
      const added = await presence.add(entry, page);
      if (added) touch(entry.room, "presence", now());
      return added;
    },
    refresh: async (entries: PresenceEntry[]) => {
      const left = await presence.refresh(entries);
      const t = now();
      for (const e of entries) touch(e.room, "presence", t);
      return left;
    },
    remove: (entry) => presence.remove(entry),
    list: (room, page) => presence.list(room, page),
    claimCount: (room, version, intervalMs) => presence.claimCount(room, version, intervalMs),
  };
  return { messages: tracked, presence: trackedPresence };
}

/**
 * The active rooms: present members first, then the most recent message. Presence is counted
 * only for rooms the directory saw recently (heartbeats refresh that), so a listing costs a
 * bounded number of reads, and each pod reuses it for LIST_CACHE_MS.
 */
export function roomLister(
  directory: RoomDirectory,
  presence: PresenceStore,
  presenceTtlMs: number,
  now: () => number = Date.now,
): () => Promise<RoomSummary[]> {
  let cached: { at: number; rooms: Promise<RoomSummary[]> } | null = null;
  const load = async (): Promise<RoomSummary[]> => {
    const t = now();
    const { seen, lastMessage } = await directory.recent(
      t - 3 * Math.max(presenceTtlMs, TOUCH_EVERY_MS),
      t - ROOM_ACTIVE_MS,
    );
    const counts = await Promise.all(
      seen.map(async (room) => [room, (await presence.list(room, { limit: 1 })).count] as const),
    );
    const byRoom = new Map<string, RoomSummary>();
    for (const [room, ts] of lastMessage) byRoom.set(room, { room, members: 0, lastTs: ts });
    for (const [room, members] of counts) {
      if (members === 0) continue;
      const ts = lastMessage.get(room);
      byRoom.set(room, ts === undefined ? { room, members } : { room, members, lastTs: ts });
    }
    return [...byRoom.values()]
      .sort((a, b) => b.members - a.members || (b.lastTs ?? 0) - (a.lastTs ?? 0) || a.room.localeCompare(b.room))
      .slice(0, ROOMS_LISTED);
  };
  return () => {
    const t = now();
    if (!cached || t - cached.at >= LIST_CACHE_MS) {
      const rooms = load();
      cached = { at: t, rooms };
      // A failed read is not reused.
      rooms.catch(() => {
        if (cached?.rooms === rooms) cached = null;
      });
    }
    return cached.rooms;
  };
}

/** The stores with the room directory fed by their writes. */
export function withRoomDirectory(
  messages: MessageStore,
  presence: PresenceStore,
  rooms: RoomDirectory,
  onError: (err: unknown) => void,
  now: () => number = Date.now,
): Stores {
  return { ...trackActivity(messages, presence, rooms, onError, now), rooms };
}
