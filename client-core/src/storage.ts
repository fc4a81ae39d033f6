/** The subset of the Web Storage API the client uses; `localStorage` fits, tests pass a Map-backed one. */
export interface KeyValueStorage {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** In-memory storage: for tests, and the fallback when localStorage is unavailable. */
export class MemoryStorage implements KeyValueStorage {
  private readonly items = new Map<string, string>();

  get length(): number {
    return this.items.size;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

/**
 * Wraps storage so that a full quota or a browser that forbids storage degrades to "not
 * persisted" instead of breaking the chat.
 */
export class SafeStorage {
  constructor(private readonly inner: KeyValueStorage) {}

  get(key: string): string | null {
    try {
      return this.inner.getItem(key);
    } catch {
      return null;
    }
  }
  set(key: string, value: string): void {
    try {
      this.inner.setItem(key, value);
    } catch {
      // Quota exceeded or storage disabled: the value lives on in memory only.
    }
  }
  remove(key: string): void {
    try {
      this.inner.removeItem(key);
    } catch {
      // As above.
    }
  }
  keys(prefix: string): string[] {
    const out: string[] = [];
    try {
      for (let i = 0; i < this.inner.length; i++) {
        const key = this.inner.key(i);
        if (key?.startsWith(prefix)) out.push(key);
      }
    } catch {
      // As above.
    }
    return out;
  }
  getJson(key: string): unknown {
    const raw = this.get(key);
    if (raw === null) return null;
    try {
      return JSON.parse(raw);
    } catch {
      return null;
    }
  }
}

/** Every key the client writes, in one place. */
export const StorageKeys = {
  name: "chat.name",
  token: "chat.token",
  rooms: "chat.rooms",
  /** One key per queued message (`chat.outbox.<clientId>`), so two tabs never overwrite each other's queue. */
  outboxPrefix: "chat.outbox.",
} as const;

/** The room list and the open room, as saved by the last session (invalid entries dropped). */
export function readSavedRooms(
  storage: SafeStorage,
  isRoom: (name: string) => boolean,
): { rooms: string[]; active: string | null } {
  const value = storage.getJson(StorageKeys.rooms) as { rooms?: unknown; active?: unknown } | null;
  const rooms = Array.isArray(value?.rooms)
    ? [...new Set(value.rooms.filter((r): r is string => typeof r === "string" && isRoom(r)))]
    : [];
  const active = typeof value?.active === "string" && rooms.includes(value.active) ? value.active : (rooms[0] ?? null);
  return { rooms, active };
}
