/**
 * "ceiling": what Node can do at best. A raw `ws` server that speaks just enough of the same wire
 * format (Engine.IO open, Socket.IO connect, `room:join` and `message:send` with acks) for the same
 * load generator, and fans out across processes through plain Redis PUBLISH/SUBSCRIBE: the sending
 * process publishes the ready-made text once; every process (itself included) turns it into one
 * WebSocket frame (WebSocket.Sender.frame, as socket.io-adapter does) and writes that same frame to
 * each local socket of the room. No validation, no storage, no ids beyond a counter.
 * Env: PORT, ADMIN_PORT, REDIS_URL.
 */
import { createServer } from "node:http";
import { Redis } from "ioredis";
import * as wsModule from "ws";
import { type WebSocket, WebSocketServer } from "ws";
import { adminServer } from "./admin.js";

const port = Number(process.env.PORT ?? 0);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const pub = new Redis(redisUrl);
const sub = new Redis(redisUrl);
const rooms = new Map<string, Set<WebSocket>>();
let nextId = 0;

// ws internals, as engine.io uses them for pre-encoded broadcast frames (not in @types/ws).
type FrameOptions = { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean };
const Sender = (wsModule as unknown as { Sender: { frame(data: Buffer, opts: FrameOptions): Buffer[] } }).Sender;
type InternalWs = WebSocket & { _sender: { sendFrame(list: Buffer[], cb?: () => void): void } };

sub.on("messageBuffer", (channel: Buffer, payload: Buffer) => {
  const members = rooms.get(channel.toString());
  if (!members) return;
  const frame = Sender.frame(payload, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true });
  for (const ws of members) (ws as InternalWs)._sender.sendFrame(frame);
});

const http = createServer((_req, res) => {
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 1e6 });

wss.on("connection", (ws) => {
  const sid = `c${process.pid}_${nextId++}`;
  const joined = new Set<string>();
  ws.send(`0{"sid":"${sid}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`);
  ws.on("message", (data: Buffer) => {
    const frame = data.toString();
    if (frame.startsWith("40")) {
      ws.send(`40{"sid":"${sid}"}`);
      return;
    }
    if (!frame.startsWith("42")) return;
    let i = 2;
    while (frame.charCodeAt(i) >= 48 && frame.charCodeAt(i) <= 57) i++;
    const ackId = frame.slice(2, i);
    const [event, payload] = JSON.parse(frame.slice(i)) as [string, { room: string; text?: string; clientId?: string }];
    const room = payload.room;
    if (event === "room:join") {
      let members = rooms.get(room);
      if (!members) {
        members = new Set();
        rooms.set(room, members);
        void sub.subscribe(room);
      }
      members.add(ws);
      joined.add(room);
      ws.send(
        `43${ackId}[{"ok":true,"data":{"room":"${room}","messages":[],"cursor":0,"presence":[],"trimmed":false}}]`,
      );
    } else if (event === "message:send") {
      const body = JSON.stringify({
        id: `${room}:${payload.clientId}`,
        seq: 0,
        room,
        author: { id: sid, name: "bench" },
        text: payload.text,
        clientId: payload.clientId,
        ts: Date.now(),
      });
      void pub.publish(room, `42["message",${body}]`);
      if (ackId) ws.send(`43${ackId}[{"ok":true,"data":${body}}]`);
    }
  });
  ws.on("close", () => {
    for (const room of joined) rooms.get(room)?.delete(ws);
  });
});

process.on("SIGTERM", () => process.exit(0));
adminServer(() => wss.clients.size);
http.listen(port, "127.0.0.1", () => console.log(`ceiling listening on ${port}`));
