import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, release, totalmem } from "node:os";
import { SERVER_ENTRY } from "@chat/testkit";
import type { Kind } from "./gen/messages.js";
import { bufferutilFor } from "./targets.js";

const sh = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", timeout: 5000 }).trim();
  } catch {
    return "unknown";
  }
};

const versionOf = (from: string, pkg: string) => {
  try {
    const req = createRequire(from);
    const main = req.resolve(pkg);
    const dir = main.slice(0, main.lastIndexOf(`/node_modules/${pkg}/`) + `/node_modules/${pkg}/`.length);
    return (JSON.parse(readFileSync(`${dir}package.json`, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
};

/** What the run ran on: enough to judge and reproduce the numbers. */
export function machineInfo(targets: Kind[]) {
  const cpu = cpus();
  return {
    node: process.version,
    kernel: release(),
    cpuModel: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    // Inherited by every server and generator process the bench starts.
    ulimitNofile: { soft: sh("sh", ["-c", "ulimit -Sn"]), hard: sh("sh", ["-c", "ulimit -Hn"]) },
    redis: sh("redis-server", ["--version"]).split(" ")[2]?.replace("v=", "") ?? "unknown",
    gitCommit: sh("git", ["rev-parse", "--short", "HEAD"]),
    gitDirty: sh("git", ["status", "--porcelain", "--", "server", "protocol"]) !== "",
    versions: {
      ours: {
        "socket.io": versionOf(SERVER_ENTRY, "socket.io"),
        "@socket.io/redis-adapter": versionOf(SERVER_ENTRY, "@socket.io/redis-adapter"),
        ioredis: versionOf(SERVER_ENTRY, "ioredis"),
      },
      bench: {
        "socket.io": versionOf(import.meta.url, "socket.io"),
        "@socket.io/redis-adapter": versionOf(import.meta.url, "@socket.io/redis-adapter"),
        ioredis: versionOf(import.meta.url, "ioredis"),
        ws: versionOf(import.meta.url, "ws"),
      },
    },
    bufferutil: Object.fromEntries(targets.map((t) => [t, bufferutilFor(t)])),
  };
}

/** A snapshot of how busy the machine is right now (`uptime`, the top of `top`). */
export function quietCheck() {
  return {
    uptime: sh("uptime", []),
    top: sh("sh", ["-c", "top -bn1 | head -12"]),
  };
}
