import type { Envelope, Reply } from "./messages.js";

/** A generator process' side of the IPC: each command answered in turn; gone with its parent. */
export function serveCommands<C>(handle: (body: C) => Promise<unknown>): void {
  process.on("message", (msg: Envelope) => {
    handle(msg.body as C).then(
      (result) => process.send?.({ id: msg.id, ok: true, result } satisfies Reply),
      (err: unknown) => process.send?.({ id: msg.id, ok: false, error: String(err) } satisfies Reply),
    );
  });
  process.on("disconnect", () => process.exit(0));
}

/** Run `fn` over `items`, at most `concurrency` at a time. */
export async function inParallel<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, run));
}
