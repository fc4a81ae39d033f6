import { createServer } from "node:http";
import { getHeapSpaceStatistics } from "node:v8";

/**
 * GET /stats on ADMIN_PORT for the reference servers: memory (heap, RSS) and connections, read by
 * the bench the way it reads our server's /metrics. `?gc=1` runs a full GC first when the process
 * was started with --expose-gc.
 */
export function adminServer(connections: () => number) {
  const port = Number(process.env.ADMIN_PORT ?? 0);
  if (!port) return;
  createServer((req, res) => {
    if (req.url?.includes("gc=1")) (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    // Committed bytes per V8 space, named as prom-client names them in our /metrics.
    const spaces: Record<string, number> = {};
    for (const s of getHeapSpaceStatistics()) spaces[s.space_name.replace(/_space$/, "")] = s.space_size;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        heapTotal: mem.heapTotal,
        external: mem.external,
        spaces,
        connections: connections(),
      }),
    );
  }).listen(port, "127.0.0.1");
}
