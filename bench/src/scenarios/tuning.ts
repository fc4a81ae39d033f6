import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { SERVER_ENTRY } from "@chat/testkit";
import { progress, round } from "../common.js";
import type { Kind } from "../gen/messages.js";
import type { Profile } from "../profiles.js";
import { bufferutilFor } from "../targets.js";
import { type CapacityRow, capacity } from "./capacity.js";
import { type FanoutResult, fanout } from "./fanout.js";
import { rollout } from "./rollout.js";

export interface TuningRow {
  tuning: string;
  target: Kind;
  metric: string;
  without: string;
  with: string;
  effect: string;
  note: string;
}

interface Patch {
  file: string;
  find: string;
  replace: string;
}

/**
 * A patched copy of server/dist (outside the repo, in the temp dir) to measure a server change
 * before proposing it. Throws when a patch no longer applies (the server code moved on).
 */
export function serverVariant(name: string, patches: Patch[]): string {
  const dist = dirname(SERVER_ENTRY);
  const serverDir = dirname(dist);
  const root = join(tmpdir(), "chat-bench-variants", name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, "server"), { recursive: true });
  cpSync(dist, join(root, "server", "dist"), { recursive: true });
  cpSync(join(serverDir, "package.json"), join(root, "server", "package.json"));
  symlinkSync(join(serverDir, "node_modules"), join(root, "server", "node_modules"));
  for (const p of patches) {
    const path = join(root, "server", "dist", p.file);
    const text = readFileSync(path, "utf8");
    if (!text.includes(p.find)) throw new Error(`variant ${name}: patch for ${p.file} no longer applies`);
    writeFileSync(path, text.replace(p.find, p.replace));
  }
  return join(root, "server", "dist", "main.js");
}

/** Variants of our server, as patches on the compiled output (each is a proposed change). */
export const VARIANTS: Record<string, Patch[]> = {
  // Drop the per-socket outgoing listener that counts deliveries (its cost, not a replacement).
  "no-outgoing-listener": [{ file: "app.js", find: "socket.onAnyOutgoing(", replace: "void ((..._a) => {})(" }],
  // ioredis auto-pipelining: commands issued in the same tick share one write.
  autopipelining: [
    {
      file: "stores/redis-connection.js",
      find: "const common = { retryStrategy, connectTimeout: 5000, maxRetriesPerRequest: 1 };",
      replace:
        "const common = { retryStrategy, connectTimeout: 5000, maxRetriesPerRequest: 1, enableAutoPipelining: true };",
    },
  ],
  // Coalesce presence broadcasts: at most one per room per 250 ms per pod (the join's ack still
  // carries the fresh list). Today every join/leave broadcasts the whole list to the whole room.
  "presence-coalesce": [
    {
      file: "realtime/presence.js",
      find: 'this.io.to(roomTag(room)).emit("presence", { room, users });\n        return users;',
      replace: `const pending = (this.benchPending ??= new Set());
        if (!pending.has(room)) {
            pending.add(room);
            setTimeout(() => {
                pending.delete(room);
                this.store.list(room).then((u) => this.io.to(roomTag(room)).emit("presence", { room, users: u }), () => {});
            }, 250);
        }
        return users;`,
    },
  ],
  // Free the handshake request engine.io keeps per connection (the Socket.IO docs' memory tip);
  // the client IP the limiter needs is read before that.
  "free-request": [
    {
      file: "app.js",
      find: "io.bind(engine);",
      replace:
        'io.bind(engine);\n    engine.on("connection", (raw) => { raw.benchIp = raw.request?.socket?.remoteAddress; raw.request = null; });',
    },
    {
      file: "realtime/auth.js",
      find: "clientIp(socket.request, trustProxyHops)",
      replace: '(socket.request ? clientIp(socket.request, trustProxyHops) : socket.conn.benchIp ?? "unknown")',
    },
  ],
};

const pct = (a: number, b: number) => (b === 0 ? "–" : `${a >= b ? "+" : ""}${round(((a - b) / b) * 100, 1)}%`);

function fanoutRows(
  tuning: string,
  target: Kind,
  without: FanoutResult,
  withIt: FanoutResult,
  note: string,
): TuningRow[] {
  const a = without.steps[0];
  const b = withIt.steps[0];
  if (!a || !b) return [];
  return [
    {
      tuning,
      target,
      metric: `deliveries/server CPU-s @${a.rate} msg/s`,
      without: String(a.deliveriesPerServerCpuS),
      with: String(b.deliveriesPerServerCpuS),
      effect: pct(b.deliveriesPerServerCpuS, a.deliveriesPerServerCpuS),
      note,
    },
    {
      tuning,
      target,
      metric: "p99 delay ms",
      without: String(a.latency.p99),
      with: String(b.latency.p99),
      effect: pct(b.latency.p99, a.latency.p99),
      note: [a.flags.join(","), b.flags.join(",")].some(Boolean) ? `flags: ${a.flags} / ${b.flags}` : "",
    },
  ];
}

function capacityRow(tuning: string, target: Kind, without: CapacityRow, withIt: CapacityRow, note: string) {
  return {
    tuning,
    target,
    metric: `RSS KiB/idle conn @${without.perPod}/pod`,
    without: `${without.rssKiBPerConn} (heap ${without.heapKiBPerConn})`,
    with: `${withIt.rssKiBPerConn} (heap ${withIt.heapKiBPerConn})`,
    effect: pct(withIt.rssKiBPerConn, without.rssKiBPerConn),
    note,
  };
}

/** With/without measurements of each tuning. One rate step per fan-out pair, to stay short. */
export async function tuning(profile: Profile, only?: string[]): Promise<TuningRow[]> {
  const rows: TuningRow[] = [];
  const want = (name: string) => !only || only.includes(name);
  const rate = 20;
  const fan = (kind: Kind, variant: string, opts: Parameters<typeof fanout>[2] = {}) =>
    fanout(kind, profile, { variant, rates: [rate], ...opts });
  const cap = (kind: Kind, variant: string, opts: Parameters<typeof capacity>[2] = {}) =>
    capacity(kind, profile, { variant, ...opts });

  if (want("bufferutil")) {
    if (bufferutilFor("stock")) {
      const off = await fan("stock", "bufferutil-off", { cluster: { env: { WS_NO_BUFFER_UTIL: "1" } } });
      const on = await fan("stock", "bufferutil-on");
      rows.push(
        ...fanoutRows(
          "bufferutil",
          "stock",
          off,
          on,
          "server side it only unmasks client frames; utf-8-validate is unused on Node ≥ 18.14 (ws uses buffer.isUtf8)",
        ),
      );
    } else progress("tuning: bufferutil is not resolvable from the stock server's ws; skipped");
  }
  if (want("deflate")) {
    const off = await fan("stock", "deflate-off", { deflate: true });
    const on = await fan("stock", "deflate-on", { deflate: true, cluster: { env: { PER_MESSAGE_DEFLATE: "1" } } });
    rows.push(
      ...fanoutRows(
        "perMessageDeflate on (clients offer it, like browsers)",
        "stock",
        off,
        on,
        "on: every socket compresses the broadcast itself (no pre-encoded frame) and keeps a zlib context",
      ),
    );
  }
  if (want("encode-once")) {
    const perSocket = await fan("ceiling", "encode-per-socket", { cluster: { env: { ENCODE_PER_SOCKET: "1" } } });
    const once = await fan("ceiling", "encode-once");
    rows.push(
      ...fanoutRows(
        "broadcast frame encoded once (vs ws.send per socket)",
        "ceiling",
        perSocket,
        once,
        "socket.io-adapter already does this (wsPreEncodedFrame) when deflate is off",
      ),
    );
  }
  if (want("outgoing-listener")) {
    const withListener = await fan("ours", "default");
    const without = await fan("ours", "no-outgoing-listener", {
      cluster: { entry: serverVariant("no-outgoing-listener", VARIANTS["no-outgoing-listener"] ?? []) },
    });
    // Rows read "without the change" → "with the change": here the change is removing the listener.
    rows.push(
      ...fanoutRows(
        "remove socket.onAnyOutgoing delivery counter",
        "ours",
        withListener,
        without,
        "patched copy of server/dist; the metric would then have to be counted per broadcast",
      ),
    );
  }
  if (want("pipelining")) {
    const small = structuredClone(profile);
    small.fanout.subscribers = 10;
    small.fanout.sendersPerGen = 8;
    const hiRate = profile.name === "smoke" ? 50 : 400;
    const plain = await fanout("ours", small, { variant: "pipelining-off", rates: [hiRate] });
    const piped = await fanout("ours", small, {
      variant: "autopipelining",
      rates: [hiRate],
      cluster: { entry: serverVariant("autopipelining", VARIANTS.autopipelining ?? []) },
    });
    rows.push(
      ...fanoutRows(
        "ioredis enableAutoPipelining",
        "ours",
        plain,
        piped,
        `${hiRate} msg/s into a room of ${plain.members}: the store/limiter round trips dominate`,
      ),
    );
  }
  if (want("presence-coalesce")) {
    const entry = serverVariant("presence-coalesce", VARIANTS["presence-coalesce"] ?? []);
    const a = await fan("ours", "default");
    const b = await fan("ours", "presence-coalesce", { cluster: { entry } });
    const row = (metric: string, x: number, y: number, note = "") => ({
      tuning: "coalesce presence broadcasts (≤ 1 per room per 250 ms per pod)",
      target: "ours" as Kind,
      metric,
      without: String(x),
      with: String(y),
      effect: pct(y, x),
      note,
    });
    rows.push(
      row(`join ${a.members} sockets to one room: ms`, a.join.ms, b.join.ms, "patched copy of server/dist"),
      row("  … server CPU-s", a.join.serverCpuS, b.join.serverCpuS),
      row("  … presence events delivered", a.join.otherEvents, b.join.otherEvents),
    );
    // The rig runs server/dist only: both sides of the pair use the bench's direct sequence.
    const ra = await rollout("ours", profile, { via: "direct" });
    const rb = await rollout("ours", profile, { entry, variant: "presence-coalesce", via: "direct" });
    rows.push(
      row(
        "rollout: delay p99 during, ms",
        ra.delayDuring.p99,
        rb.delayDuring.p99,
        `before: ${ra.delayBefore.p99} / ${rb.delayBefore.p99} ms`,
      ),
      row("rollout: lost + duplicated", ra.lost + ra.duplicated, rb.lost + rb.duplicated),
    );
  }
  if (want("free-request")) {
    const a = await cap("stock", "default");
    const b = await cap("stock", "free-request", { cluster: { env: { FREE_REQUEST: "1" } } });
    rows.push(capacityRow("rawSocket.request = null", "stock", a, b, "Socket.IO docs' memory tip"));
    if (existsSync(SERVER_ENTRY)) {
      const c = await cap("ours", "default");
      const d = await cap("ours", "free-request", {
        cluster: { entry: serverVariant("free-request", VARIANTS["free-request"] ?? []) },
      });
      rows.push(capacityRow("rawSocket.request = null", "ours", c, d, "patched copy of server/dist"));
    }
  }
  return rows;
}
