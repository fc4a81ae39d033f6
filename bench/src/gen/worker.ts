/**
 * A load-generator process (forked by the orchestrator, driven over IPC). Holds many lean
 * connections; in fan-out mode it sends at a fixed rate and measures the delivery delay of its
 * own messages on its own clock; in chat mode it runs ChatClients for the rollout scenario.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { PRESENCE_DELTA_PROTOCOL } from "@chat/protocol";
import { benchText, readBenchText } from "../lean/frames.js";
import { LeanSocket } from "../lean/socket.js";
import { ChatClient } from "./chat-client.js";
import { encodeHistogram, type Histogram, newHistogram, recordMs } from "./hist.js";
import type {
  ChatReport,
  ChatSendCmd,
  ChatStartCmd,
  Command,
  ConnectCmd,
  ConnectResult,
  Envelope,
  JoinCmd,
  JoinResult,
  LoadCmd,
  Reply,
  WindowResult,
} from "./messages.js";

let gen = 0;
const subs: LeanSocket[] = [];
const senders: LeanSocket[] = [];
let received = 0;
let otherEvents = 0;
/** Bytes of those other events (frames as received): presence traffic, in the join scenarios. */
let otherBytes = 0;
let sent = 0;
let acked = 0;
let ackFailed = 0;
let latency = newHistogram();
let windowStart = performance.now();
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();

function onFrame(frame: string) {
  // `42["message",…`: count it; time it when this process sent it.
  if (frame.charCodeAt(4) === 109 /* m */ && frame.startsWith('42["message"')) {
    received++;
    const b = readBenchText(frame);
    if (b && b.gen === gen) recordMs(latency, performance.now() - b.sentMs);
  } else {
    otherEvents++;
    otherBytes += frame.length;
  }
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, run));
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};

async function connect(c: ConnectCmd): Promise<ConnectResult> {
  const started = performance.now();
  const times: number[] = [];
  const errors: string[] = [];
  let failed = 0;
  const list = c.role === "sub" ? subs : senders;
  const base = list.length;
  await pool(
    Array.from({ length: c.count }, (_, i) => i),
    c.concurrency,
    async (i) => {
      const t0 = performance.now();
      const url = c.urls[(base + i) % c.urls.length] as string;
      try {
        const sock = await LeanSocket.connect({
          url,
          // Our server sends protocol-2 clients presence deltas; the references ignore the field.
          auth: { name: `g${gen}${c.role}${base + i}`, protocol: PRESENCE_DELTA_PROTOCOL },
          timeoutMs: 15_000,
          onEvent: onFrame,
        });
        list.push(sock);
        times.push(performance.now() - t0);
      } catch (err) {
        failed++;
        if (errors.length < 5) errors.push((err as Error).message);
      }
    },
  );
  return {
    ok: times.length,
    failed,
    errors,
    ms: performance.now() - started,
    connectP50: percentile(times, 50),
    connectP99: percentile(times, 99),
  };
}

async function join(c: JoinCmd): Promise<JoinResult> {
  const started = performance.now();
  const list = c.role === "sub" ? subs : c.role === "send" ? senders : [...subs, ...senders];
  const errors: string[] = [];
  let ok = 0;
  let failed = 0;
  let ackBytes = 0;
  await pool(list, c.concurrency, async (sock) => {
    try {
      const body = await sock.request("room:join", { room: c.room }, 30_000);
      ackBytes += body.length;
      if (body.startsWith('[{"ok":true')) ok++;
      else {
        failed++;
        if (errors.length < 5) errors.push(body.slice(0, 200));
      }
    } catch (err) {
      failed++;
      if (errors.length < 5) errors.push((err as Error).message);
    }
  });
  return { ok, failed, errors, ms: performance.now() - started, ackBytes };
}

let loadTimer: NodeJS.Timeout | undefined;
/** Never reset: a clientId used twice is a retry to our server, which stores and broadcasts nothing. */
let clientSeq = 0;
function startLoad(c: LoadCmd) {
  stopLoad();
  if (senders.length === 0 || c.rate <= 0) return;
  const t0 = performance.now();
  let done = 0;
  let next = 0;
  // Open loop: sends are due at a fixed rate, whether or not earlier ones were acknowledged.
  loadTimer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * c.rate) / 1000) - done;
    for (let k = 0; k < Math.min(due, 2000); k++) {
      const sock = senders[next++ % senders.length] as LeanSocket;
      done++;
      if (!sock.connected) continue;
      const payload = {
        room: c.room,
        text: benchText(gen, performance.now(), c.pad),
        clientId: `g${gen}-${(clientSeq++).toString(36).padStart(8, "0")}`,
      };
      sent++;
      sock.request("message:send", payload, 30_000).then(
        (body) => {
          if (body.startsWith('[{"ok":true')) acked++;
          else ackFailed++;
        },
        () => ackFailed++,
      );
    }
    if (due > 2000) done += due - 2000; // this process fell behind: skip rather than burst (shows as a missed rate)
  }, 2);
}
function stopLoad() {
  if (loadTimer) clearInterval(loadTimer);
  loadTimer = undefined;
}

function takeWindow(): WindowResult {
  const now = performance.now();
  const result: WindowResult = {
    ms: now - windowStart,
    sent,
    acked,
    ackFailed,
    received,
    otherEvents,
    otherBytes,
    latency: encodeHistogram(latency),
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
    connected: subs.filter((s) => s.connected).length + senders.filter((s) => s.connected).length,
  };
  sent = acked = ackFailed = received = otherEvents = otherBytes = 0;
  latency = newHistogram();
  loop.reset();
  windowStart = now;
  return result;
}

// -- chat mode (rollout) ------------------------------------------------------------------

let endpoints: string[] = [];
let rr = 0;
const chatClients: ChatClient[] = [];
let chatTimer: NodeJS.Timeout | undefined;
const delayBySecond = new Map<number, Histogram>();
const pickUrl = () => endpoints[rr++ % endpoints.length] as string;

async function chatStart(c: ChatStartCmd) {
  endpoints = c.urls;
  const clients = Array.from({ length: c.clients }, (_, i) => {
    const index = c.firstIndex + i;
    return new ChatClient({
      kind: c.kind,
      gen,
      index,
      room: `room-${index % c.rooms}`,
      pickUrl,
      onDelay: (ms) => {
        const second = Math.floor(Date.now() / 1000);
        let h = delayBySecond.get(second);
        if (!h) {
          h = newHistogram();
          delayBySecond.set(second, h);
        }
        recordMs(h, ms);
      },
    });
  });
  const errors: string[] = [];
  await pool(clients, c.concurrency, async (client) => {
    try {
      await client.start();
      chatClients.push(client);
    } catch (err) {
      if (errors.length < 5) errors.push((err as Error).message);
    }
  });
  return { started: chatClients.length, errors };
}

function chatSend(c: ChatSendCmd) {
  if (chatTimer) clearInterval(chatTimer);
  const t0 = performance.now();
  let done = 0;
  let next = 0;
  chatTimer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * c.rate) / 1000) - done;
    for (let k = 0; k < due; k++) {
      // Every client takes its turn: a steady trickle from everyone.
      const client = chatClients[next++ % chatClients.length];
      client?.send(c.pad);
      done++;
    }
  }, 5);
}

async function chatSettle(timeoutMs: number) {
  if (chatTimer) clearInterval(chatTimer);
  chatTimer = undefined;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && chatClients.some((c) => c.pending > 0)) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000));
  await pool(chatClients, 50, (c) => c.sync());
  return { pending: chatClients.reduce((n, c) => n + c.pending, 0) };
}

function chatReport(): ChatReport {
  const encoded: Record<string, string> = {};
  for (const [second, h] of delayBySecond) encoded[String(second)] = encodeHistogram(h);
  return { clients: chatClients.map((c) => c.report()), delayBySecond: encoded };
}

// -- IPC --------------------------------------------------------------------------------------

async function handle(body: Command): Promise<unknown> {
  switch (body.cmd) {
    case "init":
      gen = body.gen;
      return { pid: process.pid };
    case "connect":
      return connect(body);
    case "join":
      return join(body);
    case "load":
      startLoad(body);
      return null;
    case "stopLoad":
      stopLoad();
      return null;
    case "window":
      return takeWindow();
    case "closeAll":
      stopLoad();
      for (const s of [...subs, ...senders]) s.terminate();
      subs.length = 0;
      senders.length = 0;
      for (const c of chatClients) c.close();
      chatClients.length = 0;
      return null;
    case "chat":
      return chatStart(body);
    case "chatSend":
      chatSend(body);
      return null;
    case "chatStop":
      if (chatTimer) clearInterval(chatTimer);
      chatTimer = undefined;
      return null;
    case "chatSettle":
      return chatSettle(body.timeoutMs);
    case "chatReport":
      return chatReport();
    case "endpoints":
      endpoints = body.urls;
      return null;
    case "exit":
      setTimeout(() => process.exit(0), 10);
      return null;
  }
}

process.on("message", (msg: Envelope) => {
  handle(msg.body).then(
    (result) => process.send?.({ id: msg.id, ok: true, result } satisfies Reply),
    (err: unknown) => process.send?.({ id: msg.id, ok: false, error: String(err) } satisfies Reply),
  );
});
process.on("disconnect", () => process.exit(0));
