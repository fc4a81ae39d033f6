import { loopbackLimits } from "@chat/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ClusterDriver } from "../drivers/driver.js";
import { driverFromEnv } from "../drivers/select-driver.js";
import { runChaos } from "./chaos.js";

// The short chaos run; the full one (500 clients, a kill every 10 s for 2 minutes) is `pnpm --filter @chat/e2e chaos`.
let driver: ClusterDriver;
beforeAll(async () => {
  // All clients share 127.0.0.1: the per-address limits are raised, explicitly, as in the load test.
  driver = await driverFromEnv({
    overrides: { env: loopbackLimits() },
  });
}, 120_000);
afterAll(async () => {
  await driver?.stop();
});

it("loses and duplicates no acknowledged message while pods are SIGKILLed", async () => {
  const report = await runChaos(driver, {
    bots: 60,
    rooms: 6,
    durationMs: 30_000,
    killEveryMs: 5000,
    sendEveryMs: 1000,
    seed: 7,
  });
  console.log(`chaos: ${JSON.stringify(report)}`);
  expect(report.kills.length).toBeGreaterThanOrEqual(3);
  expect(report.acked).toBeGreaterThan(500);
  expect(report.lost).toBe(0);
  expect(report.duplicated).toBe(0);
}, 180_000);
