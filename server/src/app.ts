import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { ErrorCode, PROTOCOL_VERSION, type RefusalBody } from "@chat/protocol";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import cors from "cors";
import { Server as Engine } from "engine.io";
import { Server } from "socket.io";
import type { Config } from "./config.js";
import { createMetrics } from "./http/metrics.js";
import { originAllowed } from "./http/origin.js";
import { hasSid } from "./http/query.js";
import { adminRoutes, publicRoutes } from "./http/routes.js";
import { Drainer } from "./lifecycle/drain.js";
import { Lifecycle } from "./lifecycle/lifecycle.js";
import { Tasks } from "./lifecycle/tasks.js";
import type { Logger } from "./logger.js";
import { authenticate } from "./realtime/auth.js";
import { createChatHandlers } from "./realtime/chat-handlers.js";
import { instrumentDeliveries } from "./realtime/delivery-metrics.js";
import { PresenceTracker } from "./realtime/presence.js";
import { clientIp, RateLimits } from "./realtime/rate-limits.js";
import { SessionTokens } from "./realtime/session-token.js";
import { guardSlowConsumers } from "./realtime/slow-consumers.js";
import type { ChatServer } from "./realtime/types.js";
import type { RedisConnections } from "./stores/redis-connection.js";
import { roomLister } from "./stores/room-directory.js";
import type { Stores } from "./stores/types.js";

export interface AppDeps {
  config: Config;
  log: Logger;
  stores: Stores;
  /** Absent in embedded mode: in-memory stores and the in-memory adapter, one pod. */
  redis?: RedisConnections;
}

export interface App {
  io: ChatServer;
  lifecycle: Lifecycle;
  /** Bind both ports; resolves with the ports actually bound (0 picks free ones). */
  listen(): Promise<{ port: number; adminPort: number }>;
  /** Start the graceful drain (idempotent); resolves when every client is gone. */
  drain(): Promise<void>;
  /** Resolves when a drain, however started (signal or /drain), has finished. */
  drained: Promise<void>;
  /** Close servers, timers and Redis. */
  close(): Promise<void>;
}

const SOCKET_PATH = "/socket.io/";

function destroySelf(this: Duplex) {
  this.destroy();
}

/**
 * engine.io gives its middlewares a stand-in response for each upgrade, and that stand-in listens
 * for the socket's "close" (for middlewares waiting for a response to end) while holding the
 * handshake request: the IncomingMessage, its raw headers and parser state stay alive for the
 * connection's whole life, even after `conn.request = null` (stock Socket.IO keeps them too).
 * Our only engine middleware (CORS) never waits for that "close", so the listener, the first
 * one engine.io adds during the upgrade, is dropped and the request can be collected.
 */
function releaseUpgradeResponse(socket: Duplex, closeListenersBefore: number) {
  const added = socket.rawListeners("close")[closeListenersBefore];
  if (typeof added === "function") socket.removeListener("close", added as () => void);
}

/** One chat pod: HTTP routes, the Socket.IO server behind a readiness gate, and the drain. */
export function createApp({ config, log, stores, redis }: AppDeps): App {
  const lifecycle = new Lifecycle(
    { maxConnections: config.MAX_CONNECTIONS, lowWater: config.MAX_CONNECTIONS_LOW_WATER },
    redis !== undefined,
  );
  lifecycle.on("change", (r) => log.info({ readiness: r }, `readiness: ${r.ready ? "ready" : r.reasons.join(",")}`));
  const metrics = createMetrics(lifecycle);
  const tokens = new SessionTokens(config.SESSION_SECRET, config.SESSION_TTL_MS);
  const tasks = new Tasks();
  const limits = new RateLimits(config, redis?.client);

  const engine = new Engine({
    pingInterval: config.PING_INTERVAL_MS,
    pingTimeout: config.PING_TIMEOUT_MS,
    maxHttpBufferSize: config.MAX_PAYLOAD_BYTES,
    perMessageDeflate: false,
    allowRequest: (req, callback) => {
      const allowed = originAllowed(req, config.ALLOWED_ORIGINS);
      if (!allowed) metrics.handshakes.inc({ result: "refused", reason: "origin" });
      callback(allowed ? null : "origin not allowed", allowed);
    },
  });
  // CORS for the HTTP (long-polling) requests only: engine.io's own `cors` option would run it, and
  // a middleware chain, for every WebSocket upgrade too, where browsers apply no CORS (Origin is
  // checked by allowRequest) and the headers only cost CPU per handshake.
  const corsHeaders = cors({
    origin: config.ALLOWED_ORIGINS.includes("*") ? true : config.ALLOWED_ORIGINS,
    credentials: true,
  });
  const io: ChatServer = new Server({
    serveClient: false,
    adapter: redis ? createShardedAdapter(redis.client, redis.subscriber, { subscriptionMode: "dynamic" }) : undefined,
  });
  io.bind(engine as never);
  // A plain `on` with a function made once: `once` would add a wrapper and a closure per connection,
  // and engine.io emits "close" once per connection anyway.
  const connectionClosed = () => lifecycle.connectionClosed();
  engine.on("connection", (conn: { on(event: "close", fn: () => void): void }) => {
    lifecycle.connectionOpened();
    metrics.countAccepted();
    conn.on("close", connectionClosed);
  });

  const presence = new PresenceTracker(
    io,
    stores.presence,
    log,
    Math.max(200, Math.floor(config.PRESENCE_TTL_MS / 3)),
    config.PRESENCE_LIST_MAX,
  );
  const drainer = new Drainer(io, lifecycle, tasks, config, log);
  const listRooms = roomLister(stores.rooms, stores.presence, config.PRESENCE_TTL_MS);
  const chat = createChatHandlers({
    io,
    messages: stores.messages,
    presence,
    listRooms,
    tokens,
    config,
    log,
    metrics,
    tasks,
    limits,
    storeUp: () => redis?.isUp() ?? true,
  });
  io.use(authenticate(tokens));
  io.on("connection", (socket) => {
    // The handshake's HTTP request is kept by engine.io for the connection's whole life (the Socket.IO
    // docs' memory tip); everything needed from it (the address, socket.handshake) is taken by now.
    (socket.conn as unknown as { request: unknown }).request = null;
    chat.attach(socket);
    if (drainer.draining) drainer.notifyLate(socket);
  });
  instrumentDeliveries(io, metrics, log);
  const slowConsumers = guardSlowConsumers(io, config, log, metrics);
  redis?.watch((up) => lifecycle.setRedisUp(up));

  const isHandshake = (url: string) => !hasSid(url);
  /**
   * The handshake gate: a pod that is starting, full or draining answers 503 (load balancers retry
   * elsewhere); an address opening connections too fast gets 429. Requests of existing sessions pass.
   */
  const gate = async (
    req: IncomingMessage,
  ): Promise<{ status: number; body: RefusalBody; retryAfterMs: number } | null> => {
    if (!isHandshake(req.url ?? "/")) return null;
    const refusal = lifecycle.refusal();
    if (refusal) return { status: 503, body: refusal, retryAfterMs: 1000 };
    const verdict = await limits.connection(clientIp(req, config.TRUST_PROXY_HOPS));
    if (verdict.ok) return null;
    const message = `too many connections from your address; retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s`;
    return { status: 429, body: { code: ErrorCode.RateLimited, message }, retryAfterMs: verdict.retryAfterMs };
  };
  const refusalResponse = (r: { status: number; body: RefusalBody; retryAfterMs: number }) => {
    metrics.handshakes.inc({ result: "refused", reason: r.body.code });
    return {
      body: JSON.stringify({ error: r.body }),
      headers: {
        "Content-Type": "application/json",
        "Retry-After": String(Math.ceil(r.retryAfterMs / 1000)),
        "Cache-Control": "no-store",
      },
    };
  };

  const identity = { pod: config.POD_NAME, mode: config.mode, replicasAck: () => redis?.replicasAck() ?? 0 };
  const app = publicRoutes(lifecycle, identity, config.CLIENT_DIR);
  const server: HttpServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/";
    if (!url.startsWith(SOCKET_PATH)) return app(req, res);
    void gate(req).then(
      (refused) => {
        if (!refused) return corsHeaders(req, res, () => engine.handleRequest(req as never, res as never));
        const { body, headers } = refusalResponse(refused);
        res.writeHead(refused.status, headers);
        res.end(body);
      },
      (err: unknown) => {
        log.error({ err }, "handshake gate failed");
        res.destroy();
      },
    );
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? "/";
    if (!url.startsWith(SOCKET_PATH)) return socket.destroy();
    // Node drops its own error handler from an upgraded socket: without this, a client that resets
    // the connection while the gate awaits Redis would crash the process (unhandled 'error'). A
    // shared function, not a closure here: this listener lives as long as the connection, and a
    // closure would share this scope and keep `req` (the whole handshake request) alive with it.
    socket.on("error", destroySelf);
    void gate(req).then(
      (refused) => {
        if (!refused) {
          const closeListeners = socket.listenerCount("close");
          engine.handleUpgrade(req as never, socket as never, head);
          releaseUpgradeResponse(socket, closeListeners);
          // ws has its own error handler on the socket once it has taken it over; ours is then a
          // second listener (a listener array) for the connection's life.
          if (socket.listenerCount("error") > 1) socket.removeListener("error", destroySelf);
          return;
        }
        const { body, headers } = refusalResponse(refused);
        const lines = Object.entries({
          ...headers,
          Connection: "close",
          "Content-Length": String(Buffer.byteLength(body)),
        });
        const reason = refused.status === 503 ? "Service Unavailable" : "Too Many Requests";
        socket.end(
          `HTTP/1.1 ${refused.status} ${reason}\r\n${lines.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n${body}`,
        );
      },
      (err: unknown) => {
        log.error({ err }, "handshake gate failed");
        socket.destroy();
      },
    );
  });
  // Long-lived sockets must not be cut by Node's request timeouts; Socket.IO pings detect dead peers.
  server.requestTimeout = 0;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 65_000;

  let drainStarted: { deadline: number } | undefined;
  let markDrained: () => void = () => {};
  const drained = new Promise<void>((resolve) => {
    markDrained = resolve;
  });
  const drain = () => {
    const done = drainer.start();
    drainStarted ??= { deadline: drainer.startedAt + config.SHUTDOWN_TIMEOUT_MS };
    void done.then(markDrained);
    return done;
  };
  const admin = createServer(
    adminRoutes(lifecycle, metrics, identity, async (delayMs) => {
      lifecycle.stop();
      if (delayMs > 0 && !drainer.draining) await new Promise((r) => setTimeout(r, delayMs));
      void drain();
      return drainStarted ?? { deadline: Date.now() + config.SHUTDOWN_TIMEOUT_MS };
    }),
  );

  const bind = (srv: HttpServer, port: number) =>
    new Promise<number>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(port, config.HOST, () => resolve((srv.address() as AddressInfo).port));
    });

  return {
    io,
    lifecycle,
    async listen() {
      const port = await bind(server, config.PORT);
      const adminPort = await bind(admin, config.ADMIN_PORT);
      presence.start();
      lifecycle.started();
      log.info({ port, adminPort, protocol: PROTOCOL_VERSION, mode: config.mode }, "listening");
      return { port, adminPort };
    },
    drain,
    drained,
    async close() {
      presence.stop();
      clearInterval(slowConsumers);
      lifecycle.close();
      limits.close();
      // local: through the Redis adapter this would disconnect every pod's sockets.
      io.local.disconnectSockets(true);
      engine.close();
      const closed = Promise.all([new Promise((r) => server.close(r)), new Promise((r) => admin.close(r))]);
      server.closeAllConnections();
      admin.closeAllConnections();
      await closed;
      await redis?.close();
    },
  };
}
