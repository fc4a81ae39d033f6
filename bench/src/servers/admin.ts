import { createServer } from "node:http";

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
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, connections: connections() }),
    );
  }).listen(port, "127.0.0.1");
}
