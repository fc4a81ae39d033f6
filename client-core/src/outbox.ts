import { type SafeStorage, StorageKeys } from "./storage.js";

/** A message the user wrote that the server has not acknowledged yet. */
export interface OutboxEntry {
  /** Idempotency key: the server stores a clientId once, however often it is sent. */
  readonly clientId: string;
  readonly room: string;
  readonly text: string;
  /** Epoch ms; orders the queue and is shown as the message time until the server's arrives. */
  readonly createdAt: number;
  /** `pending` is retried automatically; `failed` waits for the user (retry or discard). */
  readonly status: "pending" | "failed";
  /** Why it failed, or why a pending message is waiting (e.g. "server unavailable, retrying"). */
  readonly error: string | null;
}

/** Persistence of the outbox: one storage key per entry, so tabs sharing storage cannot clobber each other. */
export class OutboxStore {
  constructor(private readonly storage: SafeStorage) {}

  /** Every stored entry, oldest first; malformed ones are dropped. */
  load(): OutboxEntry[] {
    const entries: OutboxEntry[] = [];
    for (const key of this.storage.keys(StorageKeys.outboxPrefix)) {
      const entry = parseEntry(this.storage.getJson(key));
      if (entry) entries.push(entry);
      else this.storage.remove(key);
    }
    return entries.sort((a, b) => a.createdAt - b.createdAt);
  }

  save(entry: OutboxEntry): void {
    this.storage.set(StorageKeys.outboxPrefix + entry.clientId, JSON.stringify(entry));
  }

  remove(clientId: string): void {
    this.storage.remove(StorageKeys.outboxPrefix + clientId);
  }
}

function parseEntry(value: unknown): OutboxEntry | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (
    typeof v.clientId !== "string" ||
    typeof v.room !== "string" ||
    typeof v.text !== "string" ||
    typeof v.createdAt !== "number"
  ) {
    return null;
  }
  return {
    clientId: v.clientId,
    room: v.room,
    text: v.text,
    createdAt: v.createdAt,
    status: v.status === "failed" ? "failed" : "pending",
    error: typeof v.error === "string" ? v.error : null,
  };
}

/** A random clientId that satisfies the protocol (A-Z a-z 0-9 - _); works outside secure contexts too. */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
