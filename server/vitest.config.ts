import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Real processes (redis-server, pods) need more than the default 5 s on a busy 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // One file at a time: several files start real pods and measure latency and drain timing,
    // which two cores shared between them would distort.
    fileParallelism: false,
  },
});
