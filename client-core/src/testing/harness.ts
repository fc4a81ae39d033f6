import { vi } from "vitest";
import { ChatClient } from "../chat-client.js";
import type { ChatState } from "../state.js";
import { type KeyValueStorage, MemoryStorage } from "../storage.js";
import type { Timing } from "../timing.js";
import { FakeServer } from "./fake-server.js";

/** Short timeouts so that tests exercise the same paths quickly under fake timers. */
export const testTiming: Partial<Timing> = {
  ackTimeoutMs: 1_000,
  gapFillDelayMs: 50,
  retryBaseMs: 100,
  retryMaxMs: 1_000,
};

export interface Harness {
  server: FakeServer;
  storage: KeyValueStorage;
  client: ChatClient;
  state: () => ChatState;
  /** Every status change, in order (clear it to watch from a point on). */
  statusChanges: string[];
}

/** A client over a fake server; pass the storage of an earlier harness to simulate a page reload. */
export function createHarness(options: { server?: FakeServer; storage?: KeyValueStorage } = {}): Harness {
  const server = options.server ?? new FakeServer();
  const storage = options.storage ?? new MemoryStorage();
  let ids = 0;
  const client = new ChatClient({
    createSocket: server.factory,
    storage,
    timing: testTiming,
    newClientId: () => `client-${Date.now()}-${++ids}`,
  });
  const statusChanges: string[] = [];
  let last = client.getState().status;
  client.subscribe(() => {
    const { status } = client.getState();
    if (status !== last) statusChanges.push(status);
    last = status;
  });
  return { server, storage, client, state: client.getState, statusChanges };
}

/** Let `ms` of fake time pass, running timers and the promises they settle. */
export async function advance(ms = 20): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/** Advance fake time until `condition` holds; fail with `what` if it does not within `limitMs`. */
export async function until(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited >= limitMs) throw new Error(`timed out after ${limitMs} ms waiting for: ${what}`);
    await vi.advanceTimersByTimeAsync(5);
  }
}

/** Connect as `name`, join `rooms` and wait until every join has answered. */
export async function connectAndJoin(h: Harness, name: string, rooms: string[]): Promise<void> {
  h.client.setName(name);
  h.client.start();
  for (const room of rooms) h.client.joinRoom(room);
  await until(() => h.state().status === "connected", "connected");
  await until(() => rooms.every((r) => h.state().rooms[r]?.loaded), "rooms loaded");
}

/** The seqs shown in a room, in order. */
export function seqs(h: Harness, room: string): number[] {
  return (h.state().rooms[room]?.messages ?? []).map((m) => m.seq);
}

/** Await a client promise under fake timers: time advances until it settles. */
export async function settle<T>(promise: Promise<T>, what = "an answer"): Promise<T> {
  let result: { value: T } | null = null;
  void promise.then((value) => {
    result = { value };
  });
  await until(() => result !== null, what);
  return (result as unknown as { value: T }).value;
}
