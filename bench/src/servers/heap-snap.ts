/**
 * Preloaded into a server process by `pnpm bench --scenario heap` (NODE_OPTIONS=--import): a V8
 * heap snapshot into $HEAP_SNAP_DIR on every SIGUSR2, named <pid>-<n>.heapsnapshot.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";

const dir = process.env.HEAP_SNAP_DIR;
if (dir) {
  let n = 0;
  process.on("SIGUSR2", () => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${process.pid}-${++n}.heapsnapshot`);
    writeHeapSnapshot(`${file}.part`);
    // Renamed when complete: the bench waits for the final name.
    import("node:fs").then((fs) => fs.renameSync(`${file}.part`, file));
  });
}
