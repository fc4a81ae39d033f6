import type { ChatClient, TransportSocket } from "@chat/client-core";
import { Limits, type RoomSummary, type Session, type SessionLimits } from "@chat/protocol";

/**
 * TEMPORARY BRIDGE, to be replaced by client-core API: what the UI needs from the connection
 * that ChatClient does not expose yet (the session's limits, `rooms:list`). It reads the
 * client's current connection; nothing else in the UI may reach into the client like this.
 */
interface ClientInternals {
  conn: { session: Session | null; socket: TransportSocket } | null;
}

const internals = (client: ChatClient) => client as unknown as ClientInternals;

/** The limits of the current session; the protocol's own until a server has said (protocol 1 servers never do). */
export function sessionLimits(client: ChatClient): Pick<SessionLimits, "maxTextLength"> {
  const limits = internals(client).conn?.session?.limits;
  return { maxTextLength: Math.min(limits?.maxTextLength ?? Limits.textLength, Limits.textLength) };
}

/** `rooms:list` on the current connection. */
export async function listRooms(client: ChatClient, timeoutMs = 5000): Promise<RoomSummary[]> {
  const conn = internals(client).conn;
  if (!conn?.session) throw new Error("not connected");
  const request = conn.socket.request as unknown as (
    event: "rooms:list",
    payload: Record<string, never>,
    timeoutMs: number,
  ) => Promise<{ ok: true; data: { rooms: RoomSummary[] } } | { ok: false; error: { message: string } }>;
  const res = await request.call(conn.socket, "rooms:list", {}, timeoutMs);
  if (!res.ok) throw new Error(res.error.message);
  return res.data.rooms;
}
