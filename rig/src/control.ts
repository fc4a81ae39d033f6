/**
 * The running rig's control endpoint: a small HTTP server on 127.0.0.1 that `pnpm cluster up`
 * serves and the other subcommands (`rollout`, `kill`, `scale`, `redis-restart`, `status`,
 * `down`) call. Operations stream their cluster-log events back as NDJSON while they run.
 * Where to find it is written to rig/.rig/control.json.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { ClusterEvent } from "./cluster-log.js";
import { STATE_DIR } from "./reaper.js";
import type { Rig } from "./rig.js";

export const CONTROL_FILE = join(STATE_DIR, "control.json");

export interface ControlInfo {
  pid: number;
  url: string;
  control: string;
}

/** One line of an operation's answer: an event, then `{ done }` or `{ error }`. */
export type ControlLine = { event: ClusterEvent } | { done: true } | { error: string };

export async function serveControl(rig: Rig, onDown: () => void): Promise<Server> {
  let busy = false;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://rig");
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && url.pathname === "/status") {
      return json(200, { url: rig.url, pods: rig.pods(), overrides: rig.overrides, logDir: rig.logDir });
    }
    if (req.method !== "POST") return json(405, { error: "use POST for operations, GET /status" });
    if (url.pathname === "/down") {
      json(202, { done: true });
      return onDown();
    }
    const ops: Record<string, () => Promise<void>> = {
      "/rollout": () => rig.rollout(),
      "/kill": () => rig.kill(url.searchParams.get("pod") ?? pickPod(rig)),
      "/delete": () => rig.deletePod(url.searchParams.get("pod") ?? pickPod(rig)),
      "/scale": () => rig.scale(Number(url.searchParams.get("replicas"))),
      "/redis-restart": () => rig.restartRedis(),
    };
    const op = ops[url.pathname];
    if (!op) return json(404, { error: `no operation ${url.pathname}; try ${Object.keys(ops).join(", ")}` });
    if (busy) return json(409, { error: "another operation is running; wait for it to finish" });
    busy = true;
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    const write = (line: ControlLine) => res.write(`${JSON.stringify(line)}\n`);
    const off = rig.log.on((event) => write({ event }));
    try {
      await op();
      write({ done: true });
    } catch (err) {
      write({ error: (err as Error).message });
    } finally {
      off();
      busy = false;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const info: ControlInfo = {
    pid: process.pid,
    url: rig.url,
    control: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(CONTROL_FILE, JSON.stringify(info));
  return server;
}

export function removeControlFile() {
  try {
    const info = JSON.parse(readFileSync(CONTROL_FILE, "utf8")) as ControlInfo;
    if (info.pid === process.pid) rmSync(CONTROL_FILE, { force: true });
  } catch {}
}

/** The running rig's control endpoint, or an error that says how to start one. */
export function findControl(): ControlInfo {
  let info: ControlInfo;
  try {
    info = JSON.parse(readFileSync(CONTROL_FILE, "utf8"));
  } catch {
    throw new Error("no rig is running: start one with 'pnpm cluster up' in another terminal");
  }
  try {
    process.kill(info.pid, 0);
  } catch {
    rmSync(CONTROL_FILE, { force: true });
    throw new Error("the rig that was running is gone: start one with 'pnpm cluster up'");
  }
  return info;
}

/** A pod to kill when none is named: the one with the most connections (the interesting case). */
function pickPod(rig: Rig): string {
  const pods = rig.pods().filter((p) => p.phase === "running");
  const pod = pods.sort((a, b) => (b.connections ?? 0) - (a.connections ?? 0))[0];
  if (!pod) throw new Error("no running pod");
  return pod.name;
}
