/**
 * The few Engine.IO v4 / Socket.IO v5 text frames a load generator needs, over a raw WebSocket
 * (`/socket.io/?EIO=4&transport=websocket`), main namespace "/" only:
 *
 *   server → `0{"sid",…,"pingInterval","pingTimeout","maxPayload"}`  Engine.IO OPEN
 *   client → `40{auth JSON}`                                          Socket.IO CONNECT with auth
 *   server → `40{"sid":…}` | `44{"message",data}`                     CONNECT ok | CONNECT_ERROR
 *   server → `2`, client → `3`                                        Engine.IO PING / PONG (v4: server pings)
 *   either → `42["event",arg]` | `42<id>["event",arg]`                EVENT (with an ack id)
 *   either → `43<id>[arg]`                                            ACK
 *
 * Engine.IO packet type is the first character (0 open, 1 close, 2 ping, 3 pong, 4 message);
 * a Socket.IO packet is the rest of a type-4 frame (0 connect, 1 disconnect, 2 event, 3 ack, 4 error).
 */

export const SOCKET_PATH = "/socket.io/?EIO=4&transport=websocket";

/** Character codes of the packet types ('0' = 48). */
export const Eio = { Open: 48, Close: 49, Ping: 50, Pong: 51, Message: 52 } as const;
export const Sio = { Connect: 48, Disconnect: 49, Event: 50, Ack: 51, ConnectError: 52 } as const;

export const connectFrame = (auth: unknown) => `40${JSON.stringify(auth)}`;

/** `42["event",payload]`, or `42<id>["event",payload]` when an ack is wanted. */
export const eventFrame = (event: string, payload: unknown, ackId?: number) =>
  `42${ackId === undefined ? "" : ackId}[${JSON.stringify(event)},${JSON.stringify(payload)}]`;

/** Split `43<id>[…]` into the ack id and the JSON array text. */
export function parseAck(frame: string): { id: number; body: string } | undefined {
  let i = 2;
  let id = 0;
  while (i < frame.length) {
    const c = frame.charCodeAt(i);
    if (c < 48 || c > 57) break;
    id = id * 10 + (c - 48);
    i++;
  }
  if (i === 2) return undefined;
  return { id, body: frame.slice(i) };
}

/** The event name of a `42…` frame without parsing the payload (`42["message",{…}]` → "message"). */
export function eventName(frame: string): string | undefined {
  let i = 2;
  while (i < frame.length && frame.charCodeAt(i) !== 91 /* [ */) i++;
  if (frame.charCodeAt(i + 1) !== 34 /* " */) return undefined;
  const end = frame.indexOf('"', i + 2);
  return end < 0 ? undefined : frame.slice(i + 2, end);
}

/** The payload (second array element) of an event frame, parsed. */
export function eventPayload<T>(frame: string): T {
  let i = 2;
  while (i < frame.length && frame.charCodeAt(i) !== 91) i++;
  return (JSON.parse(frame.slice(i)) as [string, T])[1];
}

/**
 * Bench messages carry their origin and send time in the text, so the receiver can measure the
 * delay with the clock of the process that sent it: `b:<gen>:<sendMs>:<pad>`.
 */
export const benchText = (gen: number, sendMs: number, pad: string) => `b:${gen}:${sendMs.toFixed(3)}:${pad}`;

/** From a raw `message` frame: the generator id and send time in its text, without JSON.parse. */
export function readBenchText(frame: string): { gen: number; sentMs: number } | undefined {
  const at = frame.indexOf('"text":"b:');
  if (at < 0) return undefined;
  let i = at + 10;
  let gen = 0;
  for (let c = frame.charCodeAt(i); c >= 48 && c <= 57; c = frame.charCodeAt(++i)) gen = gen * 10 + (c - 48);
  const end = frame.indexOf(":", i + 1);
  if (end < 0) return undefined;
  return { gen, sentMs: Number(frame.slice(i + 1, end)) };
}
