import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startPod } from "@chat/testkit";
import { requireChromium } from "./browser.js";

/** Set by this setup (or by you, to test a server that is already running): the chat's base URL. */
export const BASE_URL_ENV = "CHAT_BASE_URL";

const CLIENT_INDEX = fileURLToPath(new URL("../../client/dist/index.html", import.meta.url));

/**
 * Start one chat server (in-memory mode: REDIS_URL unset) on a free port, wait for /readyz, and
 * hand its URL to the tests through CHAT_BASE_URL. With CHAT_BASE_URL already set (a cluster
 * behind HAProxy, a kind ingress), no server is started and the suite runs against that.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  requireChromium();
  if (process.env[BASE_URL_ENV]) return async () => {};
  if (!existsSync(CLIENT_INDEX)) {
    throw new Error(`${CLIENT_INDEX} is missing: run 'pnpm build' at the repository root first`);
  }
  // startPod checks server/dist/main.js itself and names the fix.
  const pod = await startPod({ name: "e2e-chat", env: { LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? "warn" } });
  process.env[BASE_URL_ENV] = pod.url;
  return async () => {
    const code = await pod.stop("SIGTERM", 15_000);
    if (code !== 0) console.warn(`e2e chat server exited with ${code}:\n${pod.proc.output()}`);
  };
}
