import type { ChatMessage, Response, RoomSummary } from "@chat/protocol";
import type { Conn } from "./conn.js";
import { describeError } from "./errors.js";
import type { Refusal } from "./input.js";
import type { RequestEvent, RequestPayload } from "./transport.js";

/** A request the user asked for failed (not connected, timed out, or refused by the server). */
export class RequestError extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

const offline: Refusal = { code: "offline", message: "Not connected; try again once the connection is back." };

/** One request on `conn`, its error answer or transport failure turned into a `RequestError`. */
export async function ask<E extends RequestEvent, T>(
  conn: Conn | null,
  event: E,
  payload: RequestPayload<E>,
  timeoutMs: number,
): Promise<T> {
  if (!conn?.session) throw new RequestError(offline);
  let res: Response<T>;
  try {
    res = (await conn.socket.request(event, payload, timeoutMs)) as Response<T>;
  } catch {
    throw new RequestError({ code: "offline", message: "No answer from the server; try again." });
  }
  if (!res.ok) throw new RequestError({ code: res.error.code, message: describeError(res.error) });
  return res.data;
}

/** `rooms:list`. */
export const listRooms = (conn: Conn | null, timeoutMs: number) =>
  ask<"rooms:list", { rooms: RoomSummary[] }>(conn, "rooms:list", {}, timeoutMs).then((d) => d.rooms);

/** `message:edit` or `message:delete`: the message's new state. */
export const revise = (conn: Conn | null, room: string, id: string, text: string | null, timeoutMs: number) =>
  text === null
    ? ask<"message:delete", ChatMessage>(conn, "message:delete", { room, id }, timeoutMs)
    : ask<"message:edit", ChatMessage>(conn, "message:edit", { room, id, text }, timeoutMs);

/** Run a user's request: null when it worked, its `Refusal` when it did not. */
export async function attempt<T>(request: Promise<T>, then: (value: T) => void): Promise<Refusal | null> {
  try {
    then(await request);
    return null;
  } catch (err) {
    if (err instanceof RequestError) return err.refusal;
    throw err;
  }
}
