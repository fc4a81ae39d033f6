import { request } from "node:http";
import { createConnection } from "node:net";
import { PRESENCE_DELTA_PROTOCOL, type User } from "@chat/protocol";
import { ChatBot, getJson, type PodHandle, type RedisHandle, startPod, startRedis, waitFor } from "@chat/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RawClient, until } from "./support/raw-client.js";

/** Real `node server/dist/main.js` processes and a real redis-server, as in a cluster. */
const SECRET = "lifecycle-test-secret-0123456789";
const DRAIN_WINDOW_MS = 3000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const PRESENCE_TTL_MS = 2000;

let redis: RedisHandle;
const pods: PodHandle[] = [];
const bots: ChatBot[] = [];
const clients: RawClient[] = [];
const env = () => ({
  REDIS_URL: redis.url,
  SESSION_SECRET: SECRET,
  DRAIN_WINDOW_MS: String(DRAIN_WINDOW_MS),
  HANDOVER_TIMEOUT_MS: "4000",
  SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
  PRESENCE_TTL_MS: String(PRESENCE_TTL_MS),
});
const pod = async (extra: Record<string, string> = {}, withRedis = true) => {
  const p = await startPod({ env: withRedis ? { ...env(), ...extra } : { SESSION_SECRET: SECRET, ...extra } });
  pods.push(p);
  return p;
};
const bot = (b: ChatBot) => {
  bots.push(b);
  return b;
};
const client = async (url: string, auth: { name?: string; token?: string; protocol?: number } = {}) => {
  const c = await RawClient.connect(url, auth);
  clients.push(c);
  return c;
};

/** Status of a WebSocket handshake, read off the raw HTTP response. */
function upgradeStatus(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/socket.io/?EIO=4&transport=websocket`, {
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, body: "" });
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
const pollingHandshake = (url: string) => getJson(`${url}/socket.io/?EIO=4&transport=polling`);

beforeAll(async () => {
  redis = await startRedis({ appendonly: true });
});
afterEach(async () => {
  for (const b of bots.splice(0)) b.close();
  for (const c of clients.splice(0)) c.close();
  await Promise.all(pods.splice(0).map((p) => p.stop("SIGKILL")));
});
afterAll(async () => {
  await redis?.destroy();
});

describe("graceful drain", () => {
  it("moves 50 chatting clients off a SIGTERMed pod: nothing lost or doubled, exit 0 in time, spread over the window", async () => {
    const [a, b, c] = await Promise.all([pod(), pod(), pod()]);
    const room = "drain";
    // The "load balancer": new connections after the first go to the pods that stay.
    let rr = 0;
    const movers = Array.from({ length: 50 }, (_, i) => {
      let connects = 0;
      const url = () => (connects++ === 0 ? a.url : [b, c][rr++ % 2]?.url) ?? b.url;
      return bot(new ChatBot({ name: `m${i}`, rooms: [room], url }));
    });
    const observers = [b, c].map((p, i) => bot(new ChatBot({ name: `o${i}`, rooms: [room], url: () => p.url })));
    await Promise.all([...movers, ...observers].map((x) => x.start()));

    let chatting = true;
    const sends: Promise<unknown>[] = [];
    const chat = async (x: ChatBot, i: number) => {
      for (let n = 0; chatting && n < 200; n++) {
        sends.push(x.send(room, `${i}:${n}`));
        await new Promise((r) => setTimeout(r, 250 + Math.random() * 100));
      }
    };
    const loops = movers.map((x, i) => chat(x, i));
    await waitFor("some traffic", () => movers.every((x) => x.acked.length >= 1), { timeoutMs: 10_000 });

    const t0 = Date.now();
    a.signal("SIGTERM");
    const code = await a.exited;
    const exitMs = Date.now() - t0;
    chatting = false;
    await Promise.all(loops);
    await waitFor("every send acknowledged", () => movers.every((x) => x.pending === 0), { timeoutMs: 15_000 });
    await Promise.all(sends);

    const acked = movers.flatMap((x) => x.acked);
    const maxSeq = Math.max(...acked.map((m) => m.seq));
    const everyone = [...movers, ...observers];
    await waitFor("every member has every message", () => everyone.every((x) => x.cursor(room) >= maxSeq), {
      timeoutMs: 15_000,
    });

    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    // Stored once each: the acked seqs are exactly 1..max, one per clientId.
    expect(acked.map((m) => m.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: maxSeq }, (_, i) => i + 1));
    expect(new Set(acked.map((m) => m.clientId)).size).toBe(acked.length);
    for (const x of everyone) expect(x.known.get(room)?.size).toBe(maxSeq);
    // Observers never moved: each broadcast reached them exactly once.
    for (const o of observers) expect([...o.deliveries.values()].every((n) => n === 1)).toBe(true);
    for (const m of movers) {
      expect(m.drainNotices).toHaveLength(1);
      expect(m.session?.pod).not.toBe(a.name);
    }
    // Make-before-break: nobody is ever without a usable connection, and the pods that stay
    // never drop anyone (a shutdown must not disconnect other pods' sockets through the adapter).
    for (const x of everyone) {
      expect(x.disconnectedMs, JSON.stringify(x.events.map((e) => [e.at - t0, e.what]))).toBe(0);
    }
    const notices = movers.map((m) => (m.drainNotices[0] ?? 0) - t0).sort((x, y) => x - y);
    const span = (notices.at(-1) ?? 0) - (notices[0] ?? 0);
    console.log(
      `drain: ${acked.length} messages, exit after ${exitMs} ms, notices spread over ${span} ms, ` +
        `max disconnected ${Math.max(...movers.map((m) => m.disconnectedMs))} ms`,
    );
    expect(span).toBeGreaterThanOrEqual(DRAIN_WINDOW_MS * 0.6);
    // No storm: at most a third of the clients are told to move in any tenth of the window.
    const slice = DRAIN_WINDOW_MS / 10;
    for (let t = 0; t < DRAIN_WINDOW_MS; t += slice / 2) {
      expect(notices.filter((n) => n >= t && n < t + slice).length).toBeLessThanOrEqual(17);
    }
  });

  it("refuses handshakes with 503 and a reason while draining; existing sockets keep chatting", async () => {
    const p = await pod({ HANDOVER_TIMEOUT_MS: "1500", DRAIN_WINDOW_MS: "0", SHUTDOWN_TIMEOUT_MS: "5000" });
    const c = await client(p.url, { name: "stays" });
    await c.join("last-words");
    const drain = await getJson(`${p.adminUrl}/drain?delay_ms=200`, { method: "POST" });
    expect(drain.status).toBe(202);
    const ready = await getJson(`${p.url}/readyz`);
    expect(ready).toMatchObject({ status: 503, body: { ready: false, reasons: ["draining"] } });
    expect((await getJson(`${p.url}/livez`)).status).toBe(200);
    expect(await pollingHandshake(p.url)).toMatchObject({ status: 503, body: { error: { code: "draining" } } });
    expect(await upgradeStatus(p.url)).toMatchObject({ status: 503 });
    const sent = await c.send("last-words", "still works while draining");
    expect(sent.ok).toBe(true);
    // This client never moves: the pod closes it at its deadline and exits 0.
    expect(await p.exited).toBe(0);
  });

  it("leaves the endpoints at once on /drain but keeps admitting during the preStop delay", async () => {
    const p = await pod({}, false);
    // The response comes after the delay; the pod may be gone by then.
    getJson(`${p.adminUrl}/drain?delay_ms=1500`).catch(() => {});
    await waitFor("readyz 503", async () => (await getJson(`${p.url}/readyz`)).status === 503);
    expect((await getJson(`${p.url}/readyz`)).body).toMatchObject({ reasons: ["stopping"] });
    expect((await pollingHandshake(p.url)).status).toBe(200);
    expect(await getJson(`${p.adminUrl}/drain?delay_ms=soon`)).toMatchObject({ status: 400 });
  });
});

describe("capacity", () => {
  it("refuses with server_full above MAX_CONNECTIONS and turns ready again only at the low-water mark", async () => {
    const p = await pod({ MAX_CONNECTIONS: "3", MAX_CONNECTIONS_LOW_WATER: "1" }, false);
    const conns = await Promise.all([0, 1, 2].map(() => client(p.url)));
    await waitFor("full", async () => (await getJson(`${p.url}/readyz`)).status === 503);
    expect((await getJson(`${p.url}/readyz`)).body).toMatchObject({ reasons: ["full"], connections: 3 });
    expect(await pollingHandshake(p.url)).toMatchObject({ status: 503, body: { error: { code: "server_full" } } });
    expect(await upgradeStatus(p.url)).toMatchObject({ status: 503 });
    conns[0]?.close();
    await waitFor(
      "2 connections",
      async () => ((await getJson(`${p.url}/readyz`)).body as { connections: number }).connections === 2,
    );
    // Hysteresis: below the limit but above the low-water mark, still not ready.
    expect((await getJson(`${p.url}/readyz`)).status).toBe(503);
    conns[1]?.close();
    await waitFor("ready again", async () => (await getJson(`${p.url}/readyz`)).status === 200);
    const metrics = await fetch(`${p.adminUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/chat_handshakes_total\{result="refused",reason="server_full"\} [1-9]/);
    expect(metrics).toMatch(/chat_connected_sockets 1/);
  });
});

describe("dependencies", () => {
  it("survives a Redis restart: unavailable acks while down, recovery after, nothing lost, no ghosts", async () => {
    const [a, b] = await Promise.all([pod(), pod()]);
    const room = "outage";
    const x = await client(a.url, { name: "xena" });
    const y = await client(b.url, { name: "yuri" });
    await x.join(room);
    await y.join(room);
    const before = await x.send(room, "before");
    expect(before.ok).toBe(true);

    await redis.stop();
    for (const p of [a, b]) {
      await waitFor(`${p.name} unready`, async () => (await getJson(`${p.url}/readyz`)).status === 503);
      expect((await getJson(`${p.url}/readyz`)).body).toMatchObject({ reasons: ["redis_down"], redis: "down" });
      expect((await getJson(`${p.url}/livez`)).status).toBe(200);
    }
    const during = await x.send(room, "during", "outage-retry-1");
    expect(during).toMatchObject({ ok: false, error: { code: "unavailable" } });

    await redis.start();
    for (const p of [a, b]) {
      await waitFor(`${p.name} ready`, async () => (await getJson(`${p.url}/readyz`)).status === 200, {
        timeoutMs: 15_000,
      });
    }
    // The client retries the failed send with the same clientId, then sends more.
    const retried = await x.send(room, "during", "outage-retry-1");
    const after = await y.send(room, "after");
    expect(retried.ok && after.ok).toBe(true);
    await until(x, "after", () => x.messages.some((m) => m.text === "after"));
    // Subscriptions were restored: the broadcast crossed pods. History has everything once (AOF kept "before").
    const history = await x.join(room, 0);
    expect(history.ok && history.data.messages.map((m) => m.text)).toEqual(["before", "during", "after"]);
    expect(history.ok && history.data.presence.map((u: User) => u.name)).toEqual(["xena", "yuri"]);
  });

  it("survives clients that reset their WebSocket upgrade while the handshake gate awaits Redis", async () => {
    const p = await pod();
    for (let i = 0; i < 50; i++) {
      const sock = createConnection({ port: p.port, host: "127.0.0.1" }, () => {
        sock.write(
          "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        );
        setImmediate(() => sock.resetAndDestroy());
      });
      sock.on("error", () => {});
      await new Promise((r) => sock.once("close", r));
    }
    // Still alive and serving.
    expect((await getJson(`${p.url}/readyz`)).status).toBe(200);
    expect(p.proc.child.exitCode).toBeNull();
    const c = await client(p.url, { name: "after-resets" });
    expect((await c.join("resets")).ok).toBe(true);
  });

  it(`clears a SIGKILLed pod's users from presence within PRESENCE_TTL_MS + a third`, async () => {
    const [a, b] = await Promise.all([pod(), pod()]);
    const room = "kill";
    const victim = await client(a.url, { name: "victim" });
    const watcher = await client(b.url, { name: "watcher" });
    const v2 = await client(b.url, { name: "v2", protocol: PRESENCE_DELTA_PROTOCOL });
    await victim.join(room);
    await watcher.join(room);
    await v2.join(room);
    await until(watcher, "victim present", () => watcher.presence.at(-1)?.users.length === 3);
    const t0 = Date.now();
    a.signal("SIGKILL");
    const bound = PRESENCE_TTL_MS + PRESENCE_TTL_MS / 3;
    await until(watcher, "victim gone", () => watcher.presence.at(-1)?.users.length === 2, bound + 2000);
    const took = Date.now() - t0;
    console.log(`presence: ghost cleared ${took} ms after SIGKILL (TTL ${PRESENCE_TTL_MS} ms, bound ${bound} ms)`);
    expect(took).toBeLessThanOrEqual(bound + 500);
    expect(watcher.presence.at(-1)?.users.map((u) => u.name)).toEqual(["v2", "watcher"]);
    // A protocol-2 member got the leave as one delta, and the dead user's name is free again.
    await until(v2, "victim's leave", () => v2.deltas.some((d) => d.left.some((u) => u.name === "victim")));
    expect([...(v2.views.get(room)?.users.values() ?? [])].map((u) => u.name).sort()).toEqual(["v2", "watcher"]);
    const heir = await client(b.url, { name: "VICTIM" });
    expect(await heir.join(room)).toMatchObject({ ok: true, data: { presenceVersion: 5 } });
  });
});
