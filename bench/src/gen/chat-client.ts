import { performance } from "node:perf_hooks";
import { benchText, eventName, eventPayload } from "../lean/frames.js";
import { type LeanError, LeanSocket } from "../lean/socket.js";
import type { ClientReport, Kind } from "./messages.js";

interface Message {
  seq: number;
  clientId: string;
  text: string;
}
interface AckBody {
  ok: boolean;
  data?: Message & { messages?: Message[]; cursor?: number; trimmed?: boolean };
  error?: { code: string; retryAfterMs?: number };
}

export interface ChatClientOptions {
  kind: Kind;
  gen: number;
  index: number;
  room: string;
  /** The "load balancer": a URL among the pods that are ready now. */
  pickUrl: () => string;
  /** A delivery of a message sent by this process: its delay on this process' clock. */
  onDelay: (ms: number) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const parseAckBody = (body: string) => (JSON.parse(body) as [AckBody])[0];

/**
 * A chat user in the rollout scenario. `ours` behaves like our client library: an outbox that
 * retries with the same clientId until acknowledged, a per-room cursor with gap filling, and
 * make-before-break handover on `server:draining`. `stock` behaves like a socket.io-client app:
 * it reconnects with socket.io-client's default backoff (1 s × 2^n, ±50 %, max 5 s), buffers
 * emits while disconnected, re-joins its room, and neither retries nor dedupes.
 */
export class ChatClient {
  private active: LeanSocket | undefined;
  private token: string | undefined;
  private cursor = 0;
  private readonly seqs = new Set<number>();
  private readonly shown = new Map<string, number>();
  private readonly sent: string[] = [];
  private readonly outbox: { clientId: string; text: string }[] = [];
  private readonly gaps: number[] = [];
  private readonly errors: string[] = [];
  private downSince: number | undefined;
  private connections = 0;
  private handovers = 0;
  private rawRedeliveries = 0;
  private recoveredBySync = 0;
  private nextId = 0;
  private flushing = false;
  private filling = false;
  private handingOver = false;
  private reconnecting = false;
  private inflight: Promise<unknown> | undefined;
  private closed = false;
  /** Cookies the server (an ingress) set, sent back on every later connect, like a browser's jar. */
  private readonly cookies = new Map<string, string>();

  constructor(private readonly opts: ChatClientOptions) {}

  async start() {
    const sock = await this.open(this.opts.pickUrl());
    this.adopt(sock);
  }

  /** The app sends a message: ours queues it in the outbox, stock emits (or buffers while down). */
  send(pad: string) {
    const clientId = `g${this.opts.gen}c${this.opts.index}m${this.nextId++}`.padEnd(8, "0");
    const text = benchText(this.opts.gen, performance.now(), pad);
    this.sent.push(clientId);
    this.outbox.push({ clientId, text });
    void this.flush();
  }

  get pending() {
    return this.outbox.length;
  }

  /** End of run (ours): one more join from the cursor, as the next message or reconnect would do. */
  async sync() {
    if (this.opts.kind !== "ours" || !this.active?.connected) return;
    const before = this.shown.size;
    try {
      await this.join(this.active, this.cursor);
    } catch (err) {
      this.errors.push(`sync: ${(err as Error).message}`);
    }
    this.recoveredBySync += this.shown.size - before;
  }

  report(): ClientReport {
    return {
      room: this.opts.room,
      sent: this.sent,
      unacked: this.outbox.length,
      shown: Object.fromEntries(this.shown),
      rawRedeliveries: this.rawRedeliveries,
      recoveredBySync: this.recoveredBySync,
      gaps: this.downSince === undefined ? this.gaps : [...this.gaps, Date.now() - this.downSince],
      connections: this.connections,
      handovers: this.handovers,
      cookies: [...this.cookies.keys()],
      errors: this.errors.slice(0, 5),
    };
  }

  close() {
    this.closed = true;
    this.active?.terminate();
  }

  // -- connections ------------------------------------------------------------------------

  /** Connect and join the room (with `since` for ours); the socket is usable when this resolves. */
  private async open(url: string): Promise<LeanSocket> {
    const auth = this.opts.kind === "ours" && this.token ? { token: this.token } : { name: `u${this.opts.index}` };
    const sock = await LeanSocket.connect({
      url,
      auth,
      timeoutMs: 5000,
      onEvent: (frame, s) => this.onEvent(s, frame),
      ...(this.cookies.size > 0
        ? { headers: { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ") } }
        : {}),
      onSetCookie: (cookies) => {
        for (const c of cookies) {
          const pair = c.split(";", 1)[0] ?? "";
          const eq = pair.indexOf("=");
          if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
        }
      },
    });
    try {
      await this.join(sock, this.opts.kind === "ours" && this.connections > 0 ? this.cursor : undefined);
    } catch (err) {
      sock.terminate();
      throw err;
    }
    return sock;
  }

  private adopt(sock: LeanSocket) {
    this.active = sock;
    this.connections++;
    if (this.downSince !== undefined) {
      this.gaps.push(Date.now() - this.downSince);
      this.downSince = undefined;
    }
    sock.onClose = () => {
      if (sock !== this.active || this.closed) return;
      this.downSince ??= Date.now();
      void this.reconnect();
    };
    void this.flush();
  }

  private async reconnect() {
    if (this.reconnecting || this.closed) return;
    this.reconnecting = true;
    try {
      for (let attempt = 0; !this.closed; attempt++) {
        // ours: quick retries (the other pods are up); stock: socket.io-client's default backoff.
        const wait =
          this.opts.kind === "ours"
            ? Math.min(50 * 2 ** attempt, 1000)
            : Math.min(1000 * 2 ** attempt, 5000) * (0.5 + Math.random());
        await sleep(wait);
        try {
          this.adopt(await this.open(this.opts.pickUrl()));
          return;
        } catch (err) {
          this.errors.push(`reconnect: ${(err as LeanError).code ?? (err as Error).message}`);
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  /** ours: make-before-break. Open the new connection, re-join with `since`, switch, then close the old one. */
  private async handover(from: LeanSocket, deadline: number) {
    if (this.handingOver || this.opts.kind !== "ours") return;
    this.handingOver = true;
    try {
      let backoff = 50;
      while (!this.closed && this.active === from && !from.closed) {
        try {
          const next = await this.open(this.opts.pickUrl());
          if (this.active !== from) {
            next.close();
            return;
          }
          this.handovers++;
          this.adopt(next);
          // Let a send already written on the old connection get its ack there first.
          if (this.inflight) await Promise.race([this.inflight.catch(() => {}), sleep(1000)]);
          from.close();
          return;
        } catch (err) {
          this.errors.push(`handover: ${(err as LeanError).code ?? (err as Error).message}`);
          if (Date.now() > deadline) return; // the old socket will be closed: the reconnect path takes over
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 1000);
        }
      }
    } finally {
      this.handingOver = false;
    }
  }

  // -- events -----------------------------------------------------------------------------

  private onEvent(sock: LeanSocket, frame: string) {
    const name = eventName(frame);
    if (name === "message") this.learn(eventPayload<Message>(frame), sock);
    else if (name === "session") this.token = eventPayload<{ token: string }>(frame).token;
    else if (name === "server:draining") {
      const { deadline } = eventPayload<{ deadline: number }>(frame);
      if (sock === this.active) void this.handover(sock, deadline);
    }
  }

  private learn(m: Message, via: LeanSocket | undefined) {
    if (this.opts.kind === "ours") {
      if (this.seqs.has(m.seq)) {
        this.rawRedeliveries++;
        return;
      }
      this.seqs.add(m.seq);
      while (this.seqs.has(this.cursor + 1)) this.cursor++;
      if (m.seq > this.cursor + 1 && !this.filling && via && via === this.active) void this.fill(via);
    }
    this.shown.set(m.clientId, (this.shown.get(m.clientId) ?? 0) + 1);
    if (m.text.startsWith(`b:${this.opts.gen}:`)) {
      const sentMs = Number(m.text.split(":")[2]);
      this.opts.onDelay(performance.now() - sentMs);
    }
  }

  private async fill(sock: LeanSocket) {
    this.filling = true;
    try {
      await this.join(sock, this.cursor);
    } catch (err) {
      this.errors.push(`fill: ${(err as Error).message}`);
    } finally {
      this.filling = false;
    }
  }

  private async join(sock: LeanSocket, since: number | undefined) {
    const req = since === undefined ? { room: this.opts.room } : { room: this.opts.room, since };
    const res = parseAckBody(await sock.request("room:join", req, 5000));
    if (!res.ok || !res.data) throw new Error(`join: ${res.error?.code ?? "failed"}`);
    if (this.opts.kind !== "ours") return;
    const { messages = [], cursor = 0, trimmed } = res.data;
    if (since === undefined || trimmed) {
      // First join (or history trimmed): start from the room's latest seq; older messages are not ours to count.
      for (const m of messages) this.seqs.add(m.seq);
      this.cursor = Math.max(this.cursor, trimmed ? (messages[0]?.seq ?? cursor + 1) - 1 : cursor);
      if (since === undefined) return;
    }
    for (const m of messages) this.learn(m, undefined);
  }

  // -- sending ----------------------------------------------------------------------------

  private async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.outbox.length > 0 && !this.closed) {
        const sock = this.active;
        if (!sock?.connected) return;
        const item = this.outbox[0] as { clientId: string; text: string };
        if (this.opts.kind !== "ours") {
          // stock: emit and forget (the app shows the broadcast, which includes the sender); a
          // packet written into a closing socket is simply gone.
          this.outbox.shift();
          sock.emit("message:send", { room: this.opts.room, text: item.text, clientId: item.clientId });
          continue;
        }
        let res: AckBody | undefined;
        try {
          this.inflight = sock.request("message:send", {
            room: this.opts.room,
            text: item.text,
            clientId: item.clientId,
          });
          res = parseAckBody((await this.inflight) as string);
        } catch {
          // No ack (connection lost or slow): retry with the same clientId; the server dedupes.
        }
        if (res?.ok && res.data) {
          this.outbox.shift();
          this.learn(res.data, undefined);
        } else {
          if (res?.error) this.errors.push(`send: ${res.error.code}`);
          await sleep(res?.error?.retryAfterMs ?? 100);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
