import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "./binaries.js";
import { type Managed, spawnManaged, stopProcess } from "./processes.js";
import { freePort, waitFor } from "./wait.js";

export interface RedisOptions {
  port?: number;
  /** Append-only file on, so acknowledged writes survive a restart. */
  appendonly?: boolean;
  extraArgs?: string[];
}

export interface RedisHandle {
  port: number;
  url: string;
  dir: string;
  /** Stop (SIGTERM, or SIGKILL with `hard`), leaving the data dir for a restart. */
  stop(hard?: boolean): Promise<void>;
  /** Start again on the same port and data dir. */
  start(): Promise<void>;
  /** Send a signal without waiting (SIGSTOP/SIGCONT freeze and thaw the server). */
  signal(sig: NodeJS.Signals): void;
  /** Stop for good and remove the data dir. */
  destroy(): Promise<void>;
  output(): string;
}

/** Ping over a raw socket: no client library, so a test sees the server itself. */
export function redisPing(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once("error", () => done(false));
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

/** A private redis-server on a free loopback port, for one test file or one rig. */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  const bin = requireBinary("redis-server", "redis-server");
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "chat-redis-"));
  let proc: Managed | undefined;

  const start = async () => {
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      opts.appendonly ? "yes" : "no",
      "--appendfsync",
      "always",
      ...(opts.extraArgs ?? []),
    ];
    const p = spawnManaged(bin, args);
    proc = p;
    await waitFor(`redis-server on port ${port}`, async () => {
      if (p.child.exitCode !== null) throw new Error(`redis-server exited: ${p.output()}`);
      return redisPing(port);
    });
  };
  const stop = async (hard = false) => {
    if (proc) await stopProcess(proc, hard ? "SIGKILL" : "SIGTERM");
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    start,
    signal: (sig) => {
      proc?.child.kill(sig);
    },
    async destroy() {
      await stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => proc?.output() ?? "",
  };
}
