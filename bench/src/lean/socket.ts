/**
 * The lean Socket.IO client (Engine.IO v4 frames over raw `ws`) of the fan-out and capacity
 * measurements ONLY: socket.io-client's own CPU, on the same cores as the servers, would distort
 * their deliveries-per-server-CPU figures. It has no outbox, resume or handover and must not
 * grow them: the rollout, which proves delivery, runs the shipped client core (../gen/chat/).
 */
import WebSocket from "ws";
import { connectFrame, Eio, eventFrame, parseAck, Sio, SOCKET_PATH } from "./frames.js";

export interface LeanOptions {
  /** `http://127.0.0.1:port` of a pod (or an ingress). */
  url: string;
  auth: Record<string, unknown>;
  timeoutMs?: number;
  /** Offer permessage-deflate like a browser does (default false: the servers have it off anyway). */
  deflate?: boolean;
  /**
   * Every event frame from the start: the server's first events (our `session`) can arrive in the
   * same TCP read as the CONNECT ack, before the caller's `await connect()` continues.
   */
  onEvent?: (frame: string, sock: LeanSocket) => void;
  /** Extra request headers on the upgrade (a browser's `Cookie`, e.g. the ingress's `SERVERID`). */
  headers?: Record<string, string>;
  /** The upgrade response's `Set-Cookie` headers (an ingress's affinity cookie), as a browser would see them. */
  onSetCookie?: (cookies: string[]) => void;
}

export class LeanError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

type Waiter = { resolve: (body: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout };

/**
 * One Socket.IO connection over a raw `ws` WebSocket: enough of Engine.IO v4 / Socket.IO v5 to
 * connect with auth, answer pings, send events with or without acks and hand every incoming event
 * frame, unparsed, to `onEvent`. Costs a fraction of socket.io-client per received message.
 */
export class LeanSocket {
  onEvent: (frame: string) => void = () => {};
  onClose: (reason: string) => void = () => {};
  connected = false;
  closed = false;
  private readonly ws: WebSocket;
  private nextAck = 0;
  private readonly acks = new Map<number, Waiter>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
  }

  /** Open, send the CONNECT with auth and resolve once the server accepted it. */
  static connect(opts: LeanOptions): Promise<LeanSocket> {
    const ws = new WebSocket(`${opts.url.replace(/^http/, "ws")}${SOCKET_PATH}`, {
      perMessageDeflate: opts.deflate ?? false,
      skipUTF8Validation: true,
      handshakeTimeout: opts.timeoutMs ?? 10_000,
      ...(opts.headers ? { headers: opts.headers } : {}),
    });
    const sock = new LeanSocket(ws);
    const onEvent = opts.onEvent;
    if (onEvent) sock.onEvent = (frame) => onEvent(frame, sock);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: LeanError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new LeanError("connect timeout", "timeout")), opts.timeoutMs ?? 10_000);
      const onSetCookie = opts.onSetCookie;
      if (onSetCookie)
        ws.on("upgrade", (res) => {
          const cookies = res.headers["set-cookie"];
          if (cookies?.length) onSetCookie(cookies);
        });
      ws.on("unexpected-response", (_req, res) => {
        fail(
          new LeanError(`HTTP ${res.statusCode}`, res.statusCode === 503 ? "unavailable" : `http_${res.statusCode}`),
        );
      });
      ws.on("error", (err) => fail(new LeanError(err.message, (err as NodeJS.ErrnoException).code ?? "error")));
      ws.on("close", () => {
        fail(new LeanError("closed during connect", "closed"));
        sock.handleClose("transport close");
      });
      ws.on("message", (data: Buffer) => {
        const frame = data.toString();
        const type = frame.charCodeAt(0);
        if (type === Eio.Message) {
          const sio = frame.charCodeAt(1);
          if (sio === Sio.Event) sock.onEvent(frame);
          else if (sio === Sio.Ack) sock.handleAck(frame);
          else if (sio === Sio.Connect) {
            sock.connected = true;
            if (!settled) {
              settled = true;
              clearTimeout(timer);
              resolve(sock);
            }
          } else if (sio === Sio.ConnectError) fail(new LeanError(frame.slice(2), "connect_error"));
          else if (sio === Sio.Disconnect) sock.terminate();
        } else if (type === Eio.Ping) ws.send("3");
        else if (type === Eio.Open) ws.send(connectFrame(opts.auth));
        else if (type === Eio.Close) sock.terminate();
      });
    });
  }

  /** Fire and forget. */
  emit(event: string, payload: unknown) {
    if (!this.closed) this.ws.send(eventFrame(event, payload));
  }

  /** Send with an ack id; resolves with the ack's JSON array text (`[{"ok":true,…}]`). */
  request(event: string, payload: unknown, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new LeanError("socket closed", "closed"));
        return;
      }
      const id = this.nextAck++;
      const timer = setTimeout(() => {
        this.acks.delete(id);
        reject(new LeanError(`${event}: no ack in ${timeoutMs} ms`, "timeout"));
      }, timeoutMs);
      this.acks.set(id, { resolve, reject, timer });
      this.ws.send(eventFrame(event, payload, id));
    });
  }

  /** Send a pre-built frame (a sender re-using a template). */
  sendRaw(frame: string) {
    if (!this.closed) this.ws.send(frame);
  }

  close() {
    if (this.closed) return;
    try {
      this.ws.send("41");
    } catch {}
    this.ws.close();
    this.handleClose("client close");
  }

  /** Drop the TCP connection at once (no close handshake): for teardown of thousands. */
  terminate() {
    this.ws.terminate();
    this.handleClose("terminated");
  }

  private handleAck(frame: string) {
    const ack = parseAck(frame);
    if (!ack) return;
    const waiter = this.acks.get(ack.id);
    if (!waiter) return;
    this.acks.delete(ack.id);
    clearTimeout(waiter.timer);
    waiter.resolve(ack.body);
  }

  private handleClose(reason: string) {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    for (const w of this.acks.values()) {
      clearTimeout(w.timer);
      w.reject(new LeanError(`socket closed (${reason})`, "closed"));
    }
    this.acks.clear();
    this.onClose(reason);
  }
}
