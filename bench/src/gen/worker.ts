/**
 * The lean load-generator process (forked by the orchestrator, driven over IPC) for the fan-out
 * and capacity measurements ONLY: many lean connections (../lean/, raw `ws` frames, no
 * socket.io-client) that send at a fixed rate and time their own messages on their own clock.
 * It exists because socket.io-client's own CPU, on the same 2 cores as the servers, would
 * distort a deliveries-per-server-CPU figure. It has no outbox, resume or handover: the
 * rollout, which proves delivery, runs the shipped client core (./chat/worker.ts).
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { PROTOCOL_VERSION } from "@chat/protocol";
import { benchText, readBenchText } from "../lean/frames.js";
import { LeanSocket } from "../lean/socket.js";
import { encodeHistogram, newHistogram, recordMs } from "./hist.js";
import type { ConnectCmd, ConnectResult, JoinCmd, JoinResult, LeanCommand, LoadCmd, WindowResult } from "./messages.js";
import { inParallel, serveCommands } from "./serve.js";

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
  await inParallel(
    Array.from({ length: c.count }, (_, i) => i),
    c.concurrency,
    async (i) => {
      const t0 = performance.now();
      const url = c.urls[(base + i) % c.urls.length] as string;
      try {
        const sock = await LeanSocket.connect({
          url,
          // What the shipped client core declares, so ours serves what users get (protocol 3:
          // deltas, and a large room's size and a page instead of its full list); the references
          // ignore the field.
          auth: { name: `g${gen}${c.role}${base + i}`, protocol: PROTOCOL_VERSION },
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
  await inParallel(list, c.concurrency, async (sock) => {
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

// -- IPC --------------------------------------------------------------------------------------

async function handle(body: LeanCommand): Promise<unknown> {
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
      return null;
    case "exit":
      setTimeout(() => process.exit(0), 10);
      return null;
  }
}

serveCommands<LeanCommand>(handle);
