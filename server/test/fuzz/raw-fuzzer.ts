import { type Socket, connect as tcpConnect } from "node:net";
import { WebSocket } from "ws";
import { type Case, makeCase, prng } from "./cases.js";

export interface FuzzOptions {
  cases: number;
  seed: number;
  concurrency: number;
  /** The server's MAX_PAYLOAD_BYTES, to build frames just over it. */
  maxPayload: number;
  /** Connections opened and left without a Socket.IO connect, and slow HTTP requests held open. */
  halfOpen: number;
  slowloris: number;
  /** Bound on the whole run. */
  timeoutMs: number;
}

export interface FuzzReport {
  cases: number;
  byKind: Record<string, number>;
  connections: number;
  closedByServer: number;
  handshakeFailures: number;
  /** How the server ended connections (1005: no status, after a protocol error; 1009: too big). */
  closeCodes: Record<number, number>;
  /** Cases after which a live connection did not answer within 5 s (a hung server). */
  probeTimeouts: number;
  durationMs: number;
}

let probeId = 1_000_000_000;

function probe(ws: WebSocket, id: number): Promise<"answered" | "closed" | "timeout"> {
  return new Promise((resolve) => {
    if (ws.readyState !== WebSocket.OPEN) return resolve("closed");
    const finish = (outcome: "answered" | "closed" | "timeout") => {
      clearTimeout(timer);
      ws.off("message", onMessage);
      ws.off("close", onClose);
      resolve(outcome);
    };
    const onMessage = (data: unknown) => {
      if (String(data).startsWith(`43${id}`)) finish("answered");
    };
    const onClose = () => finish("closed");
    const timer = setTimeout(() => finish("timeout"), 5000);
    ws.on("message", onMessage);
    ws.on("close", onClose);
    ws.send(`42${id}["room:leave",{"room":"probe"}]`);
  });
}

/** Open a raw Engine.IO websocket and complete a Socket.IO connect; resolves with the socket. */
function open(base: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
    const timer = setTimeout(() => fail(new Error("handshake timeout")), 5000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    ws.on("error", fail);
    ws.on("close", () => fail(new Error("closed during handshake")));
    ws.on("message", (data) => {
      const text = data.toString();
      if (text === "2") ws.send("3");
      else if (text.startsWith("0")) ws.send('40{"name":"fuzzer"}');
      else if (text.startsWith("40")) {
        clearTimeout(timer);
        ws.removeAllListeners("close");
        ws.removeAllListeners("error");
        ws.on("error", () => {});
        ws.on("message", (d) => d.toString() === "2" && ws.send("3"));
        resolve(ws);
      } else if (text.startsWith("44")) fail(new Error(`connect refused: ${text}`));
    });
  });
}

/** Send `opts.cases` hostile cases over raw connections; the caller checks the server afterwards. */
export async function fuzz(base: string, opts: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const report: FuzzReport = {
    cases: 0,
    byKind: {},
    connections: 0,
    closedByServer: 0,
    handshakeFailures: 0,
    probeTimeouts: 0,
    closeCodes: {},
    durationMs: 0,
  };
  const rand = prng(opts.seed);
  let issued = 0;
  const next = (): Case | undefined =>
    issued++ < opts.cases && Date.now() < deadline ? makeCase(rand, opts.maxPayload) : undefined;

  const lingering: (WebSocket | Socket)[] = [];
  for (let i = 0; i < opts.halfOpen; i++) {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
    ws.on("error", () => {});
    lingering.push(ws);
  }
  const url = new URL(base);
  for (let i = 0; i < opts.slowloris; i++) {
    const sock = tcpConnect(Number(url.port), url.hostname);
    sock.on("error", () => {});
    sock.write("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n");
    lingering.push(sock);
  }

  const worker = async () => {
    for (let c = next(); c; ) {
      let ws: WebSocket;
      try {
        ws = await open(base);
        report.connections++;
      } catch {
        report.handshakeFailures++;
        if (Date.now() > deadline) return;
        continue;
      }
      let closed = ws.readyState !== WebSocket.OPEN;
      ws.on("close", (code) => {
        closed = true;
        report.closeCodes[code] = (report.closeCodes[code] ?? 0) + 1;
      });
      // Several cases per connection, until the server hangs up on one.
      for (; c && !closed; c = next()) {
        report.cases++;
        report.byKind[c.kind] = (report.byKind[c.kind] ?? 0) + 1;
        for (const frame of c.frames) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
        // An acked event after the case: the server reads a connection's frames in order, so
        // its answer (or the connection closing) means the case was fully processed.
        const outcome = await probe(ws, ++probeId);
        if (outcome === "timeout") report.probeTimeouts++;
        if (outcome === "closed") closed = true;
      }
      if (closed) report.closedByServer++;
      else ws.terminate();
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  for (const l of lingering) l instanceof WebSocket ? l.terminate() : l.destroy();
  report.durationMs = Date.now() - started;
  return report;
}
