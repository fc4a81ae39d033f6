/**
 * Preloaded into a server process by `pnpm bench --cpu-prof` (NODE_OPTIONS=--import, since
 * --cpu-prof itself is not allowed there): V8's sampling profiler from the start, written to
 * $CPU_PROF_DIR/<pid>.cpuprofile when the process exits normally.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  // The inspector answers a same-thread session synchronously, so this works inside 'exit'.
  process.on("exit", () => {
    session.post("Profiler.stop", (err, res) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
