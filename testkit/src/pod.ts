import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type Managed, spawnManaged, stopProcess } from "./processes.js";
import { loopbackLimits } from "./server-env.js";
import { freePort, getJson, waitFor } from "./wait.js";

/** The one entry point every pod runs, here as in Docker, compose and k8s. */
export const SERVER_ENTRY = join(
  dirname(createRequire(import.meta.url).resolve("@chat/server/package.json")),
  "dist/main.js",
);

export interface PodOptions {
  name?: string;
  port?: number;
  /** Over the defaults (LOG_LEVEL=warn, loopbackLimits()); PORT, ADMIN_PORT, HOST and POD_NAME are the pod's own. */
  env?: Record<string, string>;
  /**
   * The script node runs (default SERVER_ENTRY). Another server that speaks the same contract
   * (PORT, ADMIN_PORT, a readiness path) can run as a pod too, e.g. the bench's reference servers.
   */
  entry?: string;
  /** Readiness: this path on the admin port answering 200 (default /readyz, on the public port too). */
  readyPath?: string;
  /** Wait for readiness (default true). */
  waitReady?: boolean;
}

export interface PodHandle {
  name: string;
  port: number;
  url: string;
  /** Metrics and /drain (ADMIN_PORT). */
  adminUrl: string;
  proc: Managed;
  exited: Promise<number | string>;
  /** Send a signal (default SIGTERM) without waiting. */
  signal(sig?: NodeJS.Signals): void;
  /** Signal and wait for exit, escalating to SIGKILL after graceMs. */
  stop(sig?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
  waitReady(timeoutMs?: number): Promise<void>;
}

let counter = 0;

/** Start `node server/dist/main.js` (or `entry`) with env, like a pod. Requires `pnpm build` first. */
export async function startPod(opts: PodOptions = {}): Promise<PodHandle> {
  const entry = opts.entry ?? SERVER_ENTRY;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run 'pnpm build' first`);
  const port = opts.port ?? (await freePort());
  const adminPort = await freePort();
  const name = opts.name ?? `pod-${process.pid}-${++counter}`;
  const proc = spawnManaged(process.execPath, [entry], {
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "warn",
      ...loopbackLimits(),
      ...opts.env,
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      HOST: "127.0.0.1",
      POD_NAME: name,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const readyUrl = opts.readyPath ? `${adminUrl}${opts.readyPath}` : `${url}/readyz`;
  const pod: PodHandle = {
    name,
    port,
    url,
    adminUrl,
    proc,
    exited: proc.exited,
    signal: (sig = "SIGTERM") => {
      proc.child.kill(sig);
    },
    stop: (sig = "SIGTERM", graceMs = 30_000) => stopProcess(proc, sig, graceMs),
    waitReady: async (timeoutMs = 15_000) => {
      await waitFor(
        `${name} ${readyUrl}`,
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`${name} exited early:\n${proc.output()}`);
          return (await getJson(readyUrl)).status === 200;
        },
        { timeoutMs },
      );
    },
  };
  if (opts.waitReady !== false) await pod.waitReady();
  return pod;
}
