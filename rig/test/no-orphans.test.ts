/** However the rig's process ends, no pod or HAProxy outlives it for long. */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor } from "@chat/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { alive, reapOrphans } from "../src/reaper.js";

const CHILD = fileURLToPath(new URL("./rig-child.ts", import.meta.url));

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill("SIGKILL");
  reapOrphans();
});

/** Start a rig in its own process; resolves with the pids of its pods and HAProxy. */
async function rigInAProcess(): Promise<number[]> {
  const c = spawn(process.execPath, ["--import", "tsx", CHILD], { stdio: ["ignore", "pipe", "inherit"] });
  child = c;
  let out = "";
  c.stdout?.on("data", (d) => {
    out += d;
  });
  const line = await waitFor("the rig in a child process", () => out.includes("\n") && out, { timeoutMs: 60_000 });
  const { pids } = JSON.parse(line.split("\n")[0] ?? "") as { pids: number[] };
  expect(pids.length).toBe(3);
  expect(pids.every(alive)).toBe(true);
  return pids;
}

describe("no orphans", () => {
  it("SIGTERM to the rig's process (a test runner stopping a worker): its children go with it", async () => {
    const pids = await rigInAProcess();
    child?.kill("SIGTERM");
    await waitFor("pods and HAProxy gone", () => pids.every((p) => !alive(p)), { timeoutMs: 10_000 });
  }, 90_000);

  it("SIGKILL of the rig's process: the next rig reaps what it left, by the pids it recorded", async () => {
    const pids = await rigInAProcess();
    child?.kill("SIGKILL");
    await waitFor("the rig's process gone", () => child?.exitCode !== null || child?.signalCode !== null);
    expect(pids.some(alive), "nothing can clean up after a SIGKILL but a later run").toBe(true);
    const reaped = reapOrphans();
    expect(reaped.length).toBeGreaterThanOrEqual(3);
    await waitFor("pods and HAProxy reaped", () => pids.every((p) => !alive(p)), { timeoutMs: 10_000 });
  }, 90_000);
});
