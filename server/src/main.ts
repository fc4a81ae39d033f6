import { createApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { createDeps } from "./deps.js";
import { createLogger } from "./logger.js";

// One pod, configured only by env: the same entry for the rig, compose, the image and k8s.
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(78); // EX_CONFIG
}
const log = createLogger(config);
const app = createApp(createDeps(config, log));

// SIGTERM (or the preStop /drain hook) drains, then exits 0; a second signal forces the exit.
let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  if (++signals > 1) {
    log.warn({ signal }, "second signal: exiting now");
    process.exit(1);
  }
  log.info({ signal }, "signal: draining");
  void app.drain();
};
process.on("SIGTERM", onSignal);
process.on("SIGINT", onSignal);
process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection"));

void app.drained.then(async () => {
  setTimeout(() => process.exit(0), 1000).unref(); // close() must not outlive the grace period
  await app.close();
  log.info("drained, bye");
  process.exit(0);
});
await app.listen();
