/**
 * "stock": the chat the Socket.IO docs describe. Default server options, the sharded Redis
 * adapter on ioredis (the same adapter and mode as our server, for a like-for-like comparison),
 * a plain broadcast handler with an ack, no persistence, no validation, no drain: SIGTERM calls
 * io.close() and exits. Env: PORT, ADMIN_PORT, REDIS_URL.
 */
import { createServer } from "node:http";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";
import { adminServer } from "./admin.js";

const port = Number(process.env.PORT ?? 0);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const pubClient = new Redis(redisUrl);
const subClient = pubClient.duplicate();
const httpServer = createServer();
const io = new Server(httpServer, {
  adapter: createShardedAdapter(pubClient, subClient),
});

io.on("connection", (socket) => {
  const name = String((socket.handshake.auth as { name?: unknown }).name ?? "guest");
  const author = { id: socket.id, name };
  socket.on("room:join", ({ room }: { room: string }, ack?: (res: unknown) => void) => {
    socket.join(room);
    ack?.({ ok: true, data: { room, messages: [], cursor: 0, presence: [], trimmed: false } });
  });
  socket.on(
    "message:send",
    ({ room, text, clientId }: { room: string; text: string; clientId: string }, ack?: (res: unknown) => void) => {
      const message = { id: `${room}:${clientId}`, seq: 0, room, author, text, clientId, ts: Date.now() };
      io.to(room).emit("message", message);
      ack?.({ ok: true, data: message });
    },
  );
});

process.on("SIGTERM", () => {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

adminServer(() => io.engine.clientsCount);
httpServer.listen(port, "127.0.0.1", () => console.log(`stock listening on ${port}`));
