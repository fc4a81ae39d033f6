import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loopbackLimits } from "@chat/testkit";
import { driverFromEnv } from "../drivers/select-driver.js";
import { ARTIFACTS_DIR } from "../support/artifacts.js";
import { runChaos } from "./chaos.js";

// pnpm --filter @chat/e2e chaos [--bots 500] [--seconds 120] [--kill-every 10]
const { values } = parseArgs({
  options: {
    bots: { type: "string", default: "500" },
    seconds: { type: "string", default: "120" },
    "kill-every": { type: "string", default: "10" },
    "send-every": { type: "string", default: "5" },
    seed: { type: "string", default: "1" },
  },
});
const driver = await driverFromEnv({
  overrides: { env: loopbackLimits() },
});
try {
  const report = await runChaos(driver, {
    bots: Number(values.bots),
    rooms: Math.max(1, Math.round(Number(values.bots) / 25)),
    durationMs: Number(values.seconds) * 1000,
    killEveryMs: Number(values["kill-every"]) * 1000,
    sendEveryMs: Number(values["send-every"]) * 1000,
    seed: Number(values.seed),
    progress: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  mkdirSync(join(ARTIFACTS_DIR, "chaos"), { recursive: true });
  writeFileSync(join(ARTIFACTS_DIR, "chaos", "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
  const ok = report.lost === 0 && report.duplicated === 0;
  console.log(ok ? "PASS: 0 acknowledged messages lost or duplicated" : "FAIL");
  process.exitCode = ok ? 0 : 1;
} finally {
  await driver.stop();
}
