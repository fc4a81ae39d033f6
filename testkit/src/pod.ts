import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Managed, spawnManaged, stopProcess } from "./processes.js";
import { freePort, getJson, waitFor } from "./wait.js";

/**
 * Test pods get loose abuse limits: every test client shares 127.0.0.1, and hundreds of them
 * would otherwise be one "flooding address". Tests of the limits pass their own values.
 */
export const LOOSE_LIMITS: Record<string, string> = {
  RATE_MESSAGES_PER_USER: "100000",
  RATE_MESSAGES_PER_IP: "1000000",
  RATE_JOINS_PER_USER: "100000",
  RATE_CONNECTIONS_PER_IP: "1000000",
};

/** The one entry point every pod runs, here as in Docker, compose and k8s. */
export const SERVER_ENTRY = fileURLToPath(new URL("../../server/dist/main.js", import.meta.url));

export interface PodOptions {
  name?: string;
  port?: number;
  env?: Record<string, string>;
  /** Wait for /readyz to answer 200 (default true). */
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

/** Start `node server/dist/main.js` with env, like a pod. Requires `pnpm build` first. */
export async function startPod(opts: PodOptions = {}): Promise<PodHandle> {
  if (!existsSync(SERVER_ENTRY)) throw new Error(`${SERVER_ENTRY} is missing: run 'pnpm build' first`);
  const port = opts.port ?? (await freePort());
  const adminPort = await freePort();
  const name = opts.name ?? `pod-${process.pid}-${++counter}`;
  const proc = spawnManaged(process.execPath, [SERVER_ENTRY], {
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "warn",
      ...LOOSE_LIMITS,
      ...opts.env,
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      HOST: "127.0.0.1",
      POD_NAME: name,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  const pod: PodHandle = {
    name,
    port,
    url,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    proc,
    exited: proc.exited,
    signal: (sig = "SIGTERM") => {
      proc.child.kill(sig);
    },
    stop: (sig = "SIGTERM", graceMs = 30_000) => stopProcess(proc, sig, graceMs),
    waitReady: async (timeoutMs = 15_000) => {
      await waitFor(
        `${name} /readyz`,
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`${name} exited early:\n${proc.output()}`);
          return (await getJson(`${url}/readyz`)).status === 200;
        },
        { timeoutMs },
      );
    },
  };
  if (opts.waitReady !== false) await pod.waitReady();
  return pod;
}
