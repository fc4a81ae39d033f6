/**
 * A rollout generator process (forked by the orchestrator with `--import tsx`, driven over IPC):
 * hundreds of chat users. Against our server each is the shipped client core (@chat/client-core
 * inside testkit's ChatBot recorder: outbox, resume, handover are the real ones, not a copy);
 * against stock Socket.IO each is a plain socket.io-client app (see stock-client.ts).
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { ChatBot } from "@chat/testkit";
import { benchText } from "../../lean/frames.js";
import { encodeHistogram, type Histogram, newHistogram, recordMs } from "../hist.js";
import type {
  ChatClientReport,
  ChatCommand,
  ChatReport,
  ChatSendCmd,
  ChatSettled,
  ChatStartCmd,
  Kind,
} from "../messages.js";
import { inParallel, serveCommands } from "../serve.js";
import { StockClient } from "./stock-client.js";

interface User {
  room: string;
  bot?: ChatBot;
  stock?: StockClient;
}

let gen = 0;
let kind: Kind = "ours";
let endpoints: string[] = [];
let rr = 0;
const pickUrl = () => endpoints[rr++ % endpoints.length] as string;
const users: User[] = [];
let sendTimer: NodeJS.Timeout | undefined;
const delayBySecond = new Map<number, Histogram>();
/**
 * The delay split at the store's timestamp (`ts`, Redis' clock, the same machine's clock as
 * ours): the send leg (client core's outbox, the pod, the store) and the delivery leg (pub/sub,
 * the pods' fan-out, this process receiving). Per second, like delayBySecond; ours only.
 */
const sendLegBySecond = new Map<number, Histogram>();
const deliverLegBySecond = new Map<number, Histogram>();
/** This process' event-loop lag per second (a 10 ms timer's lateness): a stalled receiver shows here. */
const lagBySecond = new Map<number, Histogram>();
const loop = monitorEventLoopDelay({ resolution: 5 });

const inSecond = (m: Map<number, Histogram>, second: number) => {
  let h = m.get(second);
  if (!h) {
    h = newHistogram();
    m.set(second, h);
  }
  return h;
};

/** A message this process sent, seen by one user for the first time: its delay on this clock. */
function recordDelay(text: string, storedTs?: number) {
  if (!text.startsWith(`b:${gen}:`)) return;
  const sentMs = Number(text.split(":")[2]);
  const now = performance.now();
  const second = Math.floor(Date.now() / 1000);
  recordMs(inSecond(delayBySecond, second), now - sentMs);
  if (storedTs === undefined) return;
  // performance.now() is relative to this process' timeOrigin; the store's ts is epoch ms.
  const stored = storedTs - performance.timeOrigin;
  recordMs(inSecond(sendLegBySecond, second), stored - sentMs);
  recordMs(inSecond(deliverLegBySecond, second), now - stored);
}

let lagTimer: NodeJS.Timeout | undefined;
function watchLag() {
  let last = performance.now();
  lagTimer = setInterval(() => {
    const now = performance.now();
    recordMs(inSecond(lagBySecond, Math.floor(Date.now() / 1000)), Math.max(0, now - last - 10));
    last = now;
  }, 10);
  lagTimer.unref();
}

function newUser(index: number, room: string): User {
  const name = `u${index}`;
  if (kind === "stock") {
    const stock = new StockClient({ name, room, pickUrl });
    // Every broadcast is shown (no dedupe): time the first one of each message.
    const seen = new Set<string>();
    stock.onMessage = (m) => {
      if (seen.has(m.id)) return;
      seen.add(m.id);
      recordDelay(m.text);
    };
    return { room, stock };
  }
  const bot = new ChatBot({ url: pickUrl, name, rooms: [room] });
  // A message arrives by broadcast, join answer or ack, possibly more than once: time the first.
  const seen = new Set<number>();
  bot.client.on("received", (_room, messages) => {
    for (const m of messages) {
      if (seen.has(m.seq)) continue;
      seen.add(m.seq);
      recordDelay(m.text, m.ts);
    }
  });
  return { room, bot };
}

async function chatStart(c: ChatStartCmd) {
  kind = c.kind;
  endpoints = c.urls;
  const created = Array.from({ length: c.clients }, (_, i) => {
    const index = c.firstIndex + i;
    return newUser(index, `room-${index % c.rooms}`);
  });
  const errors: string[] = [];
  await inParallel(created, c.concurrency, async (u) => {
    try {
      await withTimeout((u.bot ?? u.stock)?.start(), 30_000, "connect and join");
      users.push(u);
    } catch (err) {
      if (errors.length < 5) errors.push((err as Error).message);
    }
  });
  loop.reset();
  loop.enable();
  if (!lagTimer) watchLag();
  return { started: users.length, errors };
}

function withTimeout(p: Promise<void> | undefined, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p ?? Promise.resolve(),
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function chatSend(c: ChatSendCmd) {
  stopSending();
  const t0 = performance.now();
  let done = 0;
  let next = 0;
  // Open loop: sends are due at a fixed rate; every user takes its turn.
  sendTimer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * c.rate) / 1000) - done;
    for (let k = 0; k < due; k++, done++) {
      const u = users[next++ % users.length];
      const text = benchText(gen, performance.now(), c.pad);
      if (u?.bot) void u.bot.send(u.room, text);
      else u?.stock?.send(text);
    }
  }, 5);
}

function stopSending() {
  if (sendTimer) clearInterval(sendTimer);
  sendTimer = undefined;
}

/** Wait (bounded) until `done` holds, re-checking as the clients work. */
async function until(done: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

async function chatSettle(timeoutMs: number): Promise<ChatSettled> {
  stopSending();
  const pending = () => users.reduce((n, u) => n + (u.bot?.pending ?? 0), 0);
  await until(() => pending() === 0, timeoutMs);
  const top: Record<string, number> = {};
  for (const u of users) for (const m of u.bot?.acked ?? []) top[m.room] = Math.max(top[m.room] ?? 0, m.seq);
  return { pending: pending(), top };
}

/**
 * Ours: until every client's cursor reaches the room's last acknowledged seq (over all
 * generators): the core fills its holes itself, and what it has not by the deadline is lost.
 * Stock has no cursor and nothing to catch up with: its broadcasts are in flight or gone.
 */
async function chatCatchUp(top: Record<string, number>, timeoutMs: number) {
  if (kind === "stock") return until(() => false, Math.min(timeoutMs, 1000));
  await until(() => users.every((u) => (u.bot?.cursor(u.room) ?? 0) >= (top[u.room] ?? 0)), timeoutMs);
}

function report(u: User): ChatClientReport {
  if (u.stock) {
    const s = u.stock;
    const counts = new Map<string, number>();
    for (const m of s.received) counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
    return {
      name: s.name,
      room: u.room,
      known: s.received,
      acked: [],
      sent: s.sent,
      deliveries: [...counts].filter(([, n]) => n > 1),
      disconnectedMs: s.disconnectedMs,
      handovers: 0,
      reconnects: s.reconnects,
      errors: s.errors,
    };
  }
  const b = u.bot as ChatBot;
  const changes = b.events.map((e) => e.what);
  const reconnects = changes.filter((w) => w.includes("-> reconnecting")).length;
  // A client that lost its connection: what happened, from the first drain notice on.
  const from = b.drainNotices[0] ?? 0;
  const trail = b.events
    .filter((e) => e.at >= from)
    .slice(0, 8)
    .map((e) => `+${e.at - from}ms ${e.what}`)
    .join("; ");
  return {
    name: b.session?.user.name ?? "?",
    room: u.room,
    known: [...(b.known.get(u.room)?.values() ?? [])],
    acked: b.acked,
    sent: [],
    deliveries: [...b.deliveries].filter(([, n]) => n > 1),
    disconnectedMs: b.disconnectedMs,
    handovers: changes.filter((w) => w.startsWith("handing-over -> connected")).length,
    reconnects,
    errors: reconnects > 0 ? [`${b.session?.user.name}: ${trail}`, ...b.errors.slice(0, 4)] : b.errors.slice(0, 5),
  };
}

function chatReport(): ChatReport {
  const encoded: Record<string, string> = {};
  for (const [second, h] of delayBySecond) encoded[String(second)] = encodeHistogram(h);
  const encode = (m: Map<number, Histogram>) =>
    Object.fromEntries([...m].map(([second, h]) => [String(second), encodeHistogram(h)]));
  return {
    clients: users.map(report),
    delayBySecond: encoded,
    sendLegBySecond: encode(sendLegBySecond),
    deliverLegBySecond: encode(deliverLegBySecond),
    lagBySecond: encode(lagBySecond),
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
  };
}

async function handle(body: ChatCommand): Promise<unknown> {
  switch (body.cmd) {
    case "init":
      gen = body.gen;
      return { pid: process.pid };
    case "chat":
      return chatStart(body);
    case "chatSend":
      chatSend(body);
      return null;
    case "chatStop":
      stopSending();
      return null;
    case "chatSettle":
      return chatSettle(body.timeoutMs);
    case "chatCatchUp":
      return chatCatchUp(body.top, body.timeoutMs);
    case "chatReport":
      return chatReport();
    case "endpoints":
      endpoints = body.urls;
      return null;
    case "closeAll":
      stopSending();
      for (const u of users) u.bot ? u.bot.close() : u.stock?.close();
      users.length = 0;
      return null;
    case "exit":
      setTimeout(() => process.exit(0), 10);
      return null;
  }
}

serveCommands<ChatCommand>(handle);
