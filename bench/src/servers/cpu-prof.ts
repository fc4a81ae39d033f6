/**
 * Preloaded into a server process by `pnpm bench --cpu-prof` (NODE_OPTIONS=--import, since
 * --cpu-prof itself is not allowed there): V8's sampling profiler from the start, written to
 * $CPU_PROF_DIR/<pid>.cpuprofile. The bench brackets its measured window with SIGUSR2: the first
 * starts the profile afresh, the second writes it; a process never told the second writes it
 * when it exits normally. So start-up, connects and shutdown do not crowd the frames of what the
 * scenario measures.
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
  let signals = 0;
  let written = false;
  // The inspector answers a same-thread session synchronously, so this works inside 'exit'.
  const write = () => {
    if (written) return;
    written = true;
    session.post("Profiler.stop", (err, res) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  };
  process.on("SIGUSR2", () => {
    signals++;
    if (signals === 1) session.post("Profiler.stop", () => session.post("Profiler.start"));
    else write();
  });
  process.on("exit", write);
}
